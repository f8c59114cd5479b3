import * as Flags from '@oclif/core/flags'
import { BaseCommand } from '../src/base-command.js'
import { connectionFlags, urlArg } from '../src/connect/flags.js'
import { fleetFlags, fleetTargets, refuseAwsNamesInFleet, type FleetTarget } from '../src/connect/fleet.js'
import { findProfile } from '../src/sandbox/profile-sources.js'
import { fleetExitCode, sampleFleetStatus, type FleetStatusEntry } from '../src/metrics/fleet-status.js'
import { awsConnectionFlags, cloudWatchFlags } from '../src/aws/flags.js'
import { UsageError } from '../src/errors.js'
import { intervalFlag, lagAlertFlag } from '../src/flags.js'
import type { CloudWatchOnlyMonitor } from '../src/aws/cloudwatch-only.js'
import {
  dataPlaneLine,
  formatCloudWatchOnly,
  formatEvent,
  formatStatus,
  fmtTime,
} from '../src/metrics/format.js'
import {
  openStatusFeed,
  readStatusOnce,
  feedOptionsFromFlags,
  type FeedFlags,
} from '../src/aws/status-feed.js'
import { sampleStatus, statusJson } from '../src/metrics/service.js'
import type { MonitorEngine } from '../src/metrics/engine.js'
import { statusCsvHeader, statusCsvRows } from '../src/metrics/csv.js'
import { watchJsonLines } from '../src/metrics/watch-lines.js'
import type { Snapshot } from '../src/metrics/types.js'

/** `status --json` over several deployments: keyed by profile name or URL. */
interface FleetStatusDocument {
  deployments: Record<string, FleetStatusEntry>
}

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
    '3 when it did not either. When no node answered (every one down or not responding), the status is still printed ' +
    'and kvtop exits 3 naming them (when the endpoint answered but none of the addresses the deployment announces did, ' +
    'the hint names --nat-map).\n\n' +
    'Several deployments (URL arguments, --profile more than once, or --all-profiles): each is sampled at the same ' +
    'time; with --json one document `{deployments: {NAME: {reachable: true, status} | {reachable: false, error}}}` ' +
    'keyed by profile name or URL (password left out). A deployment that cannot be reached, or none of whose nodes answered, is reported so without ' +
    'holding up the others; the exit code is then 0 when every deployment answered, else the highest code of those ' +
    'that did not (3: cannot connect). --watch and --csv take one deployment.'
  static override examples = [
    '<%= config.bin %> status redis://127.0.0.1:7000',
    '<%= config.bin %> status --profile sandbox:default --json',
    '<%= config.bin %> status --profile orders --profile sessions --json',
    '<%= config.bin %> status --all-profiles --json',
    '<%= config.bin %> status redis://127.0.0.1:7000 --watch --interval 2 --json',
    '<%= config.bin %> status redis://127.0.0.1:7000 --watch --csv > status.csv',
    '<%= config.bin %> status --elasticache orders --cloudwatch --region eu-west-1',
    '<%= config.bin %> status --memorydb sessions --cloudwatch --timeout 2   # from a laptop: CloudWatch only',
  ]
  static override args = { url: urlArg }
  /** More URL arguments name more deployments. */
  static override strict = false
  static override flags = {
    ...connectionFlags,
    ...fleetFlags,
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

  async run(): Promise<Snapshot | FleetStatusDocument | void> {
    const { argv, flags } = await this.parse(Status)
    if (flags.count !== undefined && !flags.watch) throw new UsageError('--count needs --watch')
    this.csv = flags.csv
    const targets = fleetTargets(argv as string[], flags.profile ?? [], flags['all-profiles'])
    if (targets.length > 1 || flags['all-profiles']) return this.fleet(targets, flags)
    const endpoint = await this.resolveEndpoint(targets[0]?.url, { ...flags, profile: targets[0]?.profile })
    const feed = await openStatusFeed(endpoint, this.feedOptions(flags))
    if (feed.cloudwatchOnly) return this.cloudWatchOnly(feed.cloudwatchOnly, flags.watch, flags.count)
    const engine = feed.live
    try {
      if (!flags.watch) {
        const result = await sampleStatus(engine)
        if (this.csv) this.csvRound(result.snapshot)
        else this.log(formatStatus(result.snapshot, { events: result.events }))
        if (result.failure) this.failAfterResult(result.failure)
        return statusJson(result, engine)
      }
      await this.watch(engine, flags.count)
    } finally {
      await engine.stop()
    }
  }

  private feedOptions(flags: FeedFlags) {
    return feedOptionsFromFlags(flags)
  }

  /** Several deployments: each one's status (or why not), sampled at the same time. */
  private async fleet(
    targets: FleetTarget[],
    flags: Parameters<Status['feedOptions']>[0] & {
      watch?: boolean
      csv?: boolean
      elasticache?: string
      serverless?: string
      memorydb?: string
    },
  ): Promise<FleetStatusDocument> {
    if (flags.watch)
      throw new UsageError('--watch takes one deployment', {
        hint: 'Run one status --watch per deployment, or use kvtop top for several.',
      })
    if (flags.csv) throw new UsageError('--csv takes one deployment')
    refuseAwsNamesInFleet(flags)
    // A profile that does not exist is bad input for the whole command (exit 2), before connecting.
    for (const t of targets) if (t.profile) findProfile(t.profile)
    const entries = await sampleFleetStatus(
      targets.map((t) => ({
        name: t.name,
        read: async () =>
          readStatusOnce(
            await openStatusFeed(
              await this.resolveEndpoint(t.url, { ...flags, profile: t.profile }),
              this.feedOptions(flags),
            ),
          ),
      })),
    )
    this.resultExitCode = fleetExitCode(entries)
    for (const [name, entry] of entries) {
      this.log(`== ${name} ==`)
      if (entry.reachable)
        this.log(
          entry.status.dataPlane
            ? formatCloudWatchOnly(entry.status)
            : formatStatus(entry.status, { events: entry.status.events }),
        )
      else this.log(`not reachable: ${entry.error.message}`)
      this.log('')
    }
    return { deployments: Object.fromEntries(entries) }
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
