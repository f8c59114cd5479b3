import { setTimeout as sleep } from 'node:timers/promises'
import type { ConnectedTarget } from '../../connect/target.js'
import { escapeBytes } from '../../data/escape.js'
import { keyAtOffset, RdbReader, type RdbEntry } from '../../data/rdb/reader.js'
import { RespError, type Reply } from '../../wire/reply-parser.js'
import { classifyReply } from '../../wire/classify.js'
import { RoutedPipeline } from '../../wire/routed-pipeline.js'
import { DEFAULT_STALL_TIMEOUT_MS, StallWatch, stallMessage } from '../../wire/stall-watch.js'
import { KvtopError, OperationError, errorMessage } from '../../errors.js'
import { ProgressTracker } from '../progress.js'
import { fileError } from './inspect.js'
import { watchPipeline } from './pipeline-stall.js'
import { encodeDel, encodeRebuild, encodeRestore, type BlockTag, type Tag } from './restore-encode.js'
import type { RestoreContext, RestoreOptions, RestoreReport } from './restore-options.js'
import type { RestorePlan } from './restore-preflight.js'
import { entryRouting, type EntryRouting } from './restore-routing.js'

/** Back-off for keys the target refused for now: about 13 s in all, then they count as failed. */
const RETRY_DELAYS_MS = [250, 500, 1000, 2000, 4000, 5000]

/**
 * Bytes per write to one node and writes in flight per node: deeper than RoutedPipeline's default
 * (128 KiB x 4), closer to what `redis-cli --pipe` keeps queued, so that a node keeps working
 * while kvtop waits for a core (interleaved runs at 200k keys on a loaded 2-core machine: median
 * 0.47x vs 0.36x of the pipe, uniform data; 0.59x vs 0.47x, production data; the same CPU).
 */
const BATCH_BYTES = 256 * 1024
const WINDOW = 8

/** Where a pass over the file is: the time keys are judged expired by, the writes to wait for, the back-off. */
interface SendPass {
  /** Only the keys at these file offsets (a retry), or every key. */
  only: ReadonlySet<number> | undefined
  /** ms since the epoch, taken once per chunk. */
  now: number
  /** A node's window is full: wait for this before reading on. */
  wait: Promise<void> | undefined
  /** Keys refused for now when the last chunk ended, and the pause that followed. */
  refusedSoFar: number
  pause: number
}

/**
 * Writes the keys of a planned restore, pipelined per node: RESTORE for the types the target reads,
 * a MULTI ... EXEC block of ordinary commands for the others, DEL for keys expired in the file (with
 * --replace). Counts every reply into the report; keys refused for now are sent again after a
 * back-off.
 */
export class KeyWriter {
  private readonly errors = new Map<string, { count: number; example: string; offset: number }>()
  /** Keys refused for now (OOM, LOADING, READONLY, TRYAGAIN ...): file offset -> the refusal. Sent again later. */
  private readonly retry = new Map<number, string>()
  private readonly tracker: ProgressTracker
  private readonly pipeline: RoutedPipeline<Tag>
  private readonly routing: EntryRouting
  private readonly stallWatch: StallWatch
  private readonly now: () => number
  private readonly replace: boolean
  private lastEmit = 0
  private sent = 0

  constructor(
    private readonly deployment: ConnectedTarget,
    private readonly plan: RestorePlan,
    private readonly options: RestoreOptions,
    private readonly report: RestoreReport,
    private readonly context: RestoreContext,
  ) {
    this.now = options.now ?? Date.now
    this.replace = options.replace ?? false
    this.tracker = new ProgressTracker('restore', 'keys', plan.summary.keys)
    this.pipeline = new RoutedPipeline<Tag>({
      spec: deployment.spec,
      topology: deployment.topology,
      batchBytes: options.batchBytes ?? BATCH_BYTES,
      window: options.window ?? WINDOW,
      // Replies read by counting: a run of successes (RESTORE's +OK) is stepped over without a
      // reply object each; every success still reaches onReply, as 'OK', to be counted.
      counted: { wantsSuccesses: () => true },
      onReply: (reply: Reply, tag: Tag) => this.onReply(reply, tag),
    })
    this.routing = entryRouting(this.pipeline, plan.cluster, plan.targetDb, -1)
    this.stallWatch = new StallWatch({
      timeoutMs: options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS,
      onStall: (stall) =>
        new OperationError(
          `the restore stopped after ${report.restored} of ${plan.summary.keys} keys: ${stallMessage(stall)}`,
          {
            code: 'stalled',
            resumable: true,
            hint: 'Check the node (hung, overloaded or cut off?), then run it again with --replace to restore the rest (keys already restored are overwritten). If it is only slow, raise --stall-timeout (0 waits forever).',
          },
        ),
    })
    watchPipeline(this.stallWatch, this.pipeline)
  }

