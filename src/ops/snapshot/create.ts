import type { Redis } from 'ioredis'
import type { Deployment } from '../../connect/deployment.js'
import { discoverTopology, type Topology, type TopologyNode } from '../../connect/topology.js'
import { versionAtLeast } from '../../connect/capabilities.js'
import { KeyFingerprintSet } from '../../data/keyspace/fingerprints.js'
import { scanNode, type DumpSink, type NodeScanResult } from '../../data/keyspace/scanner.js'
import { keySlot, keySlotOf, SLOTS } from '../../wire/routed-pipeline.js'
import { rdbVersionForServer, RDB_OPCODE } from '../../data/rdb/constants.js'
import { RdbReader, RdbFormatError, type RdbRecord } from '../../data/rdb/reader.js'
import { RdbWriter } from '../../data/rdb/writer.js'
import { BufferCursor, readString } from '../../data/rdb/walker.js'
import { openSyncStream, type SyncStream } from '../../data/replication/sync-stream.js'
import { escapeBytes } from '../../data/escape.js'
import { OperationError, UsageError, errorMessage } from '../../errors.js'
import { isCommandRefusal } from '../../wire/classify.js'
import { DEFAULT_STALL_TIMEOUT_MS, StallWatch, stallError } from '../../wire/stall-watch.js'
import { ProgressTracker } from '../progress.js'
import type { EventSink } from '../events.js'
import type { SnapshotOutputs } from './outputs.js'
import { preflightCreate, type Source } from './create-preflight.js'
import type { SnapshotCreateOptions, SnapshotMethod } from './create-options.js'

export type { SnapshotCreateOptions, SnapshotMethod } from './create-options.js'

export interface SnapshotFileReport {
  path: string
  keys: number
  expires: number
  bytes: number
  /** With --split: the slots whose keys this file holds. */
  slots?: [number, number]
}

export interface SnapshotCreateReport {
  method: SnapshotMethod
  /** RDB version of the files (that of the source's values). */
  rdbVersion: number
  source: { mode: Topology['mode']; engine: string; version: string; provider: string; primaries: string[] }
  files: SnapshotFileReport[]
  dbs: { db: number; keys: number }[]
  keys: number
  expires: number
  bytes: number
  functions: number
  /** Keys gone between SCAN and DUMP (deleted or expired meanwhile). */
  vanished: number
  /** Keys SCAN returned twice, written once. */
  duplicates: number
  seconds: number
  keysPerSecond: number
  warnings: string[]
}

/**
 * `kvtop snapshot create`: a real RDB file of a standalone server or a whole cluster.
 *
 * scan (default): SCAN every primary (every db holding keys on a standalone), DUMP + PEXPIRETIME
 * (PTTL before Redis 7) pipelined, payloads written as RDB entries. Works where SYNC and BGSAVE are
 * refused (ElastiCache, MemoryDB). Not a point-in-time image: each key is as it was when read.
 *
 * sync: the replication snapshot of each primary (what `redis-cli --rdb` takes), re-written into
 * one file; point-in-time per shard. Needs SYNC, which managed services refuse.
 *
 * A cluster's keys all go to db 0 (what MemoryDB's S3 seeding needs); a standalone keeps its dbs.
 */
