import { BaseCommand } from '../src/base-command.js'
import { intervalFlag, toMs } from '../src/flags.js'
import { connectionFlags, urlArg } from '../src/connect/flags.js'
import { awsConnectionFlags } from '../src/aws/flags.js'
import { formatEvent, formatReplication } from '../src/metrics/format.js'
import { openMonitor, replicationReport, type ReplicationReport } from '../src/metrics/service.js'

export default class Replication extends BaseCommand {
  static override summary =
    'Per shard: primary offset, each replica offset, lag in bytes and seconds, link state, backlog headroom'
  static override description =
    'Lag in bytes is the primary offset minus the replica offset; lag in seconds is how long ago the primary passed the replica offset. ' +
    'Headroom is how much more the replica can fall behind before a reconnect needs a full resync (repl-backlog-size minus lag), and how long that lasts at the current write rate. ' +
    'When no node answered, the report is still printed and kvtop exits 3 naming them.'
  static override examples = [
    '<%= config.bin %> replication redis://127.0.0.1:7000',
    '<%= config.bin %> replication --profile sandbox:default --json',
  ]
  static override args = { url: urlArg }
  static override flags = {
    ...connectionFlags,
    ...awsConnectionFlags,
    interval: intervalFlag('Seconds between the two polls that measure rates'),
  }

  async run(): Promise<ReplicationReport> {
    const { args, flags } = await this.parse(Replication)
    const engine = await openMonitor((await this.resolveEndpoint(args.url, flags)).input, {
      intervalMs: toMs(flags.interval),
      slowlog: false,
      latency: false,
    })
    try {
      const { report, failure } = await replicationReport(engine)
      this.log(formatReplication(report.shards))
      const notable = report.events.filter((e) => e.type !== 'node-added')
      if (notable.length) {
        this.log('')
        for (const e of notable) this.log(formatEvent(e))
      }
      if (failure) this.failAfterResult(failure)
      return report
    } finally {
      await engine.stop()
    }
  }
}
