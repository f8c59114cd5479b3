import type { Writable } from 'node:stream'
import type { TopologyNode } from '../../connect/topology.js'
import { RdbReader, RdbFormatError, type RdbEntry, type RdbRecord } from '../../data/rdb/reader.js'
import { RdbWriter } from '../../data/rdb/writer.js'
import { checkEofMark, openSyncStream, type SyncStream } from '../../data/replication/sync-stream.js'
import { OperationError } from '../../errors.js'
import type { StallWatch } from '../../wire/stall-watch.js'
import { ProgressTracker } from '../progress.js'
import { countDbKey, fileIndex, selectDbAll, type MethodResult, type SnapshotRun } from './create-write.js'
import { checkTopologyUnchanged } from './create-topology.js'

/**
 * The sync method: the replication snapshot of each primary, re-written into the files; one
 * standalone primary into one file is the server's RDB copied as it streams in.
 */
export async function syncMethod(ctx: SnapshotRun): Promise<MethodResult> {
  const { primaries } = ctx.plan
  // One standalone primary into one file: the server's RDB is the file, copied as it streams in.
  const raw =
    !ctx.cluster && primaries.length === 1 && ctx.state.split === 1
      ? await rawSyncCopy(ctx, primaries[0])
      : undefined
  const result = raw ?? (await syncSnapshot(ctx))
  if (ctx.cluster) await checkTopologyUnchanged(ctx.deployment, 0)
  return {
    rdbVersion: result.rdbVersion,
    functions: result.functions,
    vanished: 0,
    ...(raw ? { rawStats: raw.stats } : {}),
  }
}

/** One primary's SYNC stream, read record by record. */
interface SyncSource {
  stream: SyncStream
  reader: RdbReader
  batches: AsyncIterator<RdbRecord[]>
}

/**
 * Every primary's snapshot re-written into the files, record by record: the streams are opened,
 * their headers read (the files carry the highest RDB version), then copied side by side.
 */
async function syncSnapshot(ctx: SnapshotRun): Promise<{ rdbVersion: number; functions: number }> {
  const { primaries } = ctx.plan
  const signal = ctx.options.signal
  ctx.emit({
    type: 'phase',
    phase: 'syncing',
    detail: `SYNC from ${primaries.length} primar${primaries.length === 1 ? 'y' : 'ies'}`,
  })
  const streams: SyncStream[] = []
  const abort = () => streams.forEach((s) => s.close())
  signal?.addEventListener('abort', abort)
  try {
    const sources = await openSources(ctx, primaries, streams)
    const firsts = await readHeaders(sources)
    const rdbVersion = Math.max(...sources.map((s) => s.reader.header?.version ?? 0))
    ctx.state.writers = ctx.outputs.files.map(
      (f) => new RdbWriter(f.writeStream(), { version: rdbVersion, aux: ctx.aux(rdbVersion) }),
    )
    if (ctx.cluster) selectDbAll(ctx.state, 0, { keys: ctx.total.total ?? 0, expires: 0 })
    const copier = new RecordCopier(ctx)
    await Promise.all(sources.map((source, i) => copier.copy(source, i === 0, firsts[i])))
    if (signal?.aborted) throw new OperationError('interrupted: nothing was written', { resumable: false })
    return { rdbVersion, functions: copier.functions }
  } catch (err) {
    throw syncFailure(err, ctx.stallWatch, signal)
  } finally {
    signal?.removeEventListener('abort', abort)
    abort()
  }
}

/** A SYNC stream per primary, each watched for stalls; `streams` holds them as they open, to be closed. */
async function openSources(
  ctx: SnapshotRun,
  primaries: TopologyNode[],
  streams: SyncStream[],
): Promise<SyncSource[]> {
  for (const node of primaries) {
    const stream = await openSyncStream(ctx.deployment.spec, node, { stallTimeoutMs: ctx.stallTimeoutMs })
    streams.push(stream)
    ctx.stallWatch.add(stream.node, stream)
  }
  return streams.map((stream) => {
    const reader = new RdbReader(stream.chunks, { leaveSourceOpen: stream.format === 'eof' })
    return { stream, reader, batches: reader.batches()[Symbol.asyncIterator]() }
  })
}

/** Every stream's first batch (its header with it), before any file is started. */
async function readHeaders(sources: SyncSource[]): Promise<RdbRecord[][]> {
  const firsts: RdbRecord[][] = []
  for (const source of sources) {
    const first = await source.batches.next()
    firsts.push(first.done ? [] : first.value)
  }
  return firsts
}