  /** Every key, then the keys refused for now again (a bounded number of times); fills the report's errors. */
  async run(): Promise<void> {
    const { report, options, plan } = this
    const { emit, warn } = this.context
    emit({
      type: 'phase',
      phase: 'restoring',
      detail: `${plan.summary.keys} keys into ${plan.cluster ? `${this.deployment.primaries.length} primaries` : this.deployment.primaries[0]?.address}`,
    })
    try {
      await this.sendFile()
      // Keys refused for now are sent again after a back-off, a bounded number of times.
      for (const delay of options.retryDelaysMs ?? RETRY_DELAYS_MS) {
        if (this.retry.size === 0 || options.signal?.aborted) break
        const [first] = this.retry.values()
        warn(
          `the target refused ${this.retry.size} keys for now (${first.slice(0, 120)}): sending them again in ${delay} ms`,
        )
        await sleep(delay)
        const again = new Set(this.retry.keys())
        this.retry.clear()
        await this.sendFile(again)
      }
      // Still refused after the last try: failed, with the target's reason.
      for (const [offset, message] of this.retry) this.failed(message, offset)
      this.retry.clear()
    } catch (err) {
      if (this.stallWatch.error) throw this.stallWatch.error
      const mapped = fileError(plan.path, err)
      if (mapped instanceof KvtopError) throw mapped
      throw new OperationError(
        `the restore stopped after ${report.restored} of ${plan.summary.keys} keys: ${errorMessage(err)}`,
        {
          resumable: true,
          hint: 'Run it again with --replace to restore the rest (keys already restored are overwritten).',
          cause: err,
        },
      )
    } finally {
      this.stallWatch.stop()
      await this.pipeline.close()
    }
    emit(this.tracker.snapshot())
    const sorted = [...this.errors].sort((a, b) => b[1].count - a[1].count)
    for (const [message, e] of sorted) {
      const example = report.errors.length < 10 ? escapeBytes(await keyAtOffset(plan.path, e.offset)) : ''
      report.errors.push({ message, count: e.count, example })
    }
  }

  /**
   * One pass over the file: every key, or (`only`) the keys at these offsets again. Keys are encoded
   * as the reader parses them (no array of a chunk's entries); after each chunk, the pass waits for
   * the nodes to take more. While the target refuses keys for now, the pass slows down (a growing
   * pause between chunks) rather than flood a node that is out of memory or loading.
   */
  private async sendFile(only?: ReadonlySet<number>): Promise<void> {
    if (this.options.signal?.aborted) return
    const reader = RdbReader.fromFile(this.plan.path, { verifyChecksum: false, reuseBuffers: true })
    const pass: SendPass = { only, now: this.now(), wait: undefined, refusedSoFar: this.retry.size, pause: 0 }
    await reader.eachRecord(
      (rec) => {
        if (rec.kind === 'entry') this.sendEntry(rec, pass)
      },
      () => this.afterChunk(pass),
    )
    await this.pipeline.flush()
  }

  /** One key into its node's batch: RESTORE, a rebuild block, or DEL for a key expired in the file (with --replace). */
  private sendEntry(rec: RdbEntry, pass: SendPass): void {
    const { pipeline, plan, report } = this
    if (pass.only && !pass.only.has(rec.offset)) return
    const expired = rec.expireAt !== undefined && rec.expireAt <= pass.now
    if (expired) report.expired++
    // An expired key is not sent; with --replace the target's copy of it goes, as RESTORE ...
    // REPLACE with a past ABSTTL would have it.
    if (expired && !this.replace) return
    const slot = this.routing.slotFor(rec)
    const batch = pipeline.batchFor(slot)
    const label = plan.labels.get(rec.rdbType)
    if (expired) encodeDel(batch, rec)
    else if (label !== undefined) encodeRestore(batch, rec, label, this.replace)
    else {
      if (!pass.only) report.rebuilt++
      const problem = encodeRebuild(batch, rec, this.replace, plan.rebuildOptions)
      if (problem) this.failed(problem, rec.offset)
    }
    if (!pass.only) this.sent++
    pass.wait = pipeline.writtenTo(slot, batch) ?? pass.wait
  }

