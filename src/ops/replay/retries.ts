import { OperationError } from '../../errors.js'
import type { OperationContext } from '../context.js'
import type { ProgressTracker } from '../progress.js'
import type { ReplayOptions } from './options.js'
import type { RefusedForNow } from './refused-for-now.js'
import type { Replies } from './replies.js'
import { plural, where, type ReplayReport } from './report.js'
import { formatCounts } from './scan.js'
import type { Sender } from './sender.js'
import type { ReplayStalls } from './stalls.js'
import type { RetryEntry, Tag } from './tag.js'

const RETRY_FIRST_DELAY_MS = 100
const RETRY_MAX_DELAY_MS = 2_000

/**
 * Settling the replay: everything queued answered, and what the target refused for now (OOM,
 * READONLY, LOADING ...) sent again, in log order, with back-off, for `retryTimeoutMs` at most;
 * then the replay stops at the first command still refused.
 */
export class Retries {
  constructor(
    private readonly sender: Sender,
    private readonly refused: RefusedForNow,
    private readonly replies: Replies,
    private readonly stalls: ReplayStalls,
    private readonly retryTimeoutMs: number,
    private readonly options: ReplayOptions,
    private readonly report: ReplayReport,
    private readonly tracker: ProgressTracker,
    private readonly context: OperationContext,
  ) {}

  /** Everything queued is answered, and everything refused for now retried (or given up: stop). */
  async settle(): Promise<void> {
    if (this.replies.fatal) throw this.replies.fatal
    await this.sender.pipeline.flush()
    if (this.refused.waiting) await this.retryRefused()
    if (this.replies.fatal) throw this.replies.fatal
  }

  /** Send again, in log order, what was refused for now, with back-off, for retryTimeoutMs at most. */
  private async retryRefused(): Promise<void> {
    const { options, retryTimeoutMs } = this
    const since = Date.now()
    let attempt = 0
    while (this.refused.waiting) {
      if (this.replies.fatal) throw this.replies.fatal
      const entries = this.refused.take()
      const kinds: Record<string, number> = {}
      for (const e of entries) kinds[e.err.prefix] = (kinds[e.err.prefix] ?? 0) + 1
      const waited = Date.now() - since
      if (waited >= retryTimeoutMs || options.signal?.aborted)
        throw this.giveUp(entries, kinds, waited, attempt)
      attempt++
      const delay = Math.min(
        RETRY_MAX_DELAY_MS,
        RETRY_FIRST_DELAY_MS * 2 ** (attempt - 1),
        retryTimeoutMs - waited,
      )
      this.announce(entries, kinds, attempt, waited)
      await this.stalls.sleep(delay, options.signal)
      this.refused.forgetFailedSlots()
      for (const e of entries) {
        const wait = e.block ? this.sender.appendBlock(e.block) : this.resend(e.tag!)
        if (wait) await wait
      }
      await this.sender.pipeline.flush()
    }
    this.refused.forgetFailedSlots()
    if (attempt)
      this.context.emit({
        ...this.tracker.snapshot(`applied after ${plural(attempt, 'retry', 'retries')}`),
        total: undefined,
      })
  }

  /** A warning at the first attempt, a progress line at each. */
  private announce(
    entries: RetryEntry[],
    kinds: Record<string, number>,
    attempt: number,
    waited: number,
  ): void {
    if (attempt === 1)
      this.context.warn(
        `the target refused ${plural(entries.length, 'command')} for now (${formatCounts(kinds)}: ${entries[0].err.message}); retrying for up to ${Math.round(this.retryTimeoutMs / 1000)} s`,
      )
    this.context.emit({
      ...this.tracker.snapshot(
        `retrying ${plural(entries.length, 'command')} refused for now (${formatCounts(kinds)}), attempt ${attempt}, ${Math.round(waited / 1000)} s so far`,
      ),
      total: undefined,
    })
  }

  /** Retries given up: each is an error reply, and the replay stops at the first. */
  private giveUp(
    entries: RetryEntry[],
    kinds: Record<string, number>,
    waited: number,
    attempt: number,
  ): OperationError {
    for (const e of entries) {
      if (e.block) this.replies.recordError(e.block.exec, 'exec', e.err)
      else this.replies.recordError(e.tag!, e.tag!.name, e.err)
    }
    const first = entries[0]
    const at = first.block ? first.block.exec : first.tag!
    return new OperationError(
      `the target refused ${plural(entries.length, 'command')} for ${Math.round(waited / 1000)} s despite ${plural(attempt, 'retry', 'retries')} (${formatCounts(kinds)}: ${first.err.message}); the first is command #${at.number} at ${where(at)}, and the replay stopped there`,
      {
        code: this.options.signal?.aborted ? 'interrupted' : 'retries-exhausted',
        hint: `Fix the cause (OOM: more maxmemory or fewer keys; READONLY: point --to at the primary; LOADING, CLUSTERDOWN, MASTERDOWN: wait for the node), or retry longer with --retry-timeout. ${plural(this.report.commands, 'command')} were sent, ${plural(this.report.errors.total, 'error reply', 'error replies')} in all.`,
      },
    )
  }

  /** A command refused for now, again (its bytes were copied out when its reply came). */
  private resend(tag: Tag): Promise<void> | undefined {
    const sender = this.sender
    if (tag.select) {
      sender.laneDb = tag.select.db
      return sender.appendTo(tag)
    }
    if (!sender.cluster && tag.db !== sender.laneDb) sender.selectQueued(tag.db, tag)
    return sender.appendTo(tag)
  }
}
