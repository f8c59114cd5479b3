import { Flags } from '@oclif/core'
import { BaseCommand } from '../src/base-command.js'
import { connectionFlags, urlArg } from '../src/connect/flags.js'
import { awsConnectionFlags, cloudWatchFlags } from '../src/aws/flags.js'
import { UsageError } from '../src/errors.js'
import { openStatusFeed } from '../src/aws/status-feed.js'
import { historySizeFor } from '../src/dashboard/view-model.js'
import { intervalFlag, lagAlertFlag, toMs } from '../src/flags.js'
import { RoundRecorder } from '../src/metrics/round-recorder.js'

export default class Top extends BaseCommand {
  static override summary = 'Full-screen live dashboard: nodes, rates, memory, replication, slowlog, alerts'
  static override description =
    'Keys: q quit, arrows or j/k move, s sort, / filter, p pause, w chart window, c chart scope, Enter node details, ? help. ' +
    'Needs a terminal; for scripts and pipes use `kvtop status --watch` (NDJSON with --json). ' +
    'With --cloudwatch and a deployment named through AWS whose nodes cannot be reached from here (outside the VPC), ' +
    'it shows the nodes AWS describes with their CloudWatch figures, and a header line saying so.'
  static override examples = [
    '<%= config.bin %> top redis://127.0.0.1:7000',
    '<%= config.bin %> top --profile sandbox:default --interval 2',
    '<%= config.bin %> top --memorydb sessions --cloudwatch --user ops',
    '<%= config.bin %> top redis://127.0.0.1:7000 --record incident.ndjson',
  ]
  static override args = { url: urlArg }
  static override flags = {
    ...connectionFlags,
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
    const { args, flags } = await this.parse(Top)
    const watchInstead = `kvtop status${args.url ? ` ${args.url}` : ''} --watch${this.jsonEnabled() ? ' --json' : ''}`
    if (process.env.TERM === 'dumb' && !this.jsonEnabled()) {
      throw new UsageError('kvtop top needs a terminal that can move the cursor (TERM is dumb)', {
        code: 'dumb-terminal',
        hint: `Use: ${watchInstead} (a table per interval, CSV with --csv), or set TERM to your terminal's type.`,
      })
    }
    if (this.jsonEnabled() || !process.stdout.isTTY || !process.stdin.isTTY) {
      throw new UsageError('kvtop top needs an interactive terminal (stdin and stdout a TTY)', {
        code: 'no-tty',
        hint: `Use: ${watchInstead} (a table per interval, or NDJSON with --json).`,
      })
    }
    const intervalMs = toMs(flags.interval)
    const thresholds = { lagSeconds: flags['lag-alert'] }
    if (flags.force && !flags.record) throw new UsageError('--force needs --record')
    // Checked before connecting: an existing file is refused without --force (exit 2).
    const recording = flags.record ? new RoundRecorder(flags.record, flags.force) : undefined
    try {
      const endpoint = await this.resolveEndpoint(args.url, flags)
      const feed = await openStatusFeed(endpoint, {
        ...(flags.cloudwatch ? { cloudwatch: { region: flags.region, profile: flags['aws-profile'] } } : {}),
        intervalMs,
        // Enough rounds for the longest chart window (w).
        historySize: historySizeFor(intervalMs),
        thresholds,
      })
      // Loaded only here: blessed is not needed by any other command.
      const { runTop } = await import('../src/dashboard/run.js')
      await runTop(feed.live ?? feed.cloudwatchOnly, {
        thresholds,
        color: this.colorEnabled,
        ...(recording ? { onRound: (snap) => recording.write(snap) } : {}),
      })
    } finally {
      await recording?.close()
    }
  }
}
