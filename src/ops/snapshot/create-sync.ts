import type { TopologyNode } from '../../connect/topology.js'
import { RdbReader, type RdbEntry, type RdbRecord } from '../../data/rdb/reader.js'
import { RdbWriter } from '../../data/rdb/writer.js'
import { checkEofMark, openSyncStream, type SyncStream } from '../../data/replication/sync-stream.js'
import { UsageError } from '../../errors.js'
import { ProgressTracker } from '../progress.js'
import { countDbKey, fileIndex, selectDbAll } from './create-write.js'
import { checkTopologyUnchanged } from './create-topology.js'
import { crcMismatch, syncFailure } from './create-sync-checks.js'
import { rawSyncCopy } from './create-sync-raw.js'
import { interrupted, type CreateStrategy, type MethodResult, type SnapshotRun } from './create-strategy.js'

/**
 * `--method sync`: the replication snapshot of each primary, re-written into the files record by
 * record; one standalone primary into one file is the server's RDB copied as it streams in
 * (create-sync-raw.ts). Point-in-time per shard. A cluster's shards into one file are deduplicated.
 */
export const syncStrategy: CreateStrategy = {
  checkAllowed(refused, provider) {
    if (refused.has('sync') || refused.has('psync')) {
      throw new UsageError(
        `the endpoint refuses SYNC${provider !== 'self-managed' ? ` (${provider})` : ''}`,
        {
          code: 'refused',
          hint: 'Use --method scan (the default): it reads keys with SCAN and DUMP, which managed services allow.',
        },
      )
    }
  },
  repeatsKeys: (cluster) => cluster,
  read: syncSources,
}

async function syncSources(ctx: SnapshotRun): Promise<MethodResult> {
  const { primaries } = ctx.plan
  const result =
    !ctx.cluster && primaries.length === 1 && ctx.state.split === 1
      ? await rawSyncCopy(ctx, primaries[0])
      : { ...(await syncSnapshot(ctx)), vanished: 0 }
  if (ctx.cluster) await checkTopologyUnchanged(ctx.deployment, 0)
  return result
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
    if (signal?.aborted) throw interrupted()
    return { rdbVersion, functions: copier.functions }
  } catch (err) {
    throw syncFailure(err, ctx.stallWatch, signal)
  } finally {
    signal?.removeEventListener('abort', abort)
    abort()
  }
}

/**
 * A SYNC stream per primary, each watched for stalls; `streams` holds them, to be closed. They are
 * opened side by side: a primary answers SYNC only once its snapshot starts, after its
 * repl-diskless-sync-delay (5 s by default), and one after the other a cluster of N shards waited
 * N times that. On a failure the streams that did open are in `streams`, to be closed too.
 */
async function openSources(
  ctx: SnapshotRun,
  primaries: TopologyNode[],
  streams: SyncStream[],
): Promise<SyncSource[]> {
  const opened = await Promise.allSettled(
    primaries.map((node) =>
      openSyncStream(ctx.deployment.spec, node, { stallTimeoutMs: ctx.stallTimeoutMs }),
    ),
  )
  for (const r of opened) if (r.status === 'fulfilled') streams.push(r.value)
  const failed = opened.find((r): r is PromiseRejectedResult => r.status === 'rejected')
  if (failed) throw failed.reason
  for (const stream of streams) ctx.stallWatch.add(stream.node, stream)
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
