import { Flags } from '@oclif/core'
import { BaseCommand } from '../src/base-command.js'
import { connectionFlags, urlArg } from '../src/connect/flags.js'
import { awsConnectionFlags, cloudWatchFlags } from '../src/aws/flags.js'
import { UsageError } from '../src/errors.js'
import { formatEvent, formatStatus, fmtTime } from '../src/metrics/format.js'
import {
  openCloudWatchSource,
  openMonitor,
  parseIntervalFlag,
  sampleStatus,
  statusJson,
} from '../src/metrics/service.js'
import type { Snapshot } from '../src/metrics/types.js'

export default class Status extends BaseCommand {
  static override summary = 'Every node of the deployment with its rates, memory, replication lag and alerts'
  static override description =
    'The data of `kvtop top` as a table or JSON. Rates are measured over one interval (two polls). ' +
    'With --watch: a table per interval, or with --json NDJSON: one line per event ({type, at, ...}: failover, node-down, ...), ' +
    'one {type: "slowlog", ...} line per new slow command and one {type: "status", ...} line per round.'
  static override examples = [
    '<%= config.bin %> status redis://127.0.0.1:7000',
    '<%= config.bin %> status --profile sandbox:default --json',
    '<%= config.bin %> status redis://127.0.0.1:7000 --watch --interval 2 --json',
    '<%= config.bin %> status --elasticache orders --cloudwatch --region eu-west-1',
  ]
  static override args = { url: urlArg }
  static override flags = {
    ...connectionFlags,
    ...awsConnectionFlags,
    ...cloudWatchFlags,
    watch: Flags.boolean({
      description: 'Keep polling, one report per interval, until Ctrl-C (or --count rounds)',
    }),
    interval: Flags.string({ description: 'Seconds between polls, fractions allowed (default 1)' }),
    count: Flags.integer({ description: 'With --watch: stop after this many rounds', min: 1 }),
    'lag-alert': Flags.string({ description: 'Replication lag in seconds that raises an alert (default 5)' }),
  }

  async run(): Promise<Snapshot | void> {
    const { args, flags } = await this.parse(Status)
    const intervalMs = parseIntervalFlag(flags.interval, 1)
    if (flags.count !== undefined && !flags.watch) throw new UsageError('--count needs --watch')
    const lagSeconds =
      flags['lag-alert'] === undefined
        ? undefined
        : parseIntervalFlag(flags['lag-alert'], 5, '--lag-alert') / 1000
    const endpoint = await this.resolveEndpoint(args.url, flags)
    const external = flags.cloudwatch
      ? await openCloudWatchSource(endpoint, { region: flags.region, profile: flags['aws-profile'] })
      : undefined
    const engine = await openMonitor(endpoint.input, {
      ...(external ? { external } : {}),
      intervalMs,
      ...(lagSeconds !== undefined ? { thresholds: { lagSeconds } } : {}),
    })
    try {
      if (!flags.watch) {
        const result = await sampleStatus(engine)
        this.log(formatStatus(result.snapshot, { events: result.events }))
        return statusJson(result, engine)
      }
      await this.watch(engine, flags.count)
    } finally {
      await engine.stop()
    }
  }

  private async watch(
    engine: Awaited<ReturnType<typeof openMonitor>>,
    count: number | undefined,
  ): Promise<void> {
    const json = this.jsonEnabled()
    let rounds = 0
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
          rounds++
          if (json) {
            for (const e of snap.events) this.emitJsonLine(e)
            for (const e of [...snap.slowlog].reverse()) this.emitJsonLine({ type: 'slowlog', ...e })
            const { events: _events, slowlog: _slowlog, ...rest } = snap
            this.emitJsonLine({ type: 'status', ...rest })
          } else {
            this.log(`--- ${fmtTime(snap.at)} (round ${snap.round}, ${snap.roundMs} ms) ---`)
            this.log(formatStatus(snap))
            for (const e of snap.events) this.log(formatEvent(e))
            this.log('')
          }
          if (count !== undefined && rounds >= count) finish()
        },
        (err) => this.diag(`poll failed: ${(err as Error).message}`),
      )
    })
  }
}
