import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import { BaseCommand } from '../src/base-command.js'
import { connectSeededTarget } from '../src/connect/target.js'
import { connectionFlags } from '../src/connect/flags.js'
import { awsConnectionFlags } from '../src/aws/flags.js'
import { parseDbMap } from '../src/data/db-map.js'
import { LOG_FORMATS, type LogFormat } from '../src/data/logs/detect.js'
import { parseSpeed, parseUntil, replay, type ReplayReport } from '../src/ops/replay/replay.js'
import { formatCounts } from '../src/ops/replay/scan.js'
import { parseStallTimeout, stallTimeoutFlag } from '../src/ops/stall-flag.js'
import { resolveReplayInput } from '../src/ops/replay/sources.js'
import { ExitCode } from '../src/errors.js'
import { seconds, toMs } from '../src/flags.js'

export default class Replay extends BaseCommand {
  static override summary =
    'Replay a RESP stream, AOF file or directory, RDB or MONITOR capture onto a target'
  static override description =
    'The format is detected (--format forces it). On a cluster every command is routed by slot: DEL/UNLINK/EXISTS/TOUCH/MSET spanning slots are split, ' +
    'MULTI/EXEC blocks stay whole on one node, FLUSHALL and SCRIPT/FUNCTION LOAD go to every primary; other cross-slot commands stop the replay with their file position. ' +
    'A cluster holds only db 0: other dbs need --db-map. ' +
    'Before anything is sent the whole log is read and the target looked at: a target that holds keys is refused without --replace, ' +
    'dataset-wide commands (FLUSHALL, FLUSHDB, SWAPDB, SCRIPT FLUSH, FUNCTION FLUSH, FUNCTION RESTORE ... FLUSH) without --allow-flush (exit 2, with their count). ' +
    'With --allow-flush it asks before sending them on a terminal, and needs --yes elsewhere and with --json (exit 2 without it, nothing sent). ' +
    'Commands the target refuses for now (OOM, READONLY, LOADING, TRYAGAIN, CLUSTERDOWN, MASTERDOWN, BUSY, NOREPLICAS) are sent again with back-off for --retry-timeout seconds, then the replay stops (exit 5); ' +
    'MOVED and ASK are followed. A SELECT the target refuses stops the replay before anything meant for that db is sent (exit 5), and so does a node that owes replies and answers nothing for --stall-timeout seconds. ' +
    'Exit codes: 0 every command applied; 2 refused before sending (or bad input); 3 cannot connect; 5 the target refused commands (error replies, counted and listed) or the replay stopped midway.'
  static override examples = [
    '<%= config.bin %> replay appendonlydir/ --target redis://127.0.0.1:7000',
    '<%= config.bin %> replay traffic.log --target redis://127.0.0.1:6379 --speed 1x --until 2026-11-22T10:00:00Z',
    '<%= config.bin %> replay dump.aof --target redis://127.0.0.1:7000 --db-map 3:0 --json',
    '<%= config.bin %> replay appendonlydir/ --target redis://127.0.0.1:6379 --replace --allow-flush --yes',
  ]
  static override args = { input: Args.string({ description: 'Log file or AOF directory', required: true }) }
  static override flags = {
    ...connectionFlags,
    ...awsConnectionFlags,
    target: Flags.string({
      description: 'Target: a URL (any node of a cluster) or a profile name (sandbox:NAME)',
      required: true,
      aliases: ['to'],
    }),
    format: Flags.string({ description: 'Force the input format', options: LOG_FORMATS }),
    speed: Flags.string({ description: 'max, or the recorded pace times N (1x, 2x, 0.5x)', default: 'max' }),
    until: Flags.string({ description: 'Stop at this recorded time (epoch seconds or ISO 8601)' }),
    'db-map': Flags.string({
      description: 'Map a source db to a target db: SOURCE:TARGET (repeatable)',
      multiple: true,
    }),
    'stop-on-error': Flags.boolean({ description: 'Stop at the first error reply (exit 5)' }),
    replace: Flags.boolean({
      description: 'Replay onto a target that already holds keys (refused otherwise, exit 2)',
    }),
    'allow-flush': Flags.boolean({
      description:
        'Replay FLUSHALL, FLUSHDB, SWAPDB, SCRIPT FLUSH, FUNCTION FLUSH, FUNCTION RESTORE ... FLUSH (refused otherwise, exit 2); asks first on a terminal',
    }),
    yes: Flags.boolean({
      char: 'y',
      description:
        'With --allow-flush: replay the dataset-wide commands without asking (needed when not on a terminal, and with --json)',
    }),
    'retry-timeout': seconds({
      description:
        'Retry commands refused for now (OOM, READONLY, LOADING, ...) with back-off for this many seconds, then stop (exit 5); 0: stop at once',
      default: 60,
    }),
    'stall-timeout': stallTimeoutFlag({ resumable: false }),
    'skip-truncated-tail': Flags.boolean({
      description: 'Accept a log cut in the middle of its last command',
    }),
  }

