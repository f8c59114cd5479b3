import type { Deployment } from '../../connect/deployment.js'
import { keySlot, keySlotOf, RoutedPipeline, type CommandBatch } from '../../wire/routed-pipeline.js'
import { errorMessage, OperationError, UsageError } from '../../errors.js'
import type { CommandFrame } from '../../data/resp/command-parser.js'
import { DEFAULT_STALL_TIMEOUT_MS, StallWatch, stallMessage, type Watched } from '../../wire/stall-watch.js'
import type { OperationContext } from '../context.js'
import type { ProgressTracker } from '../progress.js'
import type { CommandTable } from '../../redis/command-table.js'
import { CommandNames, onlyKeyIsFirstArgument, type CommandName } from '../../redis/command-names.js'
import { DEFAULT_RETRY_TIMEOUT_MS, type ReplayOptions } from './options.js'
import { RefusedForNow } from './refused-for-now.js'
import { Replies } from './replies.js'
import { KeySlots, type Routed } from './key-slots.js'
import { rdbTarget } from './rdb-target.js'
import { plural, where, type ReplayReport } from './report.js'
import { datasetWideCommand, formatCounts, parseSelectArg, type LogPosition, type LogScan } from './scan.js'
import {
  itemAt,
  rdbItems,
  replayItems,
  restoreLabelFor,
  type LogFrames,
  type LogRdbEntries,
  type RdbTarget,
  type ReplayInput,
  type ReplayItem,
} from './sources.js'
import { writeRestoreCommand } from '../../data/rdb/restore-command.js'
import type { RdbEntry } from '../../data/rdb/reader.js'
import type { Block, BlockItem, DbOrigin, RetryEntry, Tag } from './tag.js'

/** Writes (of 128 KiB) in flight per node. */
const REPLAY_WINDOW = 16
const RETRY_FIRST_DELAY_MS = 100
const RETRY_MAX_DELAY_MS = 2_000
/** Multi-key commands that keep their meaning when split per slot. */
const SPLITTABLE = new Set(['del', 'unlink', 'exists', 'touch', 'mset'])
/** Keyless commands that act on the whole dataset: sent to every primary. */
const EVERY_PRIMARY = new Set([
  'flushall',
  'flushdb',
  'script|load',
  'script|flush',
  'function|load',
  'function|delete',
  'function|flush',
  'function|restore',
])
const SELECT = Buffer.from('SELECT')
const MULTI = Buffer.from('MULTI')

/** A MULTI seen in the log whose EXEC has not come yet. */
interface OpenBlock {
  items: BlockItem[]
  db: number
  origin: DbOrigin
  at: LogPosition
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms)
    signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true })
  })

/**
 * The send phase of one replay, once planReplay() found nothing to refuse: apply() reads the log and
 * sends it (routed, db-tracked, paced, with backpressure), replies are classified as they come
 * (Replies), commands refused for now are sent again by settle(); finish() closes and completes the
 * report, fail() turns what stopped it into the error the command reports.
 *
 * The hot path (sendLog -> applyItem -> sendCommand -> sendOne -> appendTo) stays synchronous for
 * the common command, which goes as the log's own bytes: a promise only when a node's window is
 * full, the db changes or the keys need the server (movable keys, a split).
 */
export class Replayer {
  private readonly cluster: boolean
  private readonly names: CommandNames
  private readonly pipeline: RoutedPipeline<Tag>
  private readonly primarySlots: number[]
  private readonly tracker: ProgressTracker
  private readonly refused: RefusedForNow
  private readonly replies: Replies
  private readonly keySlots: KeySlots
  private readonly watch: StallWatch
  private readonly retryTimeoutMs: number
  private started = 0
  private lastProgress = 0
  private logDb = 0
  /** The log's db mapped onto the target's (--db-map). */
  private logDbMapped = 0
  /** The db the standalone connection is in, as far as what was queued goes. */
  private laneDb = 0
  /** Target dbs a SELECT was accepted for. */
  private readonly knownDbs = new Set([0])
  private selectedAt: LogPosition = { file: '', offset: 0, number: 0 }
  private number = 0
  private pace: { t0: number; w0: number } | undefined
  private rdbTarget: RdbTarget | undefined
  private multi: OpenBlock | undefined
  private lastSent: LogPosition | undefined
  // A node that owes replies and sends none (hung, paused, partitioned) must not hold the replay forever.
  private stalled: OperationError | undefined
  private stallReject: (err: Error) => void = () => {}
  private readonly stall: Promise<never>

