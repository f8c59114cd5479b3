import { Flags } from '@oclif/core'
import { BaseCommand } from '../src/base-command.js'
import { connectionFlags, urlArg } from '../src/connect/flags.js'
import { awsConnectionFlags } from '../src/aws/flags.js'
import { formatSlowlog, formatSlowlogGroups, formatSlowlogLine } from '../src/metrics/format.js'
import { openMonitor, parseIntervalFlag, readSlowlog, type SlowlogReport } from '../src/metrics/service.js'
import { compareNewestFirst } from '../src/metrics/slowlog.js'

export default class Slowlog extends BaseCommand {
  static override summary =
    'The slowlog of every node, merged newest first, each entry with its node and shard'
  static override description =
    'Entries are read by id from each node: none twice, none missed between reads (a gap, when the server trimmed entries first, is reported). ' +
    '--group totals by command pattern (command, subcommand, key shape). --follow streams new entries (NDJSON with --json).'
  static override examples = [
    '<%= config.bin %> slowlog redis://127.0.0.1:7000',
    '<%= config.bin %> slowlog --profile sandbox:default --group',
    '<%= config.bin %> slowlog redis://127.0.0.1:7000 --follow --json',
  ]
  static override args = { url: urlArg }
  static override flags = {
    ...connectionFlags,
    ...awsConnectionFlags,
    limit: Flags.integer({
      description: 'Entries to show (newest first); also how many each node is asked for',
      default: 50,
      min: 1,
      max: 10000,
    }),
    group: Flags.boolean({ description: 'Group by command pattern: count, total, mean and max time, nodes' }),
    follow: Flags.boolean({ description: 'Keep reading and print new entries as they appear, until Ctrl-C' }),
    interval: Flags.string({ description: 'With --follow: seconds between reads (default 1)' }),
  }

  async run(): Promise<SlowlogReport | void> {
    const { args, flags } = await this.parse(Slowlog)
    const intervalMs = parseIntervalFlag(flags.interval, 1)
    const engine = await openMonitor((await this.resolveEndpoint(args.url, flags)).input, {
      intervalMs,
      slowlogCount: flags.limit,
      latency: false,
    })
    try {
      if (!flags.follow) {
        const report = await readSlowlog(engine, flags.limit, flags.group)
        this.log(flags.group ? formatSlowlogGroups(report.groups ?? []) : formatSlowlog(report.entries))
        for (const e of report.errors) this.diag(`Warning: ${e.address} not read: ${e.error}`)
        return report
      }
      await this.follow(engine, flags.limit)
    } finally {
      await engine.stop()
    }
  }

  private async follow(engine: Awaited<ReturnType<typeof openMonitor>>, limit: number): Promise<void> {
    const json = this.jsonEnabled()
    let first = true
    await new Promise<void>((resolve) => {
      const finish = () => {
        process.off('SIGINT', finish)
        process.off('SIGTERM', finish)
        resolve()
      }
      process.once('SIGINT', finish)
      process.once('SIGTERM', finish)
      engine.start(
        (snap) => {
          // The first read shows the newest `limit` entries already there; later reads only new ones.
          const entries = (first ? snap.slowlog.slice(0, limit) : snap.slowlog)
            .slice()
            .sort((a, b) => compareNewestFirst(b, a))
          first = false
          for (const e of entries) {
            if (json) this.emitJsonLine({ type: 'slowlog', ...e })
            else this.log(formatSlowlogLine(e))
          }
          for (const ev of snap.events.filter(
            (x) => x.type === 'slowlog-gap' || x.type === 'failover' || x.type === 'node-down',
          )) {
            if (json) this.emitJsonLine(ev)
            else this.diag(`${ev.type}: ${ev.message}`)
          }
        },
        (err) => this.diag(`read failed: ${(err as Error).message}`),
      )
    })
  }
}
