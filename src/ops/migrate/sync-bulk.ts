import { RdbEntry, RdbReader, type RdbRecord } from '../../data/rdb/reader.js'
import { checkEofMark, type SyncStream } from '../../data/replication/sync-stream.js'
import { errorMessage, KvtopError, OperationError } from '../../errors.js'
import { writeRestoreCommand } from '../../data/rdb/restore-command.js'
import { keySlot, keySlotOf } from '../../wire/routed-pipeline.js'
import { acknowledged, type NodeCopier, type Page, type TargetWriter, type WriteTag } from './copier.js'
import type { NodeCheckpoint, SlotRange } from './types.js'

/** One source db of a shard read from its replication snapshot: where its keys go, what counts them. */
export interface SyncLane {
  /**
   * Owner of the db's writes: a write refused for now is read again from the source with DUMP (a
   * value at least as new as the snapshot's) and written again; one refused for good stops the run.
   */
  copier: NodeCopier
  writer: TargetWriter
  state: NodeCheckpoint
  onProgress: (keys: number, bytes: number) => void
}

interface SyncBulkOptions {
  stream: SyncStream
  /** By source db; keys of another db (one created after the copy started) are not copied. */
  lanes: Map<number, SyncLane>
  slots?: SlotRange
  signal: AbortSignal
  onWarning: (message: string) => void
}

/**
 * The bulk copy of one source shard from its replication snapshot (SYNC): every key of the RDB as
 * RESTORE ... REPLACE [ABSTTL] through the same writers as the scan path; a key already expired
 * when read is skipped (counted as vanished, as the scan path counts a key gone). A stream cannot
 * be resumed midway, so the shard's checkpoint entries are only marked done, with their counts,
 * once every write of the shard is acknowledged; until then they say "from the start".
 * Returns false when stopped (Ctrl-C) before the end.
 */
export async function copyFromSync(o: SyncBulkOptions): Promise<boolean> {
  const runs = new Map<number, LaneRun>()
  for (const [db, lane] of o.lanes) {
    Object.assign(lane.state, { cursor: '0', done: false, keys: 0, bytes: 0, vanished: 0 })
    const page: Page = {
      cursorAfter: '0',
      pending: 0,
      retrying: 0,
      sealed: false,
      keys: 0,
      bytes: 0,
      onAcked() {},
    }
    runs.set(db, { lane, page, tag: { page, owner: lane.copier }, keys: 0, bytes: 0 })
  }
  try {
    await new SnapshotWriter(o, runs).run()
  } catch (err) {
    if (o.signal.aborted) return false
    throw err
  } finally {
    o.stream.close()
  }
  // No wait for room here: settleRetries waits for every reply next.
  for (const lane of o.lanes.values()) void lane.writer.pipeline.sendQueued()
  for (const lane of o.lanes.values()) await lane.copier.settleRetries()
  if (o.signal.aborted) return false
  for (const [db, { lane, page }] of runs) {
    page.sealed = true
    if (!acknowledged(page))
      throw new OperationError(`writes from ${o.stream.node} (db ${db}) were not all acknowledged`, {
        resumable: true,
      })
    Object.assign(lane.state, { keys: page.keys, bytes: page.bytes, done: true })
  }
  return true
}

/** A db's lane during the copy: the page holding its writes until acknowledged, progress not yet reported. */
interface LaneRun {
  lane: SyncLane
  page: Page
  /**
   * Every write of the db carries this one tag, without its key: a key the target does not
   * acknowledge is read back from the write (RESTORE key ...), as the reader's bytes are gone by then.
   */
  tag: WriteTag
  keys: number
  bytes: number
}

/** The records of one stream written to the target as they are parsed. */
class SnapshotWriter {
  private label = 0
  private readonly unknownDbs = new Set<number>()
  /** ms since the epoch, taken once per chunk: a key expired by then is not copied. */
  private now = Date.now()
  /**
   * Target nodes whose window of writes filled during this chunk, waited for before the next chunk
   * is read: a full window holds the copy back by a chunk at most.
   */
  private waits: Promise<void>[] = []
  /** What the writing threw, through the reader: the target's (or the data's) fault, not the read's. */
  private writeFailure: unknown

  constructor(
    private readonly o: SyncBulkOptions,
    private readonly runs: Map<number, LaneRun>,
  ) {}

