import * as Flags from '@oclif/core/flags'
import { BaseCommand } from '../src/base-command.js'
import { intervalFlag, toMs } from '../src/flags.js'
import { connectionFlags, urlArg } from '../src/connect/flags.js'
import { awsConnectionFlags } from '../src/aws/flags.js'
import {
  formatCommandLog,
  formatCommandLogGroups,
  formatCommandLogLine,
  formatSlowlog,
  formatSlowlogGroups,
  formatSlowlogLine,
} from '../src/metrics/format.js'
import {
  openMonitor,
  readCommandLog,
  readSlowlog,
  type CommandLogReport,
  type SlowlogReport,
} from '../src/metrics/service.js'
import { compareCommandLog, compareNewestFirst } from '../src/metrics/log-merge.js'
import { type CommandLogType, type LargeLogKind } from '../src/metrics/log-reply.js'
import type { Snapshot } from '../src/metrics/types.js'

type Engine = Awaited<ReturnType<typeof openMonitor>>

/** What `--follow` prints of one log kind. */
interface FollowedLog<T extends object> {
  /** A round's new entries, newest first. */
  entries(snap: Snapshot): T[]
  /** Newest first, for printing them oldest first. */
  compare(a: T, b: T): number
  line(entry: T): string
  jsonType: string
  gapEvent: string
}

export default class Slowlog extends BaseCommand {
  static override summary =
    'The slowlog of every node, merged newest first, each entry with its node and shard'
  static override description =
    'Entries are read by id from each node: none twice, none missed between reads (a gap, when the server trimmed entries first, is reported). ' +
    '--group totals by command pattern (command, subcommand, key shape). --follow streams new entries (NDJSON with --json). ' +
    "--kind large-request or large-reply reads Valkey 8.1+'s COMMANDLOG size logs instead: commands whose request or reply " +
    'reached commandlog-request-larger-than / commandlog-reply-larger-than bytes, with that size in place of the duration ' +
    '(only COMMANDLOG GET is sent); nodes without COMMANDLOG (Redis, Valkey before 8.1) are named in a warning.'
  static override examples = [
    '<%= config.bin %> slowlog redis://127.0.0.1:7000',
    '<%= config.bin %> slowlog --profile sandbox:default --group',
    '<%= config.bin %> slowlog redis://127.0.0.1:7000 --follow --json',
    '<%= config.bin %> slowlog redis://127.0.0.1:7000 --kind large-reply --group',
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
    group: Flags.boolean({
      description: 'Group by command pattern: count, total, mean and max time (or size), nodes',
    }),
    follow: Flags.boolean({ description: 'Keep reading and print new entries as they appear, until Ctrl-C' }),
    interval: intervalFlag('With --follow: seconds between reads'),
    kind: Flags.string({
      description:
        'slow: SLOWLOG (execution time); large-request / large-reply: COMMANDLOG (Valkey 8.1+), the size of the request or reply in bytes',
      options: ['slow', 'large-request', 'large-reply'],
      default: 'slow',
    }),
  }

  async run(): Promise<SlowlogReport | CommandLogReport | void> {
    const { args, flags } = await this.parse(Slowlog)
    const intervalMs = toMs(flags.interval)
    const kind = flags.kind as CommandLogType
    const engine = await openMonitor((await this.resolveEndpoint(args.url, flags)).input, {
      intervalMs,
      slowlogCount: flags.limit,
      latency: false,
      // One log per run: SLOWLOG, or COMMANDLOG's size log (never both).
      slowlog: kind === 'slow',
      commandlog: kind !== 'slow',
    })
    try {
      if (kind !== 'slow') return await this.commandLog(engine, kind, flags)
      if (!flags.follow) {
        const report = await readSlowlog(engine, flags.limit, flags.group)
        this.log(flags.group ? formatSlowlogGroups(report.groups ?? []) : formatSlowlog(report.entries))
        for (const e of report.errors) this.diag(`Warning: ${e.address} not read: ${e.error}`)
        return report
      }
      await this.follow(engine, flags.limit, {
        entries: (snap) => snap.slowlog,
        compare: compareNewestFirst,
        line: formatSlowlogLine,
        jsonType: 'slowlog',
        gapEvent: 'slowlog-gap',
      })
    } finally {
      await engine.stop()
    }
  }

  private async commandLog(
    engine: Engine,
    kind: LargeLogKind,
    flags: { limit: number; group: boolean; follow: boolean },
  ): Promise<CommandLogReport | void> {
    if (!flags.follow) {
      const report = await readCommandLog(engine, kind, flags.limit, flags.group)
      this.log(
        flags.group
          ? formatCommandLogGroups(report.groups ?? [], kind)
          : formatCommandLog(report.entries, kind),
      )
      this.warnWithout(report.withoutCommandLog, kind)
      for (const e of report.errors) this.diag(`Warning: ${e.address} not read: ${e.error}`)
      return report
    }
    const field = kind === 'large-request' ? 'largeRequests' : 'largeReplies'
    await this.follow(
      engine,
      flags.limit,
      {
        entries: (snap) => snap.commandLog?.[field] ?? [],
        compare: compareCommandLog,
        line: formatCommandLogLine,
        jsonType: 'commandlog',
        gapEvent: 'commandlog-gap',
      },
      () =>
        this.warnWithout(
          engine
            .commandLogSupport()
            .filter((n) => n.support === 'no')
            .map((n) => n.address),
          kind,
        ),
    )
  }

  /** Asked for a size log: say which nodes cannot have one (stderr; the output stays the entries). */
  private warnWithout(addresses: string[], kind: LargeLogKind): void {
    if (!addresses.length) return
    const list =
      addresses.slice(0, 5).join(', ') + (addresses.length > 5 ? `, ... (${addresses.length})` : '')
    this.diag(`Warning: no COMMANDLOG on ${list} (Valkey 8.1+ has it): no ${kind} entries from there`)
  }

  private async follow<T extends object>(
    engine: Engine,
    limit: number,
    log: FollowedLog<T>,
    afterFirst?: () => void,
  ): Promise<void> {
    const json = this.jsonEnabled()
    let first = true
    await this.watchUntilStopped(() =>
      engine.start(
        (snap) => {
          // The first read shows the newest `limit` entries already there; later reads only new ones.
          const fresh = log.entries(snap)
          const entries = (first ? fresh.slice(0, limit) : fresh).slice().sort((a, b) => log.compare(b, a))
          const wasFirst = first
          first = false
          for (const e of entries) {
            if (json) this.emitJsonLine({ type: log.jsonType, ...e })
            else this.log(log.line(e))
          }
          for (const ev of snap.events.filter(
            (x) => x.type === log.gapEvent || x.type === 'failover' || x.type === 'node-down',
          )) {
            if (json) this.emitJsonLine(ev)
            else this.diag(`${ev.type}: ${ev.message}`)
          }
          if (wasFirst) afterFirst?.()
        },
        (err) => this.diag(`read failed: ${(err as Error).message}`),
      ),
    )
  }
}
