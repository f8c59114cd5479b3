import type { Deployment } from '../../connect/deployment.js'
import type { TopologyNode } from '../../connect/topology.js'
import { RdbReader, RdbFormatError, type RdbRecord } from '../../data/rdb/reader.js'
import { RdbWriter } from '../../data/rdb/writer.js'
import { openSyncStream, type SyncStream } from '../../data/replication/sync-stream.js'
import { OperationError } from '../../errors.js'
import { StallWatch } from '../../wire/stall-watch.js'
import { ProgressTracker } from '../progress.js'
import type { EventSink } from '../events.js'
import type { SnapshotOutputs } from './outputs.js'
import {
  countDbKey,
  fileIndex,
  selectDbAll,
  type MethodResult,
  type SnapshotRun,
  type WriteState,
} from './create-write.js'
import { checkTopologyUnchanged } from './create-topology.js'

/**
 * The sync method: the replication snapshot of each primary, re-written into the files; one
 * standalone primary into one file is the server's RDB copied as it streams in.
 */
export async function syncMethod(ctx: SnapshotRun): Promise<MethodResult> {
  const { deployment, outputs, cluster, state, trackers, total, stallWatch, stallTimeoutMs, emit } = ctx
  const signal = ctx.options.signal
  const { primaries } = ctx.plan
  const makeWriters = (v: number) =>
    outputs.files.map((f) => new RdbWriter(f.writeStream(), { version: v, aux: ctx.aux(v) }))
  // One standalone primary into one file: the server's RDB is the file, copied as it streams in.
  const raw =
    !cluster && primaries.length === 1 && state.split === 1
      ? await rawSyncCopy(
          deployment,
          primaries[0],
          outputs,
          state,
          total,
          trackers,
          emit,
          signal,
          stallWatch,
          stallTimeoutMs,
        )
      : undefined
  const result =
    raw ??
    (await syncSnapshot(
      deployment,
      primaries,
      state,
      makeWriters,
      trackers,
      total,
      emit,
      signal,
      stallWatch,
      stallTimeoutMs,
    ))
  if (cluster) await checkTopologyUnchanged(deployment, 0)
  return {
    rdbVersion: result.rdbVersion,
    functions: result.functions,
    vanished: 0,
    ...(raw ? { rawStats: raw.stats } : {}),
  }
}