/**
 * Copies the records of the streams into the files: keys to the file of their slot (a cluster's
 * deduplicated, all in db 0; a standalone's in their db), function libraries and module AUX data
 * from the first stream only.
 */
class RecordCopier {
  functions = 0

  constructor(private readonly ctx: SnapshotRun) {}

  async copy(source: SyncSource, first: boolean, firstBatch: RdbRecord[]): Promise<void> {
    const { stream } = source
    const tracker = new ProgressTracker(stream.node, 'keys')
    this.ctx.trackers.set(stream.node, tracker)
    const position: StreamPosition = { db: 0, sizes: undefined }
    await Promise.all(this.write(firstBatch, source, first, position, tracker))
    for (;;) {
      const next = await source.batches.next()
      if (next.done) break
      const waits = this.write(next.value, source, first, position, tracker)
      if (waits.length) await Promise.all(waits)
    }
    if (stream.format === 'eof') await checkEofMark(source.reader, stream)
    stream.close()
  }

  /** One batch of records into the files; returns the writes to wait for (a writer's buffer full). */
  private write(
    records: RdbRecord[],
    { stream }: SyncSource,
    first: boolean,
    position: StreamPosition,
    tracker: ProgressTracker,
  ): Promise<void>[] {
    const { state, cluster, total } = this.ctx
    const waits: Promise<void>[] = []
    let keys = 0
    let bytes = 0
    for (const rec of records) {
      switch (rec.kind) {
        case 'entry': {
          if (!this.writeEntry(rec, position, waits)) continue
          keys++
          bytes += rec.size
          break
        }
        case 'selectdb':
          position.db = rec.db
          position.sizes = undefined
          break
        case 'resizedb':
          position.sizes = { keys: rec.keys, expires: rec.expires }
          tracker.total = (tracker.total ?? 0) + rec.keys
          if (!cluster) total.total = (total.total ?? 0) + rec.keys
          break
        case 'function':
          if (first) {
            state.writers[0].writeFunction(Buffer.from(rec.code))
            this.functions++
          }
          break
        case 'module-aux':
          if (first) state.writers[0].writeModuleAux(rec.moduleId, rec.when, Buffer.from(rec.body))
          break
        case 'eof':
          if (rec.checksum === 'mismatch') throw crcMismatch(stream.node)
          break
      }
    }
    tracker.add(keys, bytes)
    total.add(keys, bytes)
    return waits
  }

  /** One key into its file; false when it was skipped (a cluster's key seen twice). */
  private writeEntry(rec: RdbEntry, position: StreamPosition, waits: Promise<void>[]): boolean {
    const { state, cluster } = this.ctx
    if (cluster) {
      if (state.fingerprints && !state.fingerprints.add(0, rec.key)) {
        state.duplicates++
        return false
      }
    } else if (state.currentDb[0] !== position.db) {
      selectDbAll(state, position.db, position.sizes ?? { keys: 0, expires: 0 })
    }
    const w = state.writers[fileIndex(state, rec.key)]
    const wait = w.writeValue(rec.key, rec.rdbType, rec.buf, rec.valueStart, rec.valueEnd, rec.expireAt, {
      idle: rec.idle,
      freq: rec.freq,
    })
    if (wait) waits.push(wait)
    countDbKey(state, cluster ? 0 : position.db)
    return true
  }
}

/** Where a stream is: its current db, and that db's sizes when the stream announced them. */
interface StreamPosition {
  db: number
  sizes: { keys: number; expires: number } | undefined
}

function crcMismatch(node: string): OperationError {
  return new OperationError(`the RDB streamed by ${node} fails its CRC-64 check (corrupted in transfer?)`, {
    resumable: false,
    hint: 'Run the snapshot again.',
  })
}

/**
 * `--method sync` from one standalone primary into one file: the server's RDB is already the file
 * `redis-cli --rdb` would write, so its bytes go to disk as they arrive (no record re-encoded), while
 * a reader walks the same bytes for what the report needs (keys, expires, dbs, functions) and checks
 * the CRC-64. Bytes are written only once the reader has read past them, so nothing after the RDB's
 * EOF record (the diskless end marker, replication traffic) reaches the file.
 */