  /** After a chunk of the file: wait for the nodes, slow down while keys are refused for now, report progress. */
  private async afterChunk(pass: SendPass): Promise<'stop' | void> {
    const { tracker } = this
    if (pass.wait) await pass.wait
    pass.wait = undefined
    if (this.retry.size > pass.refusedSoFar) {
      pass.refusedSoFar = this.retry.size
      pass.pause = Math.min(pass.pause ? pass.pause * 2 : 50, 2000)
      await sleep(pass.pause)
    } else pass.pause = 0
    if (tracker.done < this.sent) tracker.add(this.sent - tracker.done)
    if (pass.now - this.lastEmit > 250) {
      this.lastEmit = pass.now
      this.context.emit(tracker.snapshot())
    }
    if (this.options.signal?.aborted) return 'stop'
    pass.now = this.now()
  }

  private failed(message: string, offset: number): void {
    this.report.failed++
    const text = message.slice(0, 200)
    const e = this.errors.get(text)
    if (e) e.count++
    else this.errors.set(text, { count: 1, example: '', offset })
  }

  private onReply(reply: Reply, tag: Tag): void {
    const verdict = classifyReply(reply)
    if (typeof tag === 'object') return this.blockReply(reply, verdict, tag)
    const offset = tag
    if (offset < 0) {
      if (verdict !== 'ok') {
        throw new OperationError(
          `${offset === -1 ? 'SELECT' : 'DEL'} failed on the target: ${(reply as RespError).message}`,
        )
      }
      return
    }
    // Only a reply that is not an error counts as restored.
    if (verdict === 'ok') {
      this.report.restored++
      return
    }
    const error = reply as RespError
    if (verdict === 'retryable') {
      this.retry.set(offset, error.message)
      return
    }
    if (error.prefix === 'BUSYKEY') {
      this.report.existing++
      return
    }
    this.failed(error.message, offset)
  }

  /** A reply within a key's rebuild block: queued ones note refusals, EXEC settles the key. */
  private blockReply(reply: Reply, verdict: ReturnType<typeof classifyReply>, tag: BlockTag): void {
    const block = tag.block
    if (!tag.exec) {
      if (verdict !== 'ok') block.queueErrors.push(reply as RespError)
      return
    }
    if (Array.isArray(reply)) {
      const bad = reply.find((r) => r instanceof RespError) as RespError | undefined
      if (bad) {
        // Its time came while it was on its way: PEXPIREAT removed the temporary key, so RENAMENX
        // found nothing to move. Gone, as RESTORE ... ABSTTL with a past time leaves it.
        const onlyRename = reply.every((r, i) => !(r instanceof RespError) || i === block.existedAt)
        if (onlyRename && block.expireAt !== undefined && block.expireAt <= this.now()) {
          this.report.restored++
          return
        }
        return this.failed(bad.message, block.offset)
      }
      if (block.existedAt !== undefined && reply[block.existedAt] === block.existedWhen) {
        // RENAMENX found the key there: nothing written (RESTORE's BUSYKEY). EXISTS: merged into it.
        this.report.existing++
        if (block.existedWhen === 1) this.report.restored++
        return
      }
      this.report.restored++
      return
    }
    // Refused as a whole (EXECABORT, or EXEC itself refused): for now when every refusal was.
    const causes = block.queueErrors
    const error = causes.find((e) => classifyReply(e) !== 'retryable') ?? causes[0] ?? (reply as RespError)
    const forNow =
      (verdict === 'retryable' || causes.length > 0) && causes.every((e) => classifyReply(e) === 'retryable')
    if (forNow) this.retry.set(block.offset, error.message)
    else this.failed(error.message, block.offset)
  }
}