export async function createSnapshot(
  deployment: Deployment,
  outputs: SnapshotOutputs,
  options: SnapshotCreateOptions,
): Promise<SnapshotCreateReport> {
  const started = performance.now()
  const emit = options.onEvent ?? (() => {})
  const caps = deployment.capabilities
  const engine = caps?.engine ?? 'redis'
  const version = caps?.version ?? '0.0.0'
  const topology = deployment.topology
  const cluster = topology.mode === 'cluster'
  const warnings: string[] = []
  const warn = (message: string) => {
    warnings.push(message)
    emit({ type: 'warning', message })
  }
  // Every check that may refuse, before any file is written.
  const { primaries, sources, dbs, refused } = await preflightCreate(deployment, options, warn)
  const usedMemory = await sumUsedMemory(deployment, primaries)
  const split = outputs.files.length
  const state: WriteState = {
    writers: [],
    fingerprints:
      cluster || options.method === 'scan'
        ? new KeyFingerprintSet(
            Math.min(
              1 << 22,
              Math.max(
                1024,
                sources.reduce((n, s) => n + s.keys, 0),
              ),
            ),
          )
        : undefined,
    split,
    duplicates: 0,
    currentDb: new Array(split).fill(-1),
  }
  const aux = (rdbVersion: number): [string, string][] => [
    [engine === 'valkey' ? 'valkey-ver' : 'redis-ver', version],
    ['redis-bits', '64'],
    ['ctime', String(Math.floor(Date.now() / 1000))],
    ['used-mem', String(usedMemory)],
    ['aof-base', '0'],
    ['kvtop-method', options.method],
    ['kvtop-rdb-version', String(rdbVersion)],
  ]
  const trackers = new Map<string, ProgressTracker>()
  const stallTimeoutMs = options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS
  // Every node read from is watched: one that owes replies and stays silent stops the snapshot.
  const stallWatch = new StallWatch({
    timeoutMs: stallTimeoutMs,
    onStall: (stall) =>
      stallError(stall, {
        what: 'the snapshot',
        resumable: false,
        hint: 'Nothing was written. Check the node (hung, overloaded or cut off?), then run the snapshot again; if it is only slow, raise --stall-timeout (0 waits forever).',
      }),
  })
  const total = new ProgressTracker(
    'snapshot',
    'keys',
    sources.reduce((n, s) => n + s.keys, 0),
  )
  const interval = setInterval(() => {
    for (const t of trackers.values()) emit(t.snapshot())
    emit(total.snapshot())
  }, options.progressIntervalMs ?? 250)
  interval.unref()

  let vanished = 0
  let functions = 0
  /** What the file holds when the server's RDB was copied as is (no writer). */
  let rawStats: { keys: number; expires: number; bytes: number } | undefined
  let rdbVersion = 0
  try {
    if (options.method === 'scan') {
      emit({ type: 'phase', phase: 'probing', detail: 'RDB version of the values' })
      rdbVersion = (await probeDumpVersion(deployment, sources)) ?? rdbVersionForServer(engine, version)
      state.writers = outputs.files.map(
        (f) => new RdbWriter(f.writeStream(), { version: rdbVersion, aux: aux(rdbVersion) }),
      )
      emit({
        type: 'phase',
        phase: 'scanning',
        detail: `${sources.length} source${sources.length === 1 ? '' : 's'} (${primaries.length} primar${primaries.length === 1 ? 'y' : 'ies'})`,
      })
      const expireCommand = versionAtLeast(version, '7.0.0') ? 'PEXPIRETIME' : 'PTTL'
      const stopAll = new AbortController()
      const scanSignal = options.signal ? AbortSignal.any([options.signal, stopAll.signal]) : stopAll.signal
      const run = async (source: Source): Promise<NodeScanResult> => {
        const task =
          cluster || dbs.length === 1 ? source.node.address : `${source.node.address} db${source.db}`
        const tracker = new ProgressTracker(task, 'keys', source.keys)
        trackers.set(task, tracker)
        if (!cluster) selectDbAll(state, source.db, source)
        return scanNode({
          spec: deployment.spec,
          node: source.node,
          db: source.db,
          count: options.scanCount,
          maxOps: options.maxOps,
          expireCommand,
          signal: scanSignal,
          stallWatch,
          onProgress: (d) => {
            tracker.add(d.keys, d.bytes)
            total.add(d.keys, d.bytes)
          },
          sink: scanSink(state, source.db),
        })
      }
      let results: NodeScanResult[]
      if (cluster) {
        selectDbAll(state, 0, { keys: total.total ?? 0, expires: sources.reduce((n, s) => n + s.expires, 0) })
        // One shard failing stops the others before the error is reported.
        const settled = await Promise.allSettled(
          sources.map((source) =>
            run(source).catch((err: unknown) => {
              stopAll.abort()
              throw err
            }),
          ),
        )
        const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected')
        if (failed) throw failed.reason
        results = settled.map((r) => (r as PromiseFulfilledResult<NodeScanResult>).value)
      } else {
        results = []
        for (const source of sources) results.push(await run(source))
      }
      if (options.signal?.aborted)
        throw new OperationError('interrupted: nothing was written', { resumable: false })
      vanished = results.reduce((n, r) => n + r.vanished, 0)
      const redirected = results.reduce((n, r) => n + r.redirected, 0)
      if (cluster) await checkTopologyUnchanged(deployment, redirected)
      if (!refused.has('function'))
        functions = await copyFunctions(deployment, primaries[0], state.writers[0], warn)
    } else {
      const makeWriters = (v: number) =>
        outputs.files.map((f) => new RdbWriter(f.writeStream(), { version: v, aux: aux(v) }))
      // One standalone primary into one file: the server's RDB is the file, copied as it streams in.
      const raw =
        !cluster && primaries.length === 1 && split === 1
          ? await rawSyncCopy(
              deployment,
              primaries[0],
              outputs,
              state,
              total,
              trackers,
              emit,
              options.signal,
              stallWatch,
              stallTimeoutMs,
            )
          : undefined
      rawStats = raw?.stats
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
          options.signal,
          stallWatch,
          stallTimeoutMs,
        ))
      rdbVersion = result.rdbVersion
      functions = result.functions
      if (cluster) await checkTopologyUnchanged(deployment, 0)
    }
    emit({ type: 'phase', phase: 'writing', detail: `${split} file${split === 1 ? '' : 's'}` })
    for (const w of state.writers) await w.end()
    await outputs.commit()
  } catch (err) {
    outputs.discard()
    // A full disk (or an I/O error) while writing: say so, whatever the writer made of it.
    const writeError = outputs.writeError()
    if (writeError) throw writeError
    // A stalled node: its error, not whatever the aborted reads made of it.
    if (stallWatch.error) throw stallWatch.error
    if (err instanceof RdbFormatError) {
      throw new OperationError(`cannot write the snapshot: ${err.message}`, { resumable: false, cause: err })
    }
    throw err
  } finally {
    clearInterval(interval)
    stallWatch.stop()
  }
  for (const t of trackers.values()) emit(t.snapshot())
  emit(total.snapshot())
  const seconds = (performance.now() - started) / 1000
  const files: SnapshotFileReport[] = outputs.files.map((f, i) => ({
    path: f.path,
    keys: (rawStats ?? state.writers[i].stats).keys,
    expires: (rawStats ?? state.writers[i].stats).expires,
    bytes: (rawStats ?? state.writers[i].stats).bytes,
    ...(split > 1
      ? {
          slots: [Math.ceil((i * SLOTS) / split), Math.ceil(((i + 1) * SLOTS) / split) - 1] as [
            number,
            number,
          ],
        }
      : {}),
  }))
  const keys = files.reduce((n, f) => n + f.keys, 0)
  if (state.duplicates) warn(`${state.duplicates} keys were returned twice by SCAN and written once`)
  return {
    method: options.method,
    rdbVersion,
    source: {
      mode: topology.mode,
      engine,
      version,
      provider: caps?.provider ?? 'self-managed',
      primaries: primaries.map((p) => p.address),
    },
    files,
    dbs: dbs.map((db) => ({ db, keys: state.dbKeys?.get(db) ?? 0 })),
    keys,
    expires: files.reduce((n, f) => n + f.expires, 0),
    bytes: files.reduce((n, f) => n + f.bytes, 0),
    functions,
    vanished,
    duplicates: state.duplicates,
    seconds,
    keysPerSecond: seconds > 0 ? keys / seconds : 0,
    warnings,
  }
}

