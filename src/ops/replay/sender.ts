import type { ConnectedTarget } from '../../connect/target.js'
import { RoutedPipeline, type CommandBatch } from '../../wire/routed-pipeline.js'
import type { CommandFrame } from '../../data/resp/command-parser.js'
import type { RefusedForNow } from './refused-for-now.js'
import type { Replies } from './replies.js'
import type { LogPosition } from './scan.js'
import type { Block, DbOrigin, Tag } from './tag.js'

/** Writes (of 128 KiB) in flight per node. */
const REPLAY_WINDOW = 16
const SELECT = Buffer.from('SELECT')
const MULTI = Buffer.from('MULTI')

/**
 * The replay's writes: commands queued into the batch of the node their slot lives on, each with
 * the tag its reply is read against, in the db the (standalone) connection is in. A promise only
 * when the node's window is full: waiting for it is the replay's backpressure.
 */
export class Sender {
  readonly cluster: boolean
  readonly pipeline: RoutedPipeline<Tag>
  /** One slot of each primary: where keyless commands go (the first), or all of them. */
  readonly primarySlots: number[]
  /** The db the standalone connection is in, as far as what was queued goes. */
  laneDb = 0
  /** The last command queued: where a stall message says the replay was. */
  lastSent: LogPosition | undefined

  constructor(target: ConnectedTarget, replies: Replies, refused: RefusedForNow) {
    this.cluster = target.topology.mode === 'cluster'
    this.pipeline = new RoutedPipeline<Tag>({
      spec: target.spec,
      topology: target.topology,
      onReply: (reply, tag, batch, index) => replies.onReply(reply, tag, batch, index),
      // Many writes in flight: a server that finds the next commands waiting never idles while
      // this process (or its reply handling) waits for a core.
      window: REPLAY_WINDOW,
      // ... but a log of big values (each write grown to hold one) keeps its memory flat.
      windowBytes: 4 * 1024 * 1024,
      // Successes matter only to spot writes reordered by a retry (see Replies).
      counted: { wantsSuccesses: () => refused.tracking },
    })
    this.primarySlots = this.cluster
      ? target.primaries.filter((p) => p.slots.length).map((p) => p.slots[0][0])
      : [0]
  }

  /** Queue a command; a promise only when the node's window is full (wait for it: backpressure). */
  appendTo(tag: Tag, args?: readonly Buffer[] | CommandFrame): Promise<void> | undefined {
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
    return this.pipeline.writtenTo(tag.slot, batch)
  }

  /**
   * The tag of command `number`, to be appended next to `batch` as the log holds it: the batch's
   * last tag when that is a run (see Tag.run) of the same file and db, or a new run.
   */
  inRun(batch: CommandBatch<Tag>, file: string, offset: number, number: number): Tag {
    const tag = this.runOf(batch, file)
    // The tag's own position is its last command's: where a stall message says the replay was.
    tag.offset = offset
    tag.number = number
    tag.run!.offsets.push(offset)
    tag.run!.numbers.push(number)
    this.lastSent = tag
    return tag
  }

  /** The run the next commands of `file` appended to `batch` as the log holds them join (see inRun). */
  runOf(batch: CommandBatch<Tag>, file: string): Tag {
    const tag = batch.tags[batch.tags.length - 1]
    if (tag?.run && tag.file === file && tag.db === this.laneDb) return tag
    return {
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

  selectTag(db: number, alone: boolean, origin: DbOrigin): Tag {
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
  selectQueued(db: number, origin: LogPosition): void {
    this.appendTo(this.selectTag(db, false, { ...origin, sourceDb: db, viaSelect: true }), selectArgs(db))
    this.laneDb = db
  }

  /** Queue a whole block: MULTI, its commands, EXEC, on one node. */
  appendBlock(block: Block): Promise<void> | undefined {
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
}

export function selectArgs(db: number): Buffer[] {
  return [SELECT, Buffer.from(String(db))]
}
