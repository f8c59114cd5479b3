import { RespError, type Reply } from '../../wire/reply-parser.js'
import { classifyReply } from '../../wire/classify.js'
import { OperationError } from '../../errors.js'
import type { RefusedForNow } from './refused-for-now.js'
import { plural, where, type ReplayReport } from './report.js'
import type { LogPosition } from './scan.js'
import type { CommandBatch } from '../../wire/routed-pipeline.js'
import { commandOfRun, type Tag } from './tag.js'

const FIRST_ERRORS = 10

/**
 * What the target answered, as it comes: applied (writes reordered by a retry counted), refused
 * for now (handed to the retries), refused (an error in the report, a stop with --stop-on-error),
 * or a refused SELECT (a reason to stop at once).
 */
export class Replies {
  /** Where --stop-on-error stops the replay: the first error reply. */
  stopRequested: { file: string; offset: number; reason: string } | undefined
  /** A reason to stop at once, found in a reply (a refused SELECT). */
  fatal: OperationError | undefined

  constructor(
    private readonly report: ReplayReport,
    private readonly refused: RefusedForNow,
    private readonly stopOnError: boolean,
  ) {}

  onReply(reply: Reply, tag: Tag, batch: CommandBatch<Tag>, index: number): void {
    if (tag.run) {
      // Most replies of a run say it was applied, and nothing needs to know which command it was.
      if (!(reply instanceof RespError) && !this.refused.tracking) return
      tag = commandOfRun(tag, batch, index)
    }
    if (tag.block) return this.onBlockReply(reply, tag)
    const kind = classifyReply(reply)
    if (kind === 'ok') {
      if (this.refused.tracking) this.refused.noteApplied({ tag }, tag.number)
      return
    }
    const err = reply as RespError
    if (tag.select && (kind !== 'retryable' || !tag.select.alone)) {
      this.fatal ??= this.selectRefusal(tag, err)
      return
    }
    if (kind === 'retryable') return this.refused.add({ tag, err, number: tag.number })
    // Refused, or a redirect the pipeline could not follow.
    this.recordError(tag, tag.name, err)
  }

  recordError(at: LogPosition, command: string, err: RespError): void {
    const errors = this.report.errors
    errors.total++
    errors.byKind[err.prefix] = (errors.byKind[err.prefix] ?? 0) + 1
    if (errors.first.length < FIRST_ERRORS)
      errors.first.push({
        file: at.file,
        offset: at.offset,
        number: at.number,
        command,
        message: err.message,
      })
    if (this.stopOnError) this.stopRequested ??= { file: at.file, offset: at.offset, reason: err.message }
  }

  private onBlockReply(reply: Reply, tag: Tag): void {
    const block = tag.block!
    if (tag.name !== 'exec') {
      if (reply instanceof RespError) block.queueErrors.push({ index: tag.index!, err: reply })
      return
    }
    if (Array.isArray(reply)) {
      // Applied: each command ran; some may have failed on their own.
      reply.forEach((r, i) => {
        const item = block.items[i]
        if (r instanceof RespError && item) this.recordError(item, item.name, r)
      })
      if (this.refused.tracking) this.refused.noteApplied({ block }, block.exec.number)
      return
    }
    if (reply instanceof RespError) {
      const causes = block.queueErrors
      // Refused as a whole (EXECABORT): for now, when every command refused in it was refused for now.
      const retry =
        classifyReply(reply) === 'retryable' ||
        (causes.length > 0 && causes.every((c) => classifyReply(c.err) === 'retryable'))
      if (retry) return this.refused.add({ block, err: causes[0]?.err ?? reply, number: block.exec.number })
      if (!causes.length) return this.recordError(block.exec, 'exec', reply)
      for (const c of causes) {
        const at = c.index >= 0 ? block.items[c.index] : { ...block.multi, name: 'multi' }
        this.recordError(at, at.name, c.err)
      }
      return
    }
    // nil: a key WATCHed in the log changed; nothing in the block was applied.
    this.recordError(
      block.exec,
      'exec',
      new RespError('EXECABORT EXEC returned nil (a WATCHed key changed): the block was not applied'),
    )
  }

  private selectRefusal(tag: Tag, err: RespError): OperationError {
    const { db, origin, alone } = tag.select!
    const mapped = db === origin.sourceDb ? '' : ` (mapped to ${db} by --db-map)`
    const what = origin.viaSelect
      ? `the log selects db ${origin.sourceDb}${mapped} at ${where(origin)} (command #${origin.number})`
      : `the command at ${where(origin)} (command #${origin.number}) is in db ${origin.sourceDb}${mapped}`
    return new OperationError(
      `the target refused SELECT ${db} (${err.message}): ${what}; ${
        alone
          ? 'the replay stopped there, nothing meant for that db was sent'
          : 'it had accepted that db before, so commands sent after it may have run in another db'
      }`,
      {
        code: 'select-refused',
        hint: `Map the db to one the target has with --db-map ${origin.sourceDb}:N. ${plural(this.report.commands, 'command')} before it were sent.`,
      },
    )
  }
}
