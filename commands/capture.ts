import * as Flags from '@oclif/core/flags'
import { BaseCommand } from '../src/base-command.js'
import { seconds } from '../src/flags.js'
import { Deployment } from '../src/connect/deployment.js'
import { connectionFlags, urlArg } from '../src/connect/flags.js'
import { awsConnectionFlags } from '../src/aws/flags.js'
import { capture, type CaptureReport } from '../src/ops/capture/capture.js'

export default class Capture extends BaseCommand {
  static override summary = 'Record the command stream of every primary (MONITOR) as a replayable log'
  static override description =
    "The log is in MONITOR's format (microsecond timestamps, byte-exact escaped arguments) and replays with `kvtop replay`. " +
    "kvtop's own and administrative commands (INFO, CLIENT, CONFIG, CLUSTER ...) are left out. MONITOR costs the server CPU: keep captures short."
  static override examples = [
    '<%= config.bin %> capture redis://127.0.0.1:7000 --out traffic.log --duration 60',
    '<%= config.bin %> capture --profile sandbox:default --out traffic.log   # until Ctrl-C',
  ]
  static override args = { url: urlArg }
  static override flags = {
    ...connectionFlags,
    ...awsConnectionFlags,
    out: Flags.string({
      description: 'Log file to write (written under a temporary name, renamed when complete)',
      required: true,
    }),
    duration: seconds({ description: 'Seconds to capture (default: until Ctrl-C)', positive: true }),
    force: Flags.boolean({ description: 'Replace --out if it exists' }),
    'include-admin': Flags.boolean({
      description: 'Keep administrative commands (INFO, CLIENT, CONFIG ...)',
    }),
  }

  async run(): Promise<CaptureReport> {
    const { args, flags } = await this.parse(Capture)
    const deployment = await Deployment.connect((await this.resolveEndpoint(args.url, flags)).input, {
      probe: true,
    })
    try {
      const report = await this.runOperation(
        ({ signal, emit }) =>
          capture(deployment, {
            out: flags.out,
            durationSeconds: flags.duration,
            signal,
            overwrite: flags.force,
            includeAdmin: flags['include-admin'],
            onEvent: emit,
          }),
        { reporter: 'capture' },
      )
      this.log(
        `Captured ${report.commands} commands from ${report.nodes.length} primaries in ${report.seconds.toFixed(1)}s into ${report.out}` +
          ` (${report.skippedAdmin} administrative left out${report.unparsable ? `, ${report.unparsable} unparsable lines skipped` : ''}).`,
      )
      return report
    } finally {
      await deployment.close()
    }
  }
}