  constructor(
    private readonly input: ReplayInput,
    private readonly target: Deployment,
    private readonly options: ReplayOptions,
    private readonly table: CommandTable,
    private readonly scan: LogScan,
    private readonly report: ReplayReport,
    private readonly context: OperationContext,
  ) {
    this.cluster = target.topology.mode === 'cluster'
    this.retryTimeoutMs = options.retryTimeoutMs ?? DEFAULT_RETRY_TIMEOUT_MS
    this.refused = new RefusedForNow(table, report)
    this.replies = new Replies(report, this.refused, options.stopOnError)
    this.names = new CommandNames(table)
    this.pipeline = new RoutedPipeline<Tag>({
      spec: target.spec,
      topology: target.topology,
      onReply: (reply, tag, batch, index) => this.replies.onReply(reply, tag, batch, index),
      // Many writes in flight: a server that finds the next commands waiting never idles while
      // this process (or its reply handling) waits for a core.
      window: REPLAY_WINDOW,
      // ... but a log of big values (each write grown to hold one) keeps its memory flat.
      windowBytes: 4 * 1024 * 1024,
      // Successes matter only to spot writes reordered by a retry (see Replies).
      counted: { wantsSuccesses: () => this.refused.tracking },
    })
    this.primarySlots = this.cluster
      ? target.primaries.filter((p) => p.slots.length).map((p) => p.slots[0][0])
      : [0]
    this.tracker = context.tracker('replay', 'commands')
    this.stall = new Promise<never>((_, reject) => (this.stallReject = reject))
    this.stall.catch(() => {})
    this.keySlots = new KeySlots(table, target.seed, this.stall, () => this.stalled)
    this.watch = this.watchStalls(options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS)
  }

  /** Send the whole log (up to --until, an interruption or a stop), then finish. */
  async run(): Promise<ReplayReport> {
    this.started = Date.now()
    try {
      await this.apply()
    } catch (err) {
      throw await this.fail(err)
    }
    return this.finish()
  }

  /** The log sent, and everything sent answered (also when --until, Ctrl-C or a stop ended it early). */
  private async apply(): Promise<void> {
    await this.sendLog()
    await this.settle()
  }

  /** Returns at the end of the log, or at the first item not to send. */
  private async sendLog(): Promise<void> {
    const { options, report } = this
    this.rdbTarget = await rdbTarget(this.target, () => report.rebuilt++, this.context.emit)
    for await (const batch of replayItems(this.input, {
      skipTruncatedTail: options.skipTruncatedTail,
      onTruncatedTail: (file, offset) => (report.truncatedTail = { file, offset }),
      rdbTarget: this.rdbTarget,
    })) {
      if (!Array.isArray(batch)) {
        if (batch.kind === 'frames' ? await this.sendFrames(batch) : await this.sendRdb(batch)) return
        continue
      }
      for (const item of batch) {
        if (options.signal?.aborted) {
          report.stoppedAt = { file: item.file, offset: item.offset, reason: 'interrupted' }
          return
        }
        if (this.refused.waiting || this.replies.fatal) await this.settle()
        if (this.replies.stopRequested) return
        if (
          options.untilMs !== undefined &&
          item.timestampMs !== undefined &&
          item.timestampMs > options.untilMs
        ) {
          report.stoppedAt = {
            file: item.file,
            offset: item.offset,
            reason: `--until reached (${new Date(item.timestampMs).toISOString()})`,
          }
          return
        }
        if (options.speed !== 'max' && item.timestampMs !== undefined) {
          const paused = this.keepPace(item.timestampMs, options.speed)
          if (paused) await paused
        }
        const wait = this.applyItem(item)
        if (wait) await wait
      }
    }
  }

