import { RdbEntry, RdbReader, type RdbRecord } from '../../data/rdb/reader.js'
import { checkEofMark, type SyncStream } from '../../data/replication/sync-stream.js'
import { errorMessage, KvtopError, OperationError } from '../../errors.js'
import { writeRestoreCommand } from '../../data/rdb/restore-command.js'
import { keySlot, keySlotOf } from '../../wire/routed-pipeline.js'
import { acknowledged, type NodeCopier, type Page, type TargetWriter } from './copier.js'
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
  const pages = new Map<number, Page>()
  for (const [db, lane] of o.lanes) {
    Object.assign(lane.state, { cursor: '0', done: false, keys: 0, bytes: 0, vanished: 0 })
    pages.set(db, {
      cursorAfter: '0',
      pending: 0,
      retrying: 0,
      sealed: false,
      keys: 0,
      bytes: 0,
      onAcked() {},
    })
  }
  try {
    await new SnapshotWriter(o, pages).run()
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
  for (const [db, lane] of o.lanes) {
    const page = pages.get(db)!
    page.sealed = true
    if (!acknowledged(page))
      throw new OperationError(`writes from ${o.stream.node} (db ${db}) were not all acknowledged`, {
        resumable: true,
      })
    Object.assign(lane.state, { keys: page.keys, bytes: page.bytes, done: true })
  }
  return true
}

/** The records of one stream written to the target, batch by batch. */
class SnapshotWriter {
  private label = 0
  private readonly unknownDbs = new Set<number>()

  constructor(
    private readonly o: SyncBulkOptions,
    private readonly pages: Map<number, Page>,
  ) {}

  async run(): Promise<void> {
    const { stream } = this.o
    const reader = new RdbReader(stream.chunks, {
      leaveSourceOpen: stream.format === 'eof',
      ...(stream.format === 'length' ? { size: stream.length } : {}),
    })
    const batches = reader.batches()[Symbol.asyncIterator]()
    for (;;) {
      const next = await this.read(() => batches.next())
      if (next.done) break
      await this.write(next.value)
      if (this.o.signal.aborted) return
    }
    if (stream.format === 'eof') await this.read(() => checkEofMark(reader, stream))
  }

  /** A read of the stream; its failure is the source's, and the shard is read again by a resume. */
  private async read<T>(step: () => Promise<T>): Promise<T> {
    try {
      return await step()
    } catch (err) {
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

  /** One batch of records: keys queued for the target, waiting when a target node has a full window. */
  private async write(records: RdbRecord[]): Promise<void> {
    const now = Date.now()
    const counted = new Map<SyncLane, { keys: number; bytes: number }>()
    for (const rec of records) {
      if (rec.kind === 'header') this.label = rec.header.version
      else if (rec.kind === 'eof' && rec.checksum === 'mismatch')
        throw new OperationError(`the RDB streamed by ${this.o.stream.node} fails its CRC-64 check`)
      if (!(rec instanceof RdbEntry)) continue
      const lane = this.laneOf(rec)
      if (!lane) continue
      if (rec.expireAt !== undefined && rec.expireAt <= now) {
        lane.state.vanished++
        continue
      }
      const page = this.pages.get(rec.db)!
      page.keys++
      page.bytes += rec.size
      const c = counted.get(lane) ?? { keys: 0, bytes: 0 }
      c.keys++
      c.bytes += rec.size
      counted.set(lane, c)
      const wait = restoreEntry(lane.writer, rec, this.label, page, lane.copier)
      if (wait) await wait
    }
    for (const [lane, c] of counted) lane.onProgress(c.keys, c.bytes)
  }

  /** Where an entry goes: its db's lane, or nowhere (a db not being copied, a slot outside --slots). */
  private laneOf(rec: RdbEntry): SyncLane | undefined {
    const lane = this.o.lanes.get(rec.db)
    if (!lane) {
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
      const slot = keySlot(rec.key)
      if (slot < slots.from || slot > slots.to) return undefined
    }
    return lane
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
  page: Page,
  owner: NodeCopier,
): Promise<void> | undefined {
  const slot = e.keyIsPlain ? keySlotOf(e.buf, e.keyStart, e.keyEnd) : keySlot(e.key)
  const b = writer.pipeline.batchFor(slot)
  b.begin()
  writeRestoreCommand(b, e, label, { replace: true, lruLfu: false })
  page.pending++
  b.end({ key: e.key, page, owner })
  return writer.pipeline.writtenTo(slot, b)
}