// --- shared write path ----------------------------------------------------------------------------

interface WriteState {
  writers: RdbWriter[]
  fingerprints: KeyFingerprintSet | undefined
  split: number
  duplicates: number
  currentDb: number[]
  dbKeys?: Map<number, number>
}

function fileIndex(state: WriteState, key: Buffer): number {
  return state.split === 1 ? 0 : Math.floor((keySlot(key) * state.split) / SLOTS)
}

function selectDbAll(state: WriteState, db: number, sizes: { keys: number; expires: number }): void {
  for (let i = 0; i < state.writers.length; i++) {
    if (state.currentDb[i] === db) continue
    state.writers[i].selectDb(db, {
      keys: Math.ceil(sizes.keys / state.split),
      expires: Math.ceil(sizes.expires / state.split),
    })
    state.currentDb[i] = db
  }
}

function countDbKey(state: WriteState, db: number): void {
  const m = (state.dbKeys ??= new Map())
  m.set(db, (m.get(db) ?? 0) + 1)
}

/** Where the scanner's keys go: de-duplicated, routed to their file, written from the wire bytes. */
function scanSink(state: WriteState, db: number): DumpSink {
  return {
    key(key, ks, ke, payload, ps, pe, expireAt) {
      if (state.fingerprints && !state.fingerprints.add(db, key, ks, ke)) {
        state.duplicates++
        return
      }
      const i = state.split === 1 ? 0 : Math.floor((keySlotOf(key, ks, ke) * state.split) / SLOTS)
      try {
        state.writers[i].writeDumpRange(key, ks, ke, payload, ps, pe, expireAt)
      } catch (err) {
        if (err instanceof RdbFormatError) {
          throw new OperationError(
            `the DUMP payload of key "${escapeBytes(key.subarray(ks, ke))}" cannot go into the file: ${err.message}`,
            {
              resumable: false,
              hint: 'A node answered with values of a newer RDB version than the others (a cluster mid-upgrade?): run the snapshot again when all nodes run the same version.',
            },
          )
        }
        throw err
      }
      countDbKey(state, db)
    },
    wait() {
      for (const w of state.writers) {
        const d = w.drained()
        if (d) return d
      }
      return undefined
    },
  }
}

// --- scan method helpers ----------------------------------------------------------------------------