  async run(): Promise<void> {
    const { stream } = this.o
    const reader = new RdbReader(stream.chunks, {
      // An entry's bytes are copied into a target's batch as soon as it is parsed: the stream's
      // chunks can go into two buffers used in turn (no fresh pages to fault in per chunk).
      reuseBuffers: true,
      leaveSourceOpen: stream.format === 'eof',
      ...(stream.format === 'length' ? { size: stream.length } : {}),
    })
    await this.read(() =>
      reader.eachRecord(
        (rec) => {
          try {
            this.write(rec)
          } catch (err) {
            throw this.writingFailed(err)
          }
        },
        () => this.afterChunk(),
      ),
    )
    if (this.o.signal.aborted) return
    if (stream.format === 'eof') await this.read(() => checkEofMark(reader, stream))
  }

  /** A read of the stream; its failure is the source's, and the shard is read again by a resume. */
  private async read<T>(step: () => Promise<T>): Promise<T> {
    try {
      return await step()
    } catch (err) {
      if (err === this.writeFailure) throw err
      if (this.o.signal.aborted || (err instanceof KvtopError && err.code === 'stalled')) throw err
      throw new OperationError(
        `the replication snapshot of ${this.o.stream.node} ended before its RDB did (${errorMessage(err)}): the source node restarted, failed over or closed the connection`,
        {
          resumable: true,
          hint: 'Run the same command again with the same --checkpoint: shards whose bulk copy finished are skipped, this one is read again from a new SYNC.',
        },
      )
    }
  }

  /** What the writing (run inside the reader) threw: kept, to be told apart from a read failure. */
  private writingFailed(err: unknown): unknown {
    this.writeFailure = err
    return err
  }

  /** One record: an entry queued for the target (its bytes copied into the batch now). */
  private write(rec: RdbRecord): void {
    if (!(rec instanceof RdbEntry)) {
      if (rec.kind === 'header') this.label = rec.header.version
      else if (rec.kind === 'eof' && rec.checksum === 'mismatch')
        throw new OperationError(`the RDB streamed by ${this.o.stream.node} fails its CRC-64 check`)
      return
    }
    const run = this.runOf(rec)
    if (!run) return
    if (rec.expireAt !== undefined && rec.expireAt <= this.now) {
      run.lane.state.vanished++
      return
    }
    run.page.keys++
    run.page.bytes += rec.size
    run.keys++
    run.bytes += rec.size
    const wait = restoreEntry(run.lane.writer, rec, this.label, run)
    if (wait) this.waits.push(wait)
  }

  /**
   * After a chunk: wait for the nodes whose window is full, report progress; 'stop' once stopped.
   * A copier that has stopped (a write refused for good, or refused for too long) ends the read
   * here: streaming the rest of the snapshot into a target that refuses it would only queue more
   * keys to retry, and the run fails with that copier's reason anyway.
   */
  private async afterChunk(): Promise<'stop' | void> {
    try {
      if (this.waits.length) {
        const waits = this.waits
        this.waits = []
        await Promise.all(waits)
      }
      for (const run of this.runs.values()) {
        if (run.lane.copier.failure) throw run.lane.copier.failure
        if (!run.keys) continue
        run.lane.onProgress(run.keys, run.bytes)
        run.keys = run.bytes = 0
      }
    } catch (err) {
      throw this.writingFailed(err)
    }
    if (this.o.signal.aborted) return 'stop'
    this.now = Date.now()
  }

  /** Where an entry goes: its db's lane, or nowhere (a db not being copied, a slot outside --slots). */
  private runOf(rec: RdbEntry): LaneRun | undefined {
    const run = this.runs.get(rec.db)
    if (!run) {
      if (!this.unknownDbs.has(rec.db)) {
        this.unknownDbs.add(rec.db)
        this.o.onWarning(
          `${this.o.stream.node} holds keys in db ${rec.db}, which was empty when the copy started: not copied`,
        )
      }
      return undefined
    }
    const slots = this.o.slots
    if (slots) {
      const slot = rec.keyIsPlain ? keySlotOf(rec.buf, rec.keyStart, rec.keyEnd) : keySlot(rec.key)
      if (slot < slots.from || slot > slots.to) return undefined
    }
    return run
  }
}

/**
 * An RDB entry (a replication snapshot's key) as RESTORE ... REPLACE [ABSTTL] through the target
 * writer, its payload written straight from the reader's buffer (the encoder snapshot restore
 * uses); the page holds it until acknowledged, its copier retries a refusal for now.
 */
function restoreEntry(
  writer: TargetWriter,
  e: RdbEntry,
  label: number,
  run: LaneRun,
): Promise<void> | undefined {
  const slot = e.keyIsPlain ? keySlotOf(e.buf, e.keyStart, e.keyEnd) : keySlot(e.key)
  const b = writer.pipeline.batchFor(slot)
  b.begin()
  writeRestoreCommand(b, e, label, { replace: true, lruLfu: false })
  run.page.pending++
  b.end(run.tag)
  return writer.pipeline.writtenTo(slot, b)
}