  /**
   * Commands in place: those sent as the log holds them (plain, in the connection's db, one key
   * first on a cluster) are appended as they are, with no object of their own; the others go as
   * items. True where the replay stops.
   */
  private async sendFrames(run: LogFrames): Promise<boolean> {
    const { options, report } = this
    const { frames, buf, file } = run
    const untilMs = options.untilMs
    // One timestamp for the whole run: --until and --speed are looked at once.
    if (run.timestampMs !== undefined && frames.count) {
      if (untilMs !== undefined && run.timestampMs > untilMs) {
        report.stoppedAt = {
          file,
          offset: run.base + frames.start[0],
          reason: `--until reached (${new Date(run.timestampMs).toISOString()})`,
        }
        return true
      }
      if (options.speed !== 'max') {
        const paused = this.keepPace(run.timestampMs, options.speed)
        if (paused) await paused
      }
    }
    // What stops or holds the replay (Ctrl-C, a reply) can only change while it awaits.
    let awaited = true
    for (let k = 0; k < frames.count; k++) {
      if (awaited) {
        awaited = false
        if (options.signal?.aborted) {
          report.stoppedAt = { file, offset: run.base + frames.start[k], reason: 'interrupted' }
          return true
        }
        if (this.refused.waiting || this.replies.fatal) await this.settle()
        if (this.replies.stopRequested) return true
      }
      const command = this.names.of(buf, frames.nameStart[k], frames.nameEnd[k])
      const slot = this.slotInPlace(command, run, k)
      const wait = slot < 0 ? this.applyItem(itemAt(run, k)) : this.sendInPlace(run, k, slot)
      if (wait) {
        await wait
        awaited = true
      }
    }
    this.progress()
    return false
  }

  /** The slot frame k goes to as the log holds it, or -1 when it must be looked into (applyItem). */
  private slotInPlace(command: CommandName, run: LogFrames, k: number): number {
    if (!command.plain || command.admin || this.multi) return -1
    if (!this.cluster) return this.logDbMapped === this.laneDb ? 0 : -1
    const { frames } = run
    if (this.logDbMapped !== 0 || !onlyKeyIsFirstArgument(command.spec, frames.argc[k])) return -1
    return keySlotOf(run.buf, frames.arg1Start[k], frames.arg1End[k])
  }

  /** Frame k, appended as it is to its node's batch, in that batch's run (see Tag.run). */
  private sendInPlace(run: LogFrames, k: number, slot: number): Promise<void> | undefined {
    const start = run.frames.start[k]
    const end = run.frames.end[k]
    const batch = this.pipeline.batchFor(slot)
    const tag = this.inRun(batch, run.file, run.base + start, end - start)
    batch.appendRange(run.buf, start, end, tag)
    return this.queued(slot)
  }

  /**
   * RDB entries: RESTOREd in place (the value copied once, from the reader's buffer into the
   * batch), or as items when rebuilt with commands or in a db the connection is not in. True where
   * the replay stops.
   */
  private async sendRdb(part: LogRdbEntries): Promise<boolean> {
    const { options, report } = this
    const { file, header } = part
    for (const rec of part.entries) {
      if (options.signal?.aborted) {
        report.stoppedAt = { file, offset: rec.offset, reason: 'interrupted' }
        return true
      }
      if (this.refused.waiting || this.replies.fatal) await this.settle()
      if (this.replies.stopRequested) return true
      const label = restoreLabelFor(rec, header, this.rdbTarget)
      const slot = label === 'rebuild' || this.multi ? -1 : this.slotOfEntry(rec)
      if (slot < 0) {
        for (const item of rdbItems([rec], file, header, false, this.rdbTarget)) {
          const wait = this.applyItem(item)
          if (wait) await wait
        }
        continue
      }
      const batch = this.pipeline.batchFor(slot)
      const tag = this.inRun(batch, file, rec.offset, rec.size)
      batch.begin()
      writeRestoreCommand(batch, rec, label as number, { replace: true, lruLfu: false })
      batch.end(tag)
      const wait = this.queued(slot)
      if (wait) await wait
    }
    this.progress()
    return false
  }

