import type { TopologyNode } from '../../connect/topology.js'
import { RdbReader } from '../../data/rdb/reader.js'
import { checkEofMark, openSyncStream, type SyncStream } from '../../data/replication/sync-stream.js'
import { OperationError } from '../../errors.js'
import { ProgressTracker } from '../progress.js'
import { crcMismatch, syncFailure } from './create-sync-checks.js'
import { interrupted, type MethodResult, type SnapshotRun } from './create-strategy.js'
import { ReadBehindCopy } from './read-behind-copy.js'

/**
 * `--method sync` from one standalone primary into one file: the server's RDB is already the file
 * `redis-cli --rdb` would write, so its bytes go to disk as they arrive (no record re-encoded), while
 * a reader walks the same bytes for what the report needs (keys, expires, dbs, functions) and checks
 * the CRC-64. Bytes are written only once the reader has read past them (ReadBehindCopy), so nothing
 * after the RDB's EOF record (the diskless end marker, replication traffic) reaches the file.
 */
export async function rawSyncCopy(ctx: SnapshotRun, node: TopologyNode): Promise<Required<MethodResult>> {
  const signal = ctx.options.signal
  ctx.emit({ type: 'phase', phase: 'syncing', detail: `SYNC from ${node.address}` })
  const copy = new ReadBehindCopy(ctx.outputs.files[0].writeStream())
  const stream = await openSyncStream(ctx.deployment.spec, node, { stallTimeoutMs: ctx.stallTimeoutMs })
  ctx.stallWatch.add(stream.node, stream)
  const abort = () => stream.close()
  signal?.addEventListener('abort', abort)
  try {
    const progress = new RawCopyProgress(ctx, stream.node)
    const reader = readerThrough(copy, stream, progress)
    const functions = await walkRecords(reader, stream, progress)
    const bytes = await finishCopy(reader, copy, stream)
    if (signal?.aborted) throw interrupted()
    ctx.state.dbKeys = new Map(reader.tally.perDb)
    const { keys, expires } = reader.tally
    return {
      rdbVersion: reader.header?.version ?? 0,
      functions,
      vanished: 0,
      rawStats: { keys, expires, bytes },
    }
  } catch (err) {
    throw syncFailure(err, ctx.stallWatch, signal)
  } finally {
    signal?.removeEventListener('abort', abort)
    stream.close()
  }
}

/** The keys a raw copy has walked, into the node's progress and the total's. */
class RawCopyProgress {
  private readonly tracker: ProgressTracker
  private counted = 0

  constructor(
    private readonly ctx: SnapshotRun,
    node: string,
  ) {
    this.tracker = new ProgressTracker(node, 'keys')
    ctx.trackers.set(node, this.tracker)
  }

  /** The reader has walked `keys` keys in all. */
  walked(keys: number): void {
    const delta = keys - this.counted
    this.counted += delta
    this.tracker.add(delta, 0)
    this.ctx.total.add(delta, 0)
  }

  /** The stream announced `keys` keys more (RESIZEDB): the node is the run's only one, so its total is the run's. */
  announced(keys: number): void {
    this.ctx.total.total = this.tracker.total = (this.tracker.total ?? 0) + keys
  }
}

/**
 * A counting reader of the stream whose chunks pass through `copy`: before the reader gets a chunk,
 * the bytes it has read so far go to the file and its keys into the progress.
 */
function readerThrough(copy: ReadBehindCopy, stream: SyncStream, progress: RawCopyProgress): RdbReader {
  const tee = async function* (): AsyncGenerator<Buffer> {
    for await (const chunk of stream.chunks) {
      await copy.writeUpTo(reader.offset)
      progress.walked(reader.tally.keys)
      copy.hold(chunk)
      yield chunk
    }
  }
  // The generator's body runs only once the reader pulls from it, after `reader` is set.
  const reader: RdbReader = new RdbReader(tee(), {
    entries: 'count',
    // The bytes go to the file as the server wrote them, and their CRC-64 is checked: values are
    // skipped by their lengths, not opened one by one (LZF, listpacks).
    validate: false,
    // The records walked are done with before the next batch: the stream's chunks are joined into
    // two buffers used in turn, not into a new one per chunk (a fresh buffer's pages cost a fault each).
    reuseBuffers: true,
    leaveSourceOpen: stream.format === 'eof',
    ...(stream.format === 'length' ? { size: stream.length } : {}),
  })
  return reader
}

/** The stream's records to its EOF: function libraries counted, announced sizes into the progress, the CRC-64 checked. */
async function walkRecords(
  reader: RdbReader,
  stream: SyncStream,
  progress: RawCopyProgress,
): Promise<number> {
  let functions = 0
  for await (const batch of reader.batches()) {
    for (const rec of batch) {
      if (rec.kind === 'function') functions++
      else if (rec.kind === 'resizedb') progress.announced(rec.keys)
      else if (rec.kind === 'eof' && rec.checksum === 'mismatch') throw crcMismatch(stream.node)
    }
  }
  progress.walked(reader.tally.keys)
  return functions
}

/** The rest of the RDB into the file, and its end checked: the diskless EOF marker, or the length announced. Returns its size. */
async function finishCopy(reader: RdbReader, copy: ReadBehindCopy, stream: SyncStream): Promise<number> {
  const size = reader.offset
  await copy.writeUpTo(size)
  if (stream.format === 'eof') await checkEofMark(reader, stream)
  else if (size !== stream.length)
    throw new OperationError(`the RDB streamed by ${stream.node} ends before the length it announced`, {
      resumable: false,
    })
  return size
}