async function syncSnapshot(
  deployment: Deployment,
  primaries: TopologyNode[],
  state: WriteState,
  makeWriters: (rdbVersion: number) => RdbWriter[],
  trackers: Map<string, ProgressTracker>,
  total: ProgressTracker,
  emit: EventSink,
  signal: AbortSignal | undefined,
  stallWatch: StallWatch,
  stallTimeoutMs: number,
): Promise<{ rdbVersion: number; functions: number }> {
  const cluster = deployment.topology.mode === 'cluster'
  emit({
    type: 'phase',
    phase: 'syncing',
    detail: `SYNC from ${primaries.length} primar${primaries.length === 1 ? 'y' : 'ies'}`,
  })
  const streams: SyncStream[] = []
  const abort = () => streams.forEach((s) => s.close())
  signal?.addEventListener('abort', abort)
  let functions = 0
  try {
    for (const node of primaries) {
      const stream = await openSyncStream(deployment.spec, node, { stallTimeoutMs })
      streams.push(stream)
      stallWatch.add(stream.node, stream)
    }
    const readers = streams.map((s) => new RdbReader(s.chunks, { leaveSourceOpen: s.format === 'eof' }))
    const iterators = readers.map((r) => r.batches()[Symbol.asyncIterator]())
    // Every stream's header first: the file's version is the highest of them.
    const firsts: RdbRecord[][] = []
    for (const it of iterators) {
      const first = await it.next()
      firsts.push(first.done ? [] : first.value)
    }
    const rdbVersion = Math.max(...readers.map((r) => r.header?.version ?? 0))
    state.writers = makeWriters(rdbVersion)
    if (cluster) selectDbAll(state, 0, { keys: total.total ?? 0, expires: 0 })
    const copy = async (index: number): Promise<void> => {
      const stream = streams[index]
      const tracker = new ProgressTracker(stream.node, 'keys')
      trackers.set(stream.node, tracker)
      let db = 0
      let sizes: { keys: number; expires: number } | undefined
      const handle = (records: RdbRecord[]): Promise<void>[] => {
        const waits: Promise<void>[] = []
        let keys = 0
        let bytes = 0
        for (const rec of records) {
          switch (rec.kind) {
            case 'entry': {
              if (cluster) {
                if (state.fingerprints && !state.fingerprints.add(0, rec.key)) {
                  state.duplicates++
                  continue
                }
              } else if (state.currentDb[0] !== db) {
                selectDbAll(state, db, sizes ?? { keys: 0, expires: 0 })
              }
              const w = state.writers[fileIndex(state, rec.key)]
              const wait = w.writeValue(
                rec.key,
                rec.rdbType,
                rec.buf,
                rec.valueStart,
                rec.valueEnd,
                rec.expireAt,
                {
                  idle: rec.idle,
                  freq: rec.freq,
                },
              )
              if (wait) waits.push(wait)
              countDbKey(state, cluster ? 0 : db)
              keys++
              bytes += rec.size
              break
            }
            case 'selectdb':
              db = rec.db
              sizes = undefined
              break
            case 'resizedb':
              sizes = { keys: rec.keys, expires: rec.expires }
              tracker.total = (tracker.total ?? 0) + rec.keys
              if (!cluster) total.total = (total.total ?? 0) + rec.keys
              break
            case 'function':
              if (index === 0) {
                state.writers[0].writeFunction(Buffer.from(rec.code))
                functions++
              }
              break
            case 'module-aux':
              if (index === 0) state.writers[0].writeModuleAux(rec.moduleId, rec.when, Buffer.from(rec.body))
              break
            case 'eof':
              if (rec.checksum === 'mismatch') {
                throw new OperationError(
                  `the RDB streamed by ${stream.node} fails its CRC-64 check (corrupted in transfer?)`,
                  {
                    resumable: false,
                    hint: 'Run the snapshot again.',
                  },
                )
              }
              break
          }
        }
        tracker.add(keys, bytes)
        total.add(keys, bytes)
        return waits
      }
      await Promise.all(handle(firsts[index]))
      for (;;) {
        const next = await iterators[index].next()
        if (next.done) break
        const waits = handle(next.value)
        if (waits.length) await Promise.all(waits)
      }
      if (stream.format === 'eof') await checkEofMark(readers[index], stream)
      stream.close()
    }
    await Promise.all(streams.map((_, i) => copy(i)))
    if (signal?.aborted) throw new OperationError('interrupted: nothing was written', { resumable: false })
    return { rdbVersion, functions }
  } catch (err) {
    throw syncFailure(err, stallWatch, signal)
  } finally {
    signal?.removeEventListener('abort', abort)
    abort()
  }
}

/**
 * `--method sync` from one standalone primary into one file: the server's RDB is already the file
 * `redis-cli --rdb` would write, so its bytes go to disk as they arrive (no record re-encoded), while
 * a reader walks the same bytes for what the report needs (keys, expires, dbs, functions) and checks
 * the CRC-64. Bytes are written only once the reader has read past them, so nothing after the RDB's
 * EOF record (the diskless end marker, replication traffic) reaches the file.
 */
async function rawSyncCopy(
  deployment: Deployment,
  node: TopologyNode,
  outputs: SnapshotOutputs,
  state: WriteState,
  total: ProgressTracker,
  trackers: Map<string, ProgressTracker>,
  emit: EventSink,
  signal: AbortSignal | undefined,
  stallWatch: StallWatch,
  stallTimeoutMs: number,
): Promise<{
  rdbVersion: number
  functions: number
  stats: { keys: number; expires: number; bytes: number }
}> {
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
    leaveSourceOpen: stream.format === 'eof',
    ...(stream.format === 'length' ? { size: stream.length } : {}),
  })
  let functions = 0
  try {
    for await (const batch of reader.batches()) {
      for (const rec of batch) {
        if (rec.kind === 'function') functions++
        else if (rec.kind === 'resizedb') total.total = tracker.total = (tracker.total ?? 0) + rec.keys
        else if (rec.kind === 'eof' && rec.checksum === 'mismatch') {
          throw new OperationError(
            `the RDB streamed by ${stream.node} fails its CRC-64 check (corrupted in transfer?)`,
            { resumable: false, hint: 'Run the snapshot again.' },
          )
        }
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
function drainOrFail(sink: NodeJS.WritableStream): Promise<void> {
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

/** Diskless transfers end with the 40-byte marker announced in `$EOF:<mark>`. */
async function checkEofMark(reader: RdbReader, stream: SyncStream): Promise<void> {
  let got = Buffer.alloc(0)
  for await (const chunk of reader.rest()) {
    got = Buffer.concat([got, chunk])
    if (got.length >= 40) break
  }
  if (got.length < 40 || !got.subarray(0, 40).equals(stream.eofMark!)) {
    throw new OperationError(`the RDB streamed by ${stream.node} does not end with its EOF marker`, {
      resumable: false,
    })
  }
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