  /** The slot an entry's RESTORE goes to as it is, or -1 when its db needs a look (applyItem). */
  private slotOfEntry(rec: RdbEntry): number {
    const db = this.options.dbMap.get(rec.db) ?? rec.db
    if (!this.cluster) return db === this.laneDb ? 0 : -1
    if (db !== 0) return -1
    return rec.keyIsPlain ? keySlotOf(rec.buf, rec.keyStart, rec.keyEnd) : keySlot(rec.key)
  }

  /**
   * The next command of `batch` counted, and the run (see Tag.run) it joins: the batch's last tag
   * when that is a run of the same file and db, or a new one.
   */
  private inRun(batch: CommandBatch<Tag>, file: string, offset: number, size: number): Tag {
    const number = ++this.number
    this.tracker.add(1, size)
    this.report.bytes += size
    let tag = batch.tags[batch.tags.length - 1]
    if (!tag?.run || tag.file !== file || tag.db !== this.laneDb) {
      tag = {
        file,
        offset: 0,
        number: 0,
        name: '',
        // On a cluster each command's slot is its first argument's (see commandOfRun).
        slot: this.cluster ? -1 : 0,
        db: this.laneDb,
        start: 0,
        end: 0,
        run: { first: batch.count, offsets: [], numbers: [] },
      }
    }
    // The tag's own position is its last command's: where a stall message says the replay was.
    tag.offset = offset
    tag.number = number
    tag.run!.offsets.push(offset)
    tag.run!.numbers.push(number)
    this.lastSent = tag
    return tag
  }

  /** After a command was queued on `slot`: counted once the node's window took it. */
  private queued(slot: number): Promise<void> | undefined {
    const wait = this.pipeline.written(slot)
    if (wait) return wait.then(() => void this.report.commands++)
    this.report.commands++
  }

  /** --speed: a promise when the item is due later than now. */
  private keepPace(timestampMs: number, speed: number): Promise<void> | undefined {
    this.pace ??= { t0: timestampMs, w0: Date.now() }
    const due = this.pace.w0 + (timestampMs - this.pace.t0) / speed
    if (due - Date.now() > 2) return this.sleepUntil(due)
  }

  private async sleepUntil(due: number): Promise<void> {
    await this.settle()
    const left = due - Date.now()
    if (left > 0) await Promise.race([sleep(left, this.options.signal), this.stall])
  }

  /** One item of the log: tracked (SELECT, MULTI), held (in a block), skipped (admin) or sent. */
  private applyItem(item: ReplayItem): Promise<void> | undefined {
    const report = this.report
    // The further commands of a rebuilt RDB key share its number (the pre-pass counts the key once).
    if (!item.continues) this.number++
    this.tracker.add(1, item.size)
    report.bytes += item.size
    const command = item.frame
      ? this.names.of(item.frame.buf, item.frame.nameStart, item.frame.nameEnd)
      : this.names.of(item.args[0], 0, item.args[0].length)
    const name = command.name
    if (name === 'select') {
      const db = parseSelectArg(item.args[1])
      // The pre-pass refuses it before anything is sent; kept for safety.
      if (db === undefined) throw new UsageError(`invalid SELECT at ${where(item)}`)
      this.logDb = db
      this.logDbMapped = this.options.dbMap.get(db) ?? db
      this.selectedAt = { file: item.file, offset: item.offset, number: this.number }
      return
    }
    const sourceDb = item.db ?? this.logDb
    const db = this.mapDb(sourceDb, item)
    if (this.multi) {
      if (name === 'exec') return this.sendBlock(item, this.multi)
      if (name === 'discard') {
        this.multi = undefined
      } else {
        const args = name === 'swapdb' ? this.mapSwapdb(item.args) : item.args
        this.multi.items.push({ file: item.file, offset: item.offset, number: this.number, args, name })
      }
      return
    }
    if (name === 'multi') {
      this.multi = {
        items: [],
        db,
        origin: this.dbOrigin(item, sourceDb),
        at: { file: item.file, offset: item.offset, number: this.number },
      }
      return
    }
    if (command.admin) {
      report.skippedAdmin++
      return
    }
    if (!this.cluster && db !== this.laneDb)
      return this.sendInDb(item, command, db, this.dbOrigin(item, sourceDb))
    return this.sendCommand(item, command, db)
  }

