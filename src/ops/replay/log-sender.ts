import type { SeededTarget } from '../../connect/target.js'
import { keySlot, keySlotOf, type CommandBatch } from '../../wire/routed-pipeline.js'
import type { OperationContext } from '../context.js'
import type { ProgressTracker } from '../progress.js'
import type { CommandTable } from '../../redis/command-table.js'
import { CommandNames, onlyKeyIsFirstArgument, type CommandName } from '../../redis/command-names.js'
import type { LogDbs } from './dbs.js'
import type { ReplayOptions } from './options.js'
import type { RefusedForNow } from './refused-for-now.js'
import type { Replies } from './replies.js'
import { rdbTarget, type RdbTarget } from './rdb-target.js'
import type { ReplayReport } from './report.js'
import type { Retries } from './retries.js'
import type { Router } from './router.js'
import { datasetWideCommand, type LogPosition, type LogScan } from './scan.js'
import type { Sender } from './sender.js'
import {
  itemAt,
  replayItems,
  type LogFrames,
  type LogRdbEntries,
  type ReplayInput,
  type ReplayItem,
} from './sources.js'
import { rdbItems, restoreLabelFor } from './rdb-items.js'
import { Pace } from './pace.js'
import type { ReplayStalls } from './stalls.js'
import { ReplayProgress } from './replay-progress.js'
import { writeRestoreCommand } from '../../data/rdb/restore-command.js'
import type { RdbEntry } from '../../data/rdb/reader.js'
import type { BlockItem, DbOrigin, Tag } from './tag.js'

/**
 * The most bytes of the log's commands appended to a standalone server's batch in one copy: with
 * the batch's own limit (128 KiB, then it is written), it stays within its first allocation.
 */
const SPAN_BYTES = 64 * 1024

/** A MULTI seen in the log whose EXEC has not come yet. */
interface OpenBlock {
  items: BlockItem[]
  db: number
  origin: DbOrigin
  at: LogPosition
}

/** What a LogSender works with: the replay's parts. */
export interface ReplayParts {
  input: ReplayInput
  target: SeededTarget
  options: ReplayOptions
  table: CommandTable
  scan: LogScan
  report: ReplayReport
  context: OperationContext
  tracker: ProgressTracker
  sender: Sender
  retries: Retries
  dbs: LogDbs
  router: Router
  refused: RefusedForNow
  replies: Replies
  stalls: ReplayStalls
}

/**
 * The log read and sent, command by command: counted, tracked (SELECT, MULTI), held (in a block),
 * skipped (admin), paced by recorded time (--speed), stopped (--until, Ctrl-C, a stop requested by
 * a reply) or sent.
 *
 * The hot path (sendFrames -> sendInPlace; applyItem -> sendCommand -> Router.sendOne ->
 * Sender.appendTo) stays synchronous for the common command, which goes as the log's own bytes: a
 * promise only when a node's window is full, the db changes or the keys need the server (movable
 * keys, a split).
 */
export class LogSender {
  readonly progress: ReplayProgress
  private readonly names: CommandNames
  private readonly cluster: boolean
  /** The number of the last command read (1 for the first). */
  private number = 0
  private readonly pace: Pace
  private rdbTarget: RdbTarget | undefined
  private multi: OpenBlock | undefined

  constructor(private readonly parts: ReplayParts) {
    this.names = new CommandNames(parts.table)
    this.cluster = parts.sender.cluster
    this.pace = new Pace(parts.retries, parts.stalls, parts.options.signal)
    this.progress = new ReplayProgress(parts.input, parts.report, parts.tracker, parts.context)
  }