async function sumUsedMemory(deployment: Deployment, primaries: TopologyNode[]): Promise<number> {
  let total = 0
  for (const node of primaries) {
    const text = await (await deployment.client(node)).info('memory')
    const m = /^used_memory:(\d+)/m.exec(text)
    if (m) total += Number(m[1])
  }
  return total
}

/**
 * The RDB version the file must carry is that of the values in it: DUMP one key of each source
 * (the first SCAN finds) and take the highest. Undefined when there are no keys at all.
 */
async function probeDumpVersion(deployment: Deployment, sources: Source[]): Promise<number | undefined> {
  let best: number | undefined
  for (const source of sources) {
    if (source.keys === 0) continue
    const client: Redis = await deployment.client(source.node)
    if (source.db) await client.select(source.db)
    try {
      let cursor = '0'
      for (let round = 0; round < 50; round++) {
        const [next, keys] = (await client.callBuffer('SCAN', cursor, 'COUNT', '100')) as [Buffer, Buffer[]]
        cursor = next.toString()
        let found = false
        for (const key of keys) {
          const payload = (await client.callBuffer('DUMP', key)) as Buffer | null
          if (!payload || payload.length < 11) continue
          const v = payload.readUInt16LE(payload.length - 10)
          best = best === undefined ? v : Math.max(best, v)
          found = true
          break
        }
        if (found || cursor === '0') break
      }
    } catch (err) {
      if (isCommandRefusal(err as Error)) {
        throw new UsageError(
          `${source.node.address} refuses SCAN or DUMP for this user: ${errorMessage(err)}`,
          {
            code: 'refused',
            hint: 'snapshot create --method scan needs SCAN, DUMP and PEXPIRETIME/PTTL: grant them to the ACL user.',
          },
        )
      }
      throw err
    } finally {
      if (source.db) await client.select(0)
    }
  }
  return best
}

/** The cluster must not have been resharded while it was read. */
async function checkTopologyUnchanged(deployment: Deployment, redirected: number): Promise<void> {
  const before = slotOwners(deployment.topology)
  const after = slotOwners(await discoverTopology(deployment.spec, deployment.seed))
  let changed = 0
  for (let s = 0; s < SLOTS; s++) if (before[s] !== after[s]) changed++
  if (changed || redirected) {
    throw new OperationError(
      `the cluster was resharded while it was read (${changed} slots changed owner, ${redirected} keys redirected): the snapshot could miss or repeat keys, so it was not kept`,
      { resumable: false, hint: 'Run it again when the resharding has finished.' },
    )
  }
}

function slotOwners(topology: Topology): (string | undefined)[] {
  const owners: (string | undefined)[] = new Array(SLOTS)
  for (const n of topology.nodes) {
    if (n.role !== 'primary') continue
    for (const [from, to] of n.slots) for (let s = from; s <= to; s++) owners[s] = n.id
  }
  return owners
}

/** Function libraries (Redis 7+): FUNCTION DUMP is a payload of FUNCTION2 records. */
async function copyFunctions(
  deployment: Deployment,
  node: TopologyNode,
  writer: RdbWriter,
  warn: (m: string) => void,
): Promise<number> {
  const caps = deployment.capabilities
  if (caps && !versionAtLeast(caps.version, '7.0.0')) return 0
  let payload: Buffer | null
  try {
    payload = (await (await deployment.client(node)).callBuffer('FUNCTION', 'DUMP')) as Buffer | null
  } catch (err) {
    warn(`function libraries not copied: FUNCTION DUMP failed (${errorMessage(err)})`)
    return 0
  }
  if (!payload || payload.length < 11) return 0
  const c = new BufferCursor(payload, 0, payload.length - 10)
  c.what = 'the FUNCTION DUMP payload'
  let n = 0
  while (c.pos < c.end) {
    const op = c.buf[c.pos++]
    if (op !== RDB_OPCODE.FUNCTION2) {
      warn(`function libraries not copied: unexpected opcode ${op} in FUNCTION DUMP`)
      return n
    }
    writer.writeFunction(Buffer.from(readString(c)))
    n++
  }
  return n
}

// --- sync method ------------------------------------------------------------------------------------

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
    if (stallWatch.error) throw stallWatch.error
    if (signal?.aborted) throw new OperationError('interrupted: nothing was written', { resumable: false })
    if (err instanceof RdbFormatError) {
      throw new OperationError(`the RDB streamed by the server cannot be read: ${err.message}`, {
        resumable: false,
        cause: err,
      })
    }
    throw err
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
    if (stallWatch.error) throw stallWatch.error
    if (signal?.aborted) throw new OperationError('interrupted: nothing was written', { resumable: false })
    if (err instanceof RdbFormatError) {
      throw new OperationError(`the RDB streamed by the server cannot be read: ${err.message}`, {
        resumable: false,
        cause: err,
      })
    }
    throw err
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