  private async sendInDb(
    item: ReplayItem,
    command: CommandName,
    db: number,
    origin: DbOrigin,
  ): Promise<void> {
    await this.selectDb(db, origin)
    const wait = this.sendCommand(item, command, db)
    if (wait) await wait
  }

  /** A command outside a block, counted once the node's window took it. */
  private sendCommand(item: ReplayItem, command: CommandName, db: number): Promise<void> | undefined {
    if (this.scan.datasetWideTotal && !command.plain) {
      this.countDatasetWide(item.args)
      if (command.name === 'swapdb') item.args = this.mapSwapdb(item.args)
    }
    const wait = this.sendOne(item, command, db)
    if (wait) return wait.then(() => this.sent())
    this.sent()
  }

  private sent(): void {
    this.report.commands++
    this.progress()
  }

  /** A progress event, at most every half second. */
  private progress(): void {
    const report = this.report
    if (Date.now() - this.lastProgress > 500) {
      this.lastProgress = Date.now()
      const totalBytes = this.input.totalBytes
      const rateBytes = report.bytes / Math.max(0.001, (Date.now() - this.started) / 1000)
      this.context.emit({
        ...this.tracker.snapshot(),
        total: undefined,
        etaSeconds: rateBytes > 0 ? Math.round((totalBytes - report.bytes) / rateBytes) : undefined,
        detail: `${Math.round((100 * report.bytes) / Math.max(1, totalBytes))}% of ${totalBytes} bytes`,
      })
    }
  }

  /** The EXEC of a block: the whole block goes, in its db, on one node. */
  private async sendBlock(exec: ReplayItem, block: OpenBlock): Promise<void> {
    await this.selectDb(block.db, block.origin)
    if (this.scan.datasetWideTotal) for (const i of block.items) this.countDatasetWide(i.args)
    await this.sendMulti(
      block.items,
      { file: exec.file, offset: exec.offset, number: this.number, args: exec.args },
      block.at,
      block.db,
    )
    this.report.commands += block.items.length + 2
    this.multi = undefined
  }

  /** The report completed, once everything sent was answered. */
  private async finish(): Promise<ReplayReport> {
    const report = this.report
    this.watch.stop()
    await this.pipeline.close()
    report.seconds = (Date.now() - this.started) / 1000
    report.commandsPerSecond =
      report.seconds > 0 ? Math.round(report.commands / report.seconds) : report.commands
    if (this.replies.stopRequested) report.stoppedAt = this.replies.stopRequested
    this.context.emit({ ...this.tracker.snapshot(), total: undefined })
    return report
  }

  /** What stopped the replay, as the error to report, once the pipeline is closed. */
  private async fail(err: unknown): Promise<Error> {
    this.watch.stop()
    const cause = this.stalled ?? err
    const commands = () => plural(this.report.commands, 'command')
    if (cause instanceof UsageError) {
      // A command the target cannot take as it is: what came before it is applied, then the
      // problem is reported.
      await this.settle().catch(() => {})
      await this.pipeline.close()
      return new UsageError(cause.message, {
        code: cause.code,
        hint: `${cause.hint ?? ''} ${commands()} before it were replayed.`.trim(),
      })
    }
    // A refused SELECT, a stalled node, retries given up, a lost connection: nothing more is sent.
    this.pipeline.abort(cause instanceof Error ? cause : new Error(String(cause)))
    await this.pipeline.close()
    return cause instanceof OperationError
      ? cause
      : new OperationError(`replay failed after ${commands()}: ${errorMessage(cause)}`, { cause })
  }