  /** Returns at the end of the log, or at the first item not to send. */
  async sendLog(): Promise<void> {
    const { options, report, retries, replies, refused } = this.parts
    this.progress.start()
    this.rdbTarget = await rdbTarget(this.parts.target, () => report.rebuilt++, this.parts.context.emit)
    for await (const batch of replayItems(this.parts.input, {
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
        if (refused.waiting || replies.fatal) await retries.settle()
        if (replies.stopRequested) return
        if (this.pastUntil(item, item.timestampMs)) return
        if (options.speed !== 'max' && item.timestampMs !== undefined) {
          const paused = this.pace.keep(item.timestampMs, options.speed)
          if (paused) await paused
        }
        const wait = this.applyItem(item)
        if (wait) await wait
      }
    }
  }

  /** --until: true (and the stop noted) when a command recorded at `timestampMs` is past it. */
  private pastUntil(at: { file: string; offset: number }, timestampMs: number | undefined): boolean {
    const untilMs = this.parts.options.untilMs
    if (untilMs === undefined || timestampMs === undefined || timestampMs <= untilMs) return false
    this.parts.report.stoppedAt = {
      file: at.file,
      offset: at.offset,
      reason: `--until reached (${new Date(timestampMs).toISOString()})`,
    }
    return true
  }

  /**
   * Commands in place: those sent as the log holds them (plain, in the connection's db, one key
   * first on a cluster) are appended as they are, with no object of their own; the others go as
   * items. True where the replay stops.
   */
  private async sendFrames(run: LogFrames): Promise<boolean> {
    const { options, report, retries, replies, refused } = this.parts
    const { frames, buf, file } = run
    // One timestamp for the whole run: --until and --speed are looked at once.
    if (run.timestampMs !== undefined && frames.count) {
      if (this.pastUntil({ file, offset: run.base + frames.start[0] }, run.timestampMs)) return true
      if (options.speed !== 'max') {
        const paused = this.pace.keep(run.timestampMs, options.speed)
        if (paused) await paused
      }
    }
    // What stops or holds the replay (Ctrl-C, a reply) can only change while it awaits.
    let awaited = true
    for (let k = 0; k < frames.count;) {
      if (awaited) {
        awaited = false
        if (options.signal?.aborted) {
          report.stoppedAt = { file, offset: run.base + frames.start[k], reason: 'interrupted' }
          return true
        }
        if (refused.waiting || replies.fatal) await retries.settle()
        if (replies.stopRequested) return true
      }
      let wait: Promise<void> | undefined
      const spanEnd = this.cluster ? k : this.spanInPlace(run, k)
      if (spanEnd > k) {
        wait = this.sendSpan(run, k, spanEnd)
        k = spanEnd
      } else {
        const command = this.names.of(buf, frames.nameStart[k], frames.nameEnd[k])
        const slot = this.slotInPlace(command, run, k)
        wait = slot < 0 ? this.applyItem(itemAt(run, k)) : this.sendInPlace(run, k, slot)
        k++
      }
      if (wait) {
        await wait
        awaited = true
      }
    }
    this.progress.tick()
    return false
  }

  /** The slot frame k goes to as the log holds it, or -1 when it must be looked into (applyItem). */
  private slotInPlace(command: CommandName, run: LogFrames, k: number): number {
    if (!command.plain || command.admin || this.multi) return -1
    const { dbs, sender } = this.parts
    if (!this.cluster) return dbs.logDbMapped === sender.laneDb ? 0 : -1
    const { frames } = run
    if (dbs.logDbMapped !== 0 || !onlyKeyIsFirstArgument(command.spec, frames.argc[k])) return -1
    return keySlotOf(run.buf, frames.arg1Start[k], frames.arg1End[k])
  }

  /**
   * On a standalone server: the end of the span of frames from k on that go as the log holds them
   * (plain, not admin, outside MULTI, in the connection's db), up to SPAN_BYTES; k when there is none.
   */
  private spanInPlace(run: LogFrames, k: number): number {
    if (this.multi || this.parts.dbs.logDbMapped !== this.parts.sender.laneDb) return k
    const { frames, buf } = run
    const limit = frames.start[k] + SPAN_BYTES
    let j = k
    while (j < frames.count && frames.start[j] < limit) {
      const command = this.names.of(buf, frames.nameStart[j], frames.nameEnd[j])
      if (!command.plain || command.admin) break
      j++
    }
    return j
  }

  /**
   * Frames k to end (excluded), a span of spanInPlace, appended as they are to the batch in one
   * copy, in that batch's run (see Tag.run); counted once the window took them.
   */
  private sendSpan(run: LogFrames, k: number, end: number): Promise<void> | undefined {
    const { sender, tracker, report } = this.parts
    const { start } = run.frames
    const batch = sender.pipeline.batchFor(0)
    const tag = sender.runOf(batch, run.file)
    const { offsets, numbers } = tag.run!
    for (let i = k; i < end; i++) {
      offsets.push(run.base + start[i])
      numbers.push(++this.number)
    }
    // The tag's own position is its last command's: where a stall message says the replay was.
    tag.offset = offsets[offsets.length - 1]
    tag.number = this.number
    sender.lastSent = tag
    const last = run.frames.end[end - 1]
    batch.appendRun(run.buf, start, k, end, last, tag)
    const count = end - k
    tracker.add(count, last - start[k])
    report.bytes += last - start[k]
    const wait = sender.pipeline.writtenTo(0, batch)
    if (wait) return wait.then(() => void (report.commands += count))
    report.commands += count
  }

  /** Frame k, appended as it is to its node's batch, in that batch's run (see Tag.run). */
  private sendInPlace(run: LogFrames, k: number, slot: number): Promise<void> | undefined {
    const start = run.frames.start[k]
    const end = run.frames.end[k]
    const batch = this.parts.sender.pipeline.batchFor(slot)
    const tag = this.parts.sender.inRun(batch, run.file, run.base + start, this.counted(end - start))
    batch.appendRange(run.buf, start, end, tag)
    return this.queued(slot, batch)
  }

  /**
   * RDB entries: RESTOREd in place (the value copied once, from the reader's buffer into the
   * batch), or as items when rebuilt with commands or in a db the connection is not in. True where
   * the replay stops.
   */
  private async sendRdb(part: LogRdbEntries): Promise<boolean> {
    const { options, report, retries, replies, refused, sender } = this.parts
    const { file, header } = part
    for (const rec of part.entries) {
      if (options.signal?.aborted) {
        report.stoppedAt = { file, offset: rec.offset, reason: 'interrupted' }
        return true
      }
      if (refused.waiting || replies.fatal) await retries.settle()
      if (replies.stopRequested) return true
      const label = restoreLabelFor(rec, header, this.rdbTarget)
      const slot = label === 'rebuild' || this.multi ? -1 : this.slotOfEntry(rec)
      if (slot < 0) {
        for (const item of rdbItems([rec], file, header, false, this.rdbTarget)) {
          const wait = this.applyItem(item)
          if (wait) await wait
        }
        continue
      }
      const batch = sender.pipeline.batchFor(slot)
      const tag = sender.inRun(batch, file, rec.offset, this.counted(rec.size))
      batch.begin()
      writeRestoreCommand(batch, rec, label as number, { replace: true, lruLfu: false })
      batch.end(tag)
      const wait = this.queued(slot, batch)
      if (wait) await wait
    }
    this.progress.tick()
    return false
  }

  /** The slot an entry's RESTORE goes to as it is, or -1 when its db needs a look (applyItem). */
  private slotOfEntry(rec: RdbEntry): number {
    const db = this.parts.options.dbMap.get(rec.db) ?? rec.db
    if (!this.cluster) return db === this.parts.sender.laneDb ? 0 : -1
    if (db !== 0) return -1
    return rec.keyIsPlain ? keySlotOf(rec.buf, rec.keyStart, rec.keyEnd) : keySlot(rec.key)
  }

  /** The next command, of `size` bytes, counted: its number. */
  private counted(size: number): number {
    this.parts.tracker.add(1, size)
    this.parts.report.bytes += size
    return ++this.number
  }

  /** After a command was queued on `slot`, in `batch`: counted once the node's window took it. */
  private queued(slot: number, batch: CommandBatch<Tag>): Promise<void> | undefined {
    const { sender, report } = this.parts
    const wait = sender.pipeline.writtenTo(slot, batch)
    if (wait) return wait.then(() => void report.commands++)
    report.commands++
  }

  /** One item of the log: tracked (SELECT, MULTI), held (in a block), skipped (admin) or sent. */
  private applyItem(item: ReplayItem): Promise<void> | undefined {
    const { report, tracker, dbs } = this.parts
    // The further commands of a rebuilt RDB key share its number (the pre-pass counts the key once).
    if (!item.continues) this.number++
    tracker.add(1, item.size)
    report.bytes += item.size
    const command = item.frame
      ? this.names.of(item.frame.buf, item.frame.nameStart, item.frame.nameEnd)
      : this.names.of(item.args[0], 0, item.args[0].length)
    const name = command.name
    if (name === 'select') {
      dbs.selected(item, this.number)
      return
    }
    const sourceDb = item.db ?? dbs.logDb
    const db = dbs.mapDb(sourceDb, item)
    if (this.multi) return this.holdInBlock(item, name, this.multi)
    if (name === 'multi') {
      this.multi = {
        items: [],
        db,
        origin: dbs.origin(item, sourceDb, this.number),
        at: { file: item.file, offset: item.offset, number: this.number },
      }
      return
    }
    if (command.admin) {
      report.skippedAdmin++
      return
    }
    if (!this.cluster && db !== this.parts.sender.laneDb)
      return this.sendInDb(item, command, db, dbs.origin(item, sourceDb, this.number))
    return this.sendCommand(item, command, db)
  }

  /** A command inside MULTI: held until EXEC sends the block (or DISCARD drops it). */
  private holdInBlock(item: ReplayItem, name: string, block: OpenBlock): Promise<void> | undefined {
    if (name === 'exec') return this.sendBlock(item, block)
    if (name === 'discard') {
      this.multi = undefined
      return
    }
    const args = name === 'swapdb' ? this.parts.dbs.mapSwapdb(item.args) : item.args
    block.items.push({ file: item.file, offset: item.offset, number: this.number, args, name })
  }

  private async sendInDb(
    item: ReplayItem,
    command: CommandName,
    db: number,
    origin: DbOrigin,
  ): Promise<void> {
    await this.parts.dbs.selectDb(db, origin)
    const wait = this.sendCommand(item, command, db)
    if (wait) await wait
  }

  /** A command outside a block, counted once the node's window took it. */
  private sendCommand(item: ReplayItem, command: CommandName, db: number): Promise<void> | undefined {
    if (this.parts.scan.datasetWideTotal && !command.plain) {
      this.countDatasetWide(item.args)
      if (command.name === 'swapdb') item.args = this.parts.dbs.mapSwapdb(item.args)
    }
    const wait = this.parts.router.sendOne(item, command, db, this.number)
    if (wait) return wait.then(() => this.sent())
    this.sent()
  }

  private sent(): void {
    this.parts.report.commands++
    this.progress.tick()
  }

  /** The EXEC of a block: the whole block goes, in its db, on one node. */
  private async sendBlock(exec: ReplayItem, block: OpenBlock): Promise<void> {
    await this.parts.dbs.selectDb(block.db, block.origin)
    if (this.parts.scan.datasetWideTotal) for (const i of block.items) this.countDatasetWide(i.args)
    await this.parts.router.sendMulti(
      block.items,
      { file: exec.file, offset: exec.offset, number: this.number, args: exec.args },
      block.at,
      block.db,
    )
    this.parts.report.commands += block.items.length + 2
    this.multi = undefined
  }

  private countDatasetWide(args: Buffer[]): void {
    const found = datasetWideCommand(args)
    if (!found) return
    const counts = this.parts.report.datasetWide
    counts.total++
    counts.byCommand[found] = (counts.byCommand[found] ?? 0) + 1
  }
}
