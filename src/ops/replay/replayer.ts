import type { SeededTarget } from '../../connect/target.js'
import { errorMessage, OperationError, UsageError } from '../../errors.js'
import { DEFAULT_STALL_TIMEOUT_MS } from '../../wire/stall-watch.js'
import type { OperationContext } from '../context.js'
import type { CommandTable } from '../../redis/command-table.js'
import { LogDbs } from './dbs.js'
import { KeySlots } from './key-slots.js'
import { LogSender, type ReplayParts } from './log-sender.js'
import { DEFAULT_RETRY_TIMEOUT_MS, type ReplayOptions } from './options.js'
import { RefusedForNow } from './refused-for-now.js'
import { Replies } from './replies.js'
import { plural, type ReplayReport } from './report.js'
import { Retries } from './retries.js'
import { Router } from './router.js'
import type { LogScan } from './scan.js'
import { Sender } from './sender.js'
import type { ReplayInput } from './sources.js'
import { ReplayStalls } from './stalls.js'

/**
 * The send phase of one replay, once planReplay() found nothing to refuse, put together from its
 * parts: LogSender reads the log and sends it (routed by Router, db-tracked by LogDbs, paced, with
 * backpressure) through Sender's batches; Replies classifies replies as they come; Retries sends
 * again what was refused for now; ReplayStalls stops a replay a silent node holds. run() returns
 * the report once everything sent was answered, or throws what stopped it as the error the
 * command reports.
 */
export class Replayer {
  private readonly parts: ReplayParts
  private readonly log: LogSender

  constructor(
    input: ReplayInput,
    target: SeededTarget,
    options: ReplayOptions,
    table: CommandTable,
    scan: LogScan,
    report: ReplayReport,
    context: OperationContext,
  ) {
    const refused = new RefusedForNow(table, report)
    const replies = new Replies(report, refused, options.stopOnError)
    const sender = new Sender(target, replies, refused)
    const tracker = context.tracker('replay', 'commands')
    const stalls = new ReplayStalls()
    const keySlots = new KeySlots(table, target.seed, stalls.stall, () => stalls.stalled)
    const retryTimeoutMs = options.retryTimeoutMs ?? DEFAULT_RETRY_TIMEOUT_MS
    const retries = new Retries(
      sender,
      refused,
      replies,
      stalls,
      retryTimeoutMs,
      options,
      report,
      tracker,
      context,
    )
    const dbs = new LogDbs(sender, retries, options.dbMap)
    const router = new Router(sender, retries, keySlots, table, report)
    stalls.start(options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS, target, sender, keySlots, report)
    this.parts = {
      input,
      target,
      options,
      table,
      scan,
      report,
      context,
      tracker,
      sender,
      retries,
      dbs,
      router,
      refused,
      replies,
      stalls,
    }
    this.log = new LogSender(this.parts)
  }

  /** Send the whole log (up to --until, an interruption or a stop), then finish. */
  async run(): Promise<ReplayReport> {
    try {
      // The log sent, and everything sent answered (also when --until, Ctrl-C or a stop ended it early).
      await this.log.sendLog()
      await this.parts.retries.settle()
    } catch (err) {
      throw await this.fail(err)
    }
    return this.finish()
  }

  /** The report completed, once everything sent was answered. */
  private async finish(): Promise<ReplayReport> {
    const { report, stalls, sender, replies, context, tracker } = this.parts
    stalls.stop()
    await sender.pipeline.close()
    report.seconds = (Date.now() - this.log.progress.started) / 1000
    report.commandsPerSecond =
      report.seconds > 0 ? Math.round(report.commands / report.seconds) : report.commands
    if (replies.stopRequested) report.stoppedAt = replies.stopRequested
    context.emit({ ...tracker.snapshot(), total: undefined })
    return report
  }

  /** What stopped the replay, as the error to report, once the pipeline is closed. */
  private async fail(err: unknown): Promise<Error> {
    const { report, stalls, sender, retries } = this.parts
    stalls.stop()
    const cause = stalls.stalled ?? err
    const commands = () => plural(report.commands, 'command')
    if (cause instanceof UsageError) {
      // A command the target cannot take as it is: what came before it is applied, then the
      // problem is reported.
      await retries.settle().catch(() => {})
      await sender.pipeline.close()
      return new UsageError(cause.message, {
        code: cause.code,
        hint: `${cause.hint ?? ''} ${commands()} before it were replayed.`.trim(),
      })
    }
    // A refused SELECT, a stalled node, retries given up, a lost connection: nothing more is sent.
    sender.pipeline.abort(cause instanceof Error ? cause : new Error(String(cause)))
    await sender.pipeline.close()
    return cause instanceof OperationError
      ? cause
      : new OperationError(`replay failed after ${commands()}: ${errorMessage(cause)}`, { cause })
  }
}