  private watchStalls(timeoutMs: number): StallWatch {
    const seedAddress = `${String(this.target.seed.options.host)}:${this.target.seed.options.port}`
    const watch = new StallWatch({
      timeoutMs,
      onStall: (silent) => {
        const last = this.lastSent
        const after = last ? ` after command #${last.number} (${where(last)})` : ''
        this.stalled = new OperationError(
          `${stallMessage(silent, 'target')} (--stall-timeout): the replay stopped${after}`,
          {
            code: 'stalled',
            hint: `Commands sent to it since its last reply may or may not have been applied. Check the node (hung, paused, cut off); if it is only slow, raise --stall-timeout (0 waits forever). ${plural(this.report.commands, 'command')} were sent.`,
          },
        )
        this.pipeline.abort(this.stalled)
        this.stallReject(this.stalled)
        return this.stalled
      },
    })
    watch.addSource(() => {
      const silent: Watched[] = []
      const worst = this.pipeline.silentest()
      if (worst)
        silent.push({
          address: worst.address,
          target: { silentForMs: worst.ms, abort: (err) => this.pipeline.abort(err) },
        })
      if (this.keySlots.seedWaitingSince)
        silent.push({
          address: seedAddress,
          target: { silentForMs: Date.now() - this.keySlots.seedWaitingSince },
        })
      return silent
    })
    return watch
  }

  // Sending.

  /** Queue a command; a promise only when the node's window is full (wait for it: backpressure). */
  private appendTo(tag: Tag, args?: readonly Buffer[] | CommandFrame): Promise<void> | undefined {
    const batch: CommandBatch<Tag> = this.pipeline.batchFor(tag.slot)
    tag.start = batch.used
    if (args && !Array.isArray(args)) {
      // The log's own bytes, as they are: nothing to encode again.
      const frame = args as CommandFrame
      batch.appendRange(frame.buf, frame.start, frame.end, tag)
    } else if (args) {
      // Log arguments are all bytes: no per-argument type checks.
      batch.bytesCommand(args as readonly Buffer[])
      batch.end(tag)
    } else {
      batch.append(tag.bytes!, tag)
    }
    tag.end = batch.used
    tag.batch = batch
    this.lastSent = tag
    return this.pipeline.written(tag.slot)
  }