async function rawSyncCopy(
  ctx: SnapshotRun,
  node: TopologyNode,
): Promise<{
  rdbVersion: number
  functions: number
  stats: { keys: number; expires: number; bytes: number }
}> {
  const { deployment, outputs, state, total, trackers, emit, stallWatch, stallTimeoutMs } = ctx
  const signal = ctx.options.signal
  emit({ type: 'phase', phase: 'syncing', detail: `SYNC from ${node.address}` })
  const sink = outputs.files[0].writeStream()
  const stream = await openSyncStream(deployment.spec, node, { stallTimeoutMs })
  stallWatch.add(stream.node, stream)
  const abort = () => stream.close()
  signal?.addEventListener('abort', abort)
  const received: Buffer[] = []
  /** File offset of received[0]; bytes before it are on their way to the file. */
  let receivedAt = 0
  const writeUpTo = async (end: number) => {
    while (received.length && receivedAt < end) {
      const chunk = received[0]
      const take = Math.min(chunk.length, end - receivedAt)
      const ok = sink.write(take === chunk.length ? chunk : chunk.subarray(0, take))
      if (take === chunk.length) received.shift()
      else received[0] = chunk.subarray(take)
      receivedAt += take
      if (!ok) await drainOrFail(sink)
    }
  }
  const tracker = new ProgressTracker(stream.node, 'keys')
  trackers.set(stream.node, tracker)
  let counted = 0
  /** Keys the reader has walked since the last call, into the progress. */
  const progress = () => {
    const keys = reader.tally.keys - counted
    counted += keys
    tracker.add(keys, 0)
    total.add(keys, 0)
  }
  const tee = async function* (): AsyncGenerator<Buffer> {
    for await (const chunk of stream.chunks) {
      await writeUpTo(reader.offset)
      progress()
      received.push(chunk)
      yield chunk
    }
  }
  // The generator's body runs only once the reader pulls from it, after `reader` is set.
  const reader: RdbReader = new RdbReader(tee(), {
    entries: 'count',
    // The bytes go to the file as the server wrote them, and their CRC-64 is checked: values are
    // skipped by their lengths, not opened one by one (LZF, listpacks).
    validate: false,
    leaveSourceOpen: stream.format === 'eof',
    ...(stream.format === 'length' ? { size: stream.length } : {}),
  })
  let functions = 0
  try {
    for await (const batch of reader.batches()) {
      for (const rec of batch) {
        if (rec.kind === 'function') functions++
        else if (rec.kind === 'resizedb') total.total = tracker.total = (tracker.total ?? 0) + rec.keys
        else if (rec.kind === 'eof' && rec.checksum === 'mismatch') throw crcMismatch(stream.node)
      }
    }
    progress()
    const size = reader.offset
    await writeUpTo(size)
    if (stream.format === 'eof') await checkEofMark(reader, stream)
    else if (size !== stream.length)
      throw new OperationError(`the RDB streamed by ${stream.node} ends before the length it announced`, {
        resumable: false,
      })
    if (signal?.aborted) throw new OperationError('interrupted: nothing was written', { resumable: false })
    state.dbKeys = new Map(reader.tally.perDb)
    return {
      rdbVersion: reader.header?.version ?? 0,
      functions,
      stats: { keys: reader.tally.keys, expires: reader.tally.expires, bytes: size },
    }
  } catch (err) {
    throw syncFailure(err, stallWatch, signal)
  } finally {
    signal?.removeEventListener('abort', abort)
    stream.close()
  }
}

/** Wait until `sink` takes more; rejects with its error when it fails instead (a full disk). */
function drainOrFail(sink: Writable): Promise<void> {
  // Failed already (a full disk while its buffer was filling): no event is coming.
  if (sink.errored) return Promise.reject(sink.errored)
  if (sink.destroyed) return Promise.reject(new Error('the file was closed while being written'))
  return new Promise<void>((resolve, reject) => {
    const done = (err?: Error) => {
      sink.off('drain', done)
      sink.off('error', done)
      sink.off('close', done)
      if (err instanceof Error) reject(err)
      else resolve()
    }
    sink.on('drain', done)
    sink.on('error', done)
    sink.on('close', done)
  })
}

/** Why reading a SYNC stream failed: the stalled node, the interruption, or an RDB that cannot be read. */
function syncFailure(err: unknown, stallWatch: StallWatch, signal: AbortSignal | undefined): unknown {
  if (stallWatch.error) return stallWatch.error
  if (signal?.aborted) return new OperationError('interrupted: nothing was written', { resumable: false })
  if (err instanceof RdbFormatError) {
    return new OperationError(`the RDB streamed by the server cannot be read: ${err.message}`, {
      resumable: false,
      cause: err,
    })
  }
  return err
}