  async run(): Promise<ReplayReport> {
    const { args, flags } = await this.parse(Replay)
    const options = {
      speed: parseSpeed(flags.speed),
      untilMs: flags.until === undefined ? undefined : parseUntil(flags.until),
      dbMap: parseDbMap(flags['db-map']),
      stopOnError: flags['stop-on-error'],
      skipTruncatedTail: flags['skip-truncated-tail'],
      replace: flags.replace,
      allowFlush: flags['allow-flush'],
      retryTimeoutMs: toMs(flags['retry-timeout']),
      stallTimeoutMs: parseStallTimeout(flags['stall-timeout']),
    }
    const input = resolveReplayInput(args.input, flags.format as LogFormat | undefined)
    const endpoint = await this.resolveTargetFlag(flags)
    // Connected while replay() reads the log (its pre-pass needs nothing of the target), through
    // kvtop's own wire layer: the seed connection carries COMMAND, INFO and DBSIZE.
    const connecting = connectSeededTarget(endpoint.input)
    connecting.catch(() => {})
    try {
      const report = await this.runOperation(
        ({ signal, emit, withViewPaused }) =>
          replay(input, connecting, {
            ...options,
            signal,
            onEvent: emit,
            // The live view stops while the question is on screen; a new one follows the replay.
            confirmDatasetWide: (found) =>
              withViewPaused(async () =>
                this.confirm(
                  `The log holds ${found.total} dataset-wide command(s) (${formatCounts(found.byCommand)}; the first at ${found.first.file} byte ${found.first.offset}). ` +
                    `Replay them onto ${(await connecting).primaries.map((p) => p.address).join(',')}, acting on everything it holds?`,
                  {
                    yes: flags.yes,
                    action: `replay ${found.total} dataset-wide command(s) (${formatCounts(found.byCommand)})`,
                    nothingDone: 'nothing was sent',
                  },
                ),
              ),
          }),
        { reporter: `replay ${args.input}` },
      )
      this.log(
        `Replayed ${report.commands} commands (${report.format}) onto ${report.mode} ${report.target} in ${report.seconds.toFixed(1)}s: ${report.commandsPerSecond} commands/s.`,
      )
      if (report.skippedAdmin) this.log(`${report.skippedAdmin} administrative commands left out.`)
      if (report.datasetWide.total)
        this.log(
          `${report.datasetWide.total} dataset-wide commands replayed (--allow-flush): ${formatCounts(report.datasetWide.byCommand)}.`,
        )
      if (report.retried) this.log(`${report.retried} commands refused for now were sent again.`)
      if (report.reordered)
        this.log(
          `${report.reordered} writes were applied before an earlier command on the same keys that had to be retried: for those keys the order differs from the log's (kvtop verify shows the difference).`,
        )
      if (report.split || report.broadcast)
        this.log(
          `${report.split} multi-key commands split by slot, ${report.broadcast} sent to every primary.`,
        )
      if (report.truncatedTail)
        this.log(
          `The log ended inside a command at ${report.truncatedTail.file} byte ${report.truncatedTail.offset}; that tail was skipped.`,
        )
      if (report.errors.total) {
        this.log(
          `${report.errors.total} error replies: ${Object.entries(report.errors.byKind)
            .map(([k, n]) => `${k} ${n}`)
            .join(', ')}`,
        )
        for (const e of report.errors.first)
          this.log(`  ${e.file} @${e.offset} (#${e.number}) ${e.command.toUpperCase()}: ${e.message}`)
        // On stderr too: a replay that met error replies fails (exit 5), and says why.
        this.diag(
          `Error: the target refused ${report.errors.total} of the log's commands (${formatCounts(report.errors.byKind)}); the first: ${report.errors.first[0]?.message ?? ''}`,
        )
      }
      if (report.stoppedAt)
        this.log(
          `Stopped at ${report.stoppedAt.file} byte ${report.stoppedAt.offset}: ${report.stoppedAt.reason}`,
        )
      if (report.stoppedAt?.reason === 'interrupted') {
        // Stopped by Ctrl-C or SIGTERM: the log was not replayed to its end, which a script must see.
        this.diag(
          `Error: interrupted at ${report.stoppedAt.file} byte ${report.stoppedAt.offset}: the rest of the log was not replayed`,
        )
        this.resultExitCode = ExitCode.failed
      }
      if (report.errors.total) this.resultExitCode = ExitCode.failed
      return report
    } finally {
      const connected = await connecting.catch(() => undefined)
      connected?.seed.close()
    }
  }
}