  /** Everything queued is answered, and everything refused for now retried (or given up: stop). */
  private async settle(): Promise<void> {
    if (this.replies.fatal) throw this.replies.fatal
    await this.pipeline.flush()
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
      if (attempt === 1)
        this.context.warn(
          `the target refused ${plural(entries.length, 'command')} for now (${formatCounts(kinds)}: ${entries[0].err.message}); retrying for up to ${Math.round(retryTimeoutMs / 1000)} s`,
        )
      this.context.emit({
        ...this.tracker.snapshot(
          `retrying ${plural(entries.length, 'command')} refused for now (${formatCounts(kinds)}), attempt ${attempt}, ${Math.round(waited / 1000)} s so far`,
        ),
        total: undefined,
      })
      await Promise.race([sleep(delay, options.signal), this.stall])
      this.refused.forgetFailedSlots()
      for (const e of entries) {
        const wait = e.block ? this.appendBlock(e.block) : this.resend(e.tag!)
        if (wait) await wait
      }
      await this.pipeline.flush()
    }
    this.refused.forgetFailedSlots()
    if (attempt)
      this.context.emit({
        ...this.tracker.snapshot(`applied after ${plural(attempt, 'retry', 'retries')}`),
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
    if (tag.select) {
      this.laneDb = tag.select.db
      return this.appendTo(tag)
    }
    if (!this.cluster && tag.db !== this.laneDb) this.selectQueued(tag.db, tag)
    return this.appendTo(tag)
  }

  // Dbs.

  private selectTag(db: number, alone: boolean, origin: DbOrigin): Tag {
    return {
      file: origin.file,
      offset: origin.offset,
      number: origin.number,
      name: 'select',
      slot: 0,
      start: 0,
      end: 0,
      db,
      select: { db, alone, origin },
    }
  }

  /** SELECT a db accepted before, queued without waiting for its reply. */
  private selectQueued(db: number, origin: LogPosition): void {
    this.appendTo(this.selectTag(db, false, { ...origin, sourceDb: db, viaSelect: true }), selectArgs(db))
    this.laneDb = db
  }

  private mapDb(db: number, item: ReplayItem): number {
    const mapped = this.options.dbMap.get(db) ?? db
    if (this.cluster && mapped !== 0) {
      // The pre-pass refuses this before anything is sent; kept for safety.
      throw new UsageError(`the command at ${where(item)} is in db ${db}, and a cluster holds only db 0`, {
        code: 'db-not-allowed',
        hint: `Map it with --db-map ${db}:0 (keys from several dbs may then collide).`,
      })
    }
    return mapped
  }

  /**
   * Point the standalone connection at `db`. The first SELECT of a db is sent alone and its reply
   * awaited: if the target refuses it, nothing meant for that db is sent anywhere.
   */
  private async selectDb(db: number, origin: DbOrigin): Promise<void> {
    if (this.cluster || db === this.laneDb) return
    if (this.knownDbs.has(db)) {
      const wait = this.appendTo(this.selectTag(db, false, origin), selectArgs(db))
      this.laneDb = db
      if (wait) await wait
      return
    }
    await this.settle()
    this.appendTo(this.selectTag(db, true, origin), selectArgs(db))
    this.laneDb = db
    await this.settle()
    this.knownDbs.add(db)
  }

  /** Where the db of the current command was chosen: the log's last SELECT, or the command itself. */
  private dbOrigin(item: ReplayItem, sourceDb: number): DbOrigin {
    return item.db === undefined && this.selectedAt.number > 0
      ? { ...this.selectedAt, sourceDb, viaSelect: true }
      : { file: item.file, offset: item.offset, number: this.number, sourceDb, viaSelect: false }
  }

  private countDatasetWide(args: Buffer[]): void {
    const found = datasetWideCommand(args)
    if (!found) return
    const counts = this.report.datasetWide
    counts.total++
    counts.byCommand[found] = (counts.byCommand[found] ?? 0) + 1
  }

  /** SWAPDB's two dbs go through the db map like SELECT's. */
  private mapSwapdb(args: Buffer[]): Buffer[] {
    const dbMap = this.options.dbMap
    if (!dbMap.size || args.length !== 3) return args
    const map = (a: Buffer) => {
      const db = parseSelectArg(a)
      return db === undefined ? a : Buffer.from(String(dbMap.get(db) ?? db))
    }
    return [args[0], map(args[1]), map(args[2])]
  }

  // Routing.

  /** One command: queued at once on a standalone server, or when its keys are in one slot (the common case). */
  private sendOne(item: ReplayItem, command: CommandName, db: number): Promise<void> | undefined {
    const name = command.name
    // Sent as the log holds it unless something in it is rewritten (only non-plain commands are).
    const frame = command.plain ? item.frame : undefined
    const tag: Tag = {
      file: item.file,
      offset: item.offset,
      number: this.number,
      name,
      slot: 0,
      db,
      batch: undefined,
      start: 0,
      end: 0,
    }
    if (!this.cluster) return this.appendTo(tag, frame ?? item.args)
    if (frame && onlyKeyIsFirstArgument(command.spec, frame.argc)) {
      tag.slot = keySlotOf(frame.buf, frame.arg1Start, frame.arg1End)
      return this.appendTo(tag, frame)
    }
    const args = item.args
    const { spec } = this.table.lookup(args, name)
    // One key at a fixed place (GET, SET, HSET, INCR ...): its slot, nothing allocated.
    if (spec && !spec.movable && spec.first > 0 && spec.last === spec.first && spec.first < args.length) {
      tag.slot = keySlot(args[spec.first])
      return this.appendTo(tag, args)
    }
    const routed = this.keySlots.of(args, tag, name)
    if (routed !== 'unknown' && !(routed instanceof Promise) && routed.slots.size === 1) {
      tag.slot = routed.slots.values().next().value!
      return this.appendTo(tag, args)
    }
    return this.sendRouted(tag, args, routed)
  }

  private async sendRouted(tag: Tag, args: Buffer[], pending: Routed | Promise<Routed>): Promise<void> {
    const name = tag.name
    const routed = await pending
    if (routed === 'unknown') {
      // The target does not know it: send it anyway so that the error is the server's own.
      tag.slot = this.primarySlots[0]
      await this.appendTo(tag, args)
      return
    }
    if (routed.slots.size === 0) {
      const full = args.length > 1 ? `${name}|${args[1].toString('latin1').toLowerCase()}` : name
      if (EVERY_PRIMARY.has(name) || EVERY_PRIMARY.has(full)) {
        await this.settle()
        for (const slot of this.primarySlots) await this.appendTo({ ...tag, slot }, args)
        await this.settle()
        this.report.broadcast++
        return
      }
      tag.slot = this.primarySlots[0]
      await this.appendTo(tag, args)
      return
    }
    if (routed.slots.size === 1) {
      tag.slot = routed.slots.values().next().value!
      await this.appendTo(tag, args)
      return
    }
    if (!SPLITTABLE.has(name) || routed.keys.length === 0) {
      throw new UsageError(
        `the command ${name.toUpperCase()} at ${where(tag)} has keys in different slots, which a cluster cannot run`,
        {
          code: 'cross-slot',
          hint: 'Replay it into a standalone server, or rewrite the keys with a common {hash tag}.',
        },
      )
    }
    // Split per slot: DEL/UNLINK/EXISTS/TOUCH take keys; MSET takes key-value pairs.
    const groups = new Map<number, Buffer[]>()
    const pairs = name === 'mset'
    for (const i of routed.keys) {
      const slot = keySlot(args[i])
      const group = groups.get(slot) ?? [args[0]]
      group.push(args[i])
      if (pairs) group.push(args[i + 1])
      groups.set(slot, group)
    }
    this.report.split++
    for (const [slot, group] of groups) await this.appendTo({ ...tag, slot }, group)
  }

  /** Queue a whole block: MULTI, its commands, EXEC, on one node. */
  private appendBlock(block: Block): Promise<void> | undefined {
    block.queueErrors = []
    if (!this.cluster && block.db !== this.laneDb) this.selectQueued(block.db, block.multi)
    const part = (at: LogPosition, name: string, index: number): Tag => ({
      file: at.file,
      offset: at.offset,
      number: at.number,
      name,
      slot: block.slot,
      start: 0,
      end: 0,
      db: block.db,
      block,
      index,
    })
    this.appendTo(part(block.multi, 'multi', -1), [MULTI])
    block.items.forEach((item, index) => this.appendTo(part(item, item.name, index), item.args))
    return this.appendTo(part(block.exec, 'exec', -1), block.exec.args)
  }

  private async sendMulti(
    items: BlockItem[],
    exec: LogPosition & { args: Buffer[] },
    at: LogPosition,
    db: number,
  ): Promise<void> {
    const slots = new Set<number>()
    if (this.cluster)
      for (const item of items) {
        const routed = await this.keySlots.of(item.args, item)
        if (routed !== 'unknown') for (const s of routed.slots) slots.add(s)
      }
    if (this.cluster && slots.size > 1) {
      throw new UsageError(
        `the MULTI block at ${where(items[0] ?? exec)} touches keys in ${slots.size} slots; a cluster runs a transaction on one slot only`,
        {
          code: 'cross-slot',
          hint: 'Replay into a standalone server, or give the keys a common {hash tag}.',
        },
      )
    }
    const slot = slots.size ? [...slots][0] : this.primarySlots[0]
    const wait = this.appendBlock({ slot, db, items, multi: at, exec, queueErrors: [] })
    if (wait) await wait
  }
}

function selectArgs(db: number): Buffer[] {
  return [SELECT, Buffer.from(String(db))]
}
