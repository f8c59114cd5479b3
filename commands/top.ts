import * as Flags from '@oclif/core/flags'
import { BaseCommand } from '../src/base-command.js'
import { connectionFlags, urlArg } from '../src/connect/flags.js'
import { fleetFlags, fleetTargets, refuseAwsNamesInFleet, type FleetTarget } from '../src/connect/fleet.js'
import { findProfile } from '../src/sandbox/profile-sources.js'
import { toKvtopError } from '../src/error-mapping.js'
import type { FleetMember } from '../src/dashboard/fleet-run.js'
import { awsConnectionFlags, cloudWatchFlags } from '../src/aws/flags.js'
import { UsageError } from '../src/errors.js'
import { openStatusFeed, feedOptionsFromFlags, type FeedFlags } from '../src/aws/status-feed.js'
import { historySizeFor } from '../src/dashboard/chart-window.js'
import { intervalFlag, lagAlertFlag } from '../src/flags.js'
import { RoundRecorder } from '../src/metrics/round-recorder.js'

export default class Top extends BaseCommand {
  static override summary = 'Full-screen live dashboard: nodes, rates, memory, replication, slowlog, alerts'
  static override description =
    'Keys: q quit, arrows or j/k move, s sort, / filter, p pause, w chart window, c chart scope, Enter node details, ? help. ' +
    'Needs a terminal; for scripts and pipes use `kvtop status --watch` (NDJSON with --json). ' +
    'With --cloudwatch and a deployment named through AWS whose nodes cannot be reached from here (outside the VPC), ' +
    'it shows the nodes AWS describes with their CloudWatch figures, and a header line saying so.\n\n' +
    'Several deployments (URL arguments, --profile more than once, or --all-profiles): the fleet view, one line per ' +
    'deployment (health, nodes up, ops/s, worst p99, memory, worst replica lag, alerts); arrows or j/k move, Enter opens ' +
    "that deployment's own dashboard, whose q comes back to the fleet; q in the fleet or Ctrl-C anywhere quits. A " +
    'deployment that cannot be reached is shown as down on its line. Not on a terminal it is refused (exit 2): ' +
    '`kvtop status` takes several deployments too.'
  static override examples = [
    '<%= config.bin %> top redis://127.0.0.1:7000',
    '<%= config.bin %> top --profile sandbox:default --interval 2',
    '<%= config.bin %> top --memorydb sessions --cloudwatch --user ops',
    '<%= config.bin %> top redis://127.0.0.1:7000 --record incident.ndjson',
    '<%= config.bin %> top --profile orders --profile sessions',
    '<%= config.bin %> top --all-profiles',
  ]
  static override args = { url: urlArg }
  /** More URL arguments name more deployments (the fleet view). */
  static override strict = false
  static override flags = {
    ...connectionFlags,
    ...fleetFlags,
    ...awsConnectionFlags,
    ...cloudWatchFlags,
    interval: intervalFlag('Seconds between polls, fractions allowed'),
    'lag-alert': lagAlertFlag('Replication lag in seconds that raises an alert and marks the replica'),
    record: Flags.string({
      description:
        'Also write every polled round to FILE as NDJSON (the lines of `status --watch --json`); the file appears when top ends',
    }),
    force: Flags.boolean({ description: 'Replace an existing --record file' }),
  }

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Top)
    const targets = fleetTargets(argv as string[], flags.profile ?? [], flags['all-profiles'])
    const isFleet = targets.length > 1 || flags['all-profiles']
    const named = targets.map((t) => (t.url ? ` ${t.url}` : ` --profile ${t.profile}`)).join('')
    const json = this.jsonEnabled() ? ' --json' : ''
    const instead = isFleet
      ? `kvtop status${named}${json} (each deployment's status; one document keyed by deployment with --json)`
      : `kvtop status${named} --watch${json}`
    if (process.env.TERM === 'dumb' && !this.jsonEnabled()) {
      throw new UsageError('kvtop top needs a terminal that can move the cursor (TERM is dumb)', {
        code: 'dumb-terminal',
        hint: `Use: ${instead}${isFleet ? '' : ' (a table per interval, CSV with --csv)'}, or set TERM to your terminal's type.`,
      })
    }
    if (this.jsonEnabled() || !process.stdout.isTTY || !process.stdin.isTTY) {
      throw new UsageError('kvtop top needs an interactive terminal (stdin and stdout a TTY)', {
        code: 'no-tty',
        hint: `Use: ${instead}${isFleet ? '' : ' (a table per interval, or NDJSON with --json)'}.`,
      })
    }
    if (flags.force && !flags.record) throw new UsageError('--force needs --record')
    if (isFleet) return this.fleet(targets, flags)
    // Checked before connecting: an existing file is refused without --force (exit 2).
    const recording = flags.record ? new RoundRecorder(flags.record, flags.force) : undefined
    try {
      const endpoint = await this.resolveEndpoint(targets[0]?.url, { ...flags, profile: targets[0]?.profile })
      const feed = await openStatusFeed(endpoint, this.feedOptions(flags))
      // Loaded only here: blessed is not needed by any other command.
      const { runTop } = await import('../src/dashboard/run.js')
      await runTop(feed.live ?? feed.cloudwatchOnly, {
        thresholds: { lagSeconds: flags['lag-alert'] },
        color: this.colorEnabled,
        ...(recording ? { onRound: (snap) => recording.write(snap) } : {}),
      })
    } finally {
      await recording?.close()
    }
  }

  private feedOptions(flags: FeedFlags) {
    const options = feedOptionsFromFlags(flags)
    // Enough rounds for the longest chart window (w).
    return { ...options, historySize: historySizeFor(options.intervalMs) }
  }

  /** Several deployments: the fleet view; one that cannot be opened is a down line, not a failure. */
  private async fleet(
    targets: FleetTarget[],
    flags: Parameters<Top['feedOptions']>[0] & {
      record?: string
      elasticache?: string
      serverless?: string
      memorydb?: string
    },
  ): Promise<void> {
    if (flags.record) throw new UsageError('--record takes one deployment')
    refuseAwsNamesInFleet(flags)
    for (const t of targets) if (t.profile) findProfile(t.profile)
    const members = await Promise.all(
      targets.map(async (t): Promise<FleetMember> => {
        const open = async () => {
          try {
            const endpoint = await this.resolveEndpoint(t.url, { ...flags, profile: t.profile })
            const feed = await openStatusFeed(endpoint, this.feedOptions(flags))
            return feed.live ?? feed.cloudwatchOnly
          } catch (err) {
            throw new Error(toKvtopError(err).message)
          }
        }
        try {
          return { name: t.name, feed: await open(), reopen: open }
        } catch (err) {
          return { name: t.name, error: (err as Error).message, reopen: open }
        }
      }),
    )
    const { runFleet } = await import('../src/dashboard/fleet-run.js')
    await runFleet(members, { thresholds: { lagSeconds: flags['lag-alert'] }, color: this.colorEnabled })
  }
}
