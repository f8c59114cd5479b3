import { Flags } from '@oclif/core'
import { BaseCommand } from '../src/base-command.js'
import { connectionFlags, urlArg } from '../src/connect/flags.js'
import { awsConnectionFlags, cloudWatchFlags } from '../src/aws/flags.js'
import { UsageError } from '../src/errors.js'
import { intervalFlag, lagAlertFlag, toMs } from '../src/flags.js'
import type { CloudWatchOnlyMonitor } from '../src/metrics/cloudwatch-only.js'
import {
  dataPlaneLine,
  formatCloudWatchOnly,
  formatEvent,
  formatStatus,
  fmtTime,
} from '../src/metrics/format.js'
import { openStatusFeed, sampleStatus, statusJson } from '../src/metrics/service.js'
import type { MonitorEngine } from '../src/metrics/engine.js'
import { statusCsvHeader, statusCsvRows } from '../src/metrics/csv.js'
import { watchJsonLines } from '../src/metrics/watch-lines.js'
import type { Snapshot } from '../src/metrics/types.js'

export default class Status extends BaseCommand {
  static override summary = 'Every node of the deployment with its rates, memory, replication lag and alerts'
  static override description =
    'The data of `kvtop top` as a table or JSON. Rates are measured over one interval (two polls). ' +
    'With --watch: a table per interval, or with --json NDJSON: one line per event ({type, at, ...}: failover, node-down, ...), ' +
    'one {type: "slowlog", ...} line per new slow command, on Valkey 8.1+ one {type: "commandlog", kind: "large-request" | "large-reply", bytes, ...} ' +
    'line per new COMMANDLOG size entry, and one {type: "status", ...} line per round. ' +
    'With --cloudwatch and a deployment named through AWS (--elasticache, --serverless, --memorydb) whose nodes cannot be ' +
    'reached from here (outside the VPC: timeout, refused, DNS), the nodes AWS describes are shown with their CloudWatch ' +
    'figures only, one line saying so, and `dataPlane: {reachable: false, reason}` in the JSON; exit 0 when CloudWatch answered, ' +
    '3 when it did not either.'
  static override examples = [
    '<%= config.bin %> status redis://127.0.0.1:7000',
    '<%= config.bin %> status --profile sandbox:default --json',
    '<%= config.bin %> status redis://127.0.0.1:7000 --watch --interval 2 --json',
    '<%= config.bin %> status redis://127.0.0.1:7000 --watch --csv > status.csv',
    '<%= config.bin %> status --elasticache orders --cloudwatch --region eu-west-1',
    '<%= config.bin %> status --memorydb sessions --cloudwatch --timeout 2   # from a laptop: CloudWatch only',
  ]
  static override args = { url: urlArg }
  static override flags = {
    ...connectionFlags,
    ...awsConnectionFlags,
    ...cloudWatchFlags,
    watch: Flags.boolean({
      description: 'Keep polling, one report per interval, until Ctrl-C (or --count rounds)',
    }),
    interval: intervalFlag('Seconds between polls, fractions allowed'),
    count: Flags.integer({ description: 'With --watch: stop after this many rounds', min: 1 }),
    'lag-alert': lagAlertFlag('Replication lag in seconds that raises an alert'),
    csv: Flags.boolean({
      description: `CSV on stdout: a header, then one row per node per round (columns: ${statusCsvHeader()}); events go to stderr`,
      exclusive: ['json'],
    }),
  }

  async run(): Promise<Snapshot | void> {
    const { args, flags } = await this.parse(Status)
    const intervalMs = toMs(flags.interval)
    if (flags.count !== undefined && !flags.watch) throw new UsageError('--count needs --watch')
    this.csv = flags.csv
    const lagSeconds = flags['lag-alert']
    const endpoint = await this.resolveEndpoint(args.url, flags)
    const feed = await openStatusFeed(endpoint, {
      ...(flags.cloudwatch ? { cloudwatch: { region: flags.region, profile: flags['aws-profile'] } } : {}),
      intervalMs,
      thresholds: { lagSeconds },
    })
    if (feed.cloudwatchOnly) return this.cloudWatchOnly(feed.cloudwatchOnly, flags.watch, flags.count)
    const engine = feed.live
    try {
      if (!flags.watch) {
        const result = await sampleStatus(engine)
        if (this.csv) this.csvRound(result.snapshot)
        else this.log(formatStatus(result.snapshot, { events: result.events }))
        return statusJson(result, engine)
      }
      await this.watch(engine, flags.count)
    } finally {
      await engine.stop()
    }
  }

  /** The nodes cannot be reached from here: CloudWatch's figures, once or every interval. */
  private async cloudWatchOnly(
    monitor: CloudWatchOnlyMonitor,
    watch: boolean | undefined,
    count: number | undefined,
  ): Promise<Snapshot | void> {
    try {
      const first = monitor.latest!
      // The text report carries the line itself (a --watch prints it once); with --json it goes to stderr.
      if (this.jsonEnabled()) this.diag(dataPlaneLine(monitor.dataPlane))
      if (!watch) {
        if (this.csv) this.csvRound(first)
        else this.log(formatCloudWatchOnly(first))
        return first
      }
      if (this.csv) this.diag(dataPlaneLine(monitor.dataPlane))
      else this.log(dataPlaneLine(monitor.dataPlane))
      await this.watch(monitor, count)
    } finally {
      await monitor.stop()
    }
  }

  /** --csv: set by run(). */
  private csv = false
  private csvHeaderWritten = false

  /** One round as CSV rows (the header before the first); its events as text on stderr. */
  private csvRound(snap: Snapshot): void {
    if (!this.csvHeaderWritten) this.log(statusCsvHeader())
    this.csvHeaderWritten = true
    for (const row of statusCsvRows(snap)) this.log(row)
    for (const e of snap.events) this.diag(formatEvent(e))
  }

  private async watch(
    engine: MonitorEngine | CloudWatchOnlyMonitor,
    count: number | undefined,
  ): Promise<void> {
    const json = this.jsonEnabled()
    let rounds = 0
    await this.watchUntilStopped((finish) =>
      engine.start(
        (snap) => {
          rounds++
          if (json) for (const line of watchJsonLines(snap)) this.emitJsonLine(line)
          else if (this.csv) this.csvRound(snap)
          else {
            this.log(`--- ${fmtTime(snap.at)} (round ${snap.round}, ${snap.roundMs} ms) ---`)
            if (snap.dataPlane) this.log(formatCloudWatchOnly(snap, { notice: false }))
            else {
              this.log(formatStatus(snap))
              for (const e of snap.events) this.log(formatEvent(e))
            }
            this.log('')
          }
          if (count !== undefined && rounds >= count) finish()
        },
        (err) => this.diag(`poll failed: ${(err as Error).message}`),
      ),
    )
  }
}
