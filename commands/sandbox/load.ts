import * as Flags from '@oclif/core/flags'
import { BaseCommand } from '../../src/base-command.js'
import { seconds } from '../../src/flags.js'
import { connectionFlags, urlArg } from '../../src/connect/flags.js'
import { runLoad, type LoadReport } from '../../src/sandbox/load.js'

export default class SandboxLoad extends BaseCommand {
  static override summary =
    'Drive a mixed workload: strings, counters, hashes, lists, sets, sorted sets, streams, TTLs, binary keys'
  static override examples = [
    '<%= config.bin %> sandbox load --rate 2000 --duration 30',
    '<%= config.bin %> sandbox load redis://127.0.0.1:7000 --keys 100000 --duration 0',
  ]
  static override args = { url: urlArg }
  static override flags = {
    ...connectionFlags,
    rate: Flags.integer({ description: 'Operations per second (0: as fast as possible)', default: 1000 }),
    duration: seconds({
      description: 'Seconds to run after seeding (0: seed only; default: until Ctrl-C)',
    }),
    keys: Flags.integer({ description: 'Key space size; this many keys are seeded first', default: 10000 }),
    seed: Flags.integer({ description: 'Random seed, for a reproducible workload', default: 1 }),
  }

  async run(): Promise<LoadReport> {
    const { args, flags } = await this.parse(SandboxLoad)
    const duration = flags.duration ?? Infinity
    const { input } = await this.resolveEndpoint(args.url, flags)
    const report = await this.runOperation(({ signal }) =>
      runLoad(input, {
        rate: flags.rate,
        durationSeconds: duration,
        keys: flags.keys,
        seed: flags.seed,
        signal,
        onProgress: (p) => {
          if (process.stderr.isTTY && !this.jsonEnabled())
            process.stderr.write(
              `\r${p.phase}: ${p.ops} ops, ${Math.round(p.opsPerSecond)} ops/s, ${p.errors} errors   `,
            )
        },
      }),
    )
    if (process.stderr.isTTY && !this.jsonEnabled()) process.stderr.write('\n')
    this.log(
      `${report.ops} operations (${report.seeded} keys seeded) in ${report.seconds.toFixed(1)}s: ${Math.round(report.opsPerSecond)} ops/s, ${report.errors} errors`,
    )
    return report
  }
}
