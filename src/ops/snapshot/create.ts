import type { Deployment } from '../../connect/deployment.js'
import { type Topology, type TopologyNode } from '../../connect/topology.js'
import { SLOTS } from '../../wire/routed-pipeline.js'
import { RdbFormatError } from '../../data/rdb/reader.js'
import { OperationError } from '../../errors.js'
import { DEFAULT_STALL_TIMEOUT_MS, StallWatch, stallError } from '../../wire/stall-watch.js'
import { ProgressTracker } from '../progress.js'
import type { SnapshotOutputs } from './outputs.js'
import { preflightCreate } from './create-preflight.js'
import { scanMethod } from './create-scan.js'
import { syncMethod } from './create-sync.js'
import { newWriteState, type MethodResult, type SnapshotRun, type WriteState } from './create-write.js'
import type { SnapshotCreateOptions, SnapshotMethod } from './create-options.js'

export type { SnapshotCreateOptions, SnapshotMethod } from './create-options.js'

interface SnapshotFileReport {
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
  const plan = await preflightCreate(deployment, options, warn)
  const { primaries, sources, dbs } = plan
  const usedMemory = await sumUsedMemory(deployment, primaries)
  const split = outputs.files.length
  // Keys are deduplicated where a key can be read twice: SCAN, or a cluster's shards into one file.
  const state = newWriteState(
    split,
    cluster || options.method === 'scan' ? sources.reduce((n, s) => n + s.keys, 0) : undefined,
  )
  const aux = auxFields(engine, version, usedMemory, options.method)
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

  const run: SnapshotRun = {
    deployment,
    outputs,
    options,
    plan,
    cluster,
    engine,
    version,
    state,
    aux,
    trackers,
    total,
    stallWatch,
    stallTimeoutMs,
    emit,
    warn,
  }
  const method = options.method === 'scan' ? scanMethod : syncMethod
  let result: MethodResult
  try {
    result = await method(run)
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
  const files = fileReports(outputs, state, result.rawStats)
  const keys = files.reduce((n, f) => n + f.keys, 0)
  if (state.duplicates) warn(`${state.duplicates} keys were returned twice by SCAN and written once`)
  return {
    method: options.method,
    rdbVersion: result.rdbVersion,
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
    functions: result.functions,
    vanished: result.vanished,
    duplicates: state.duplicates,
    seconds,
    keysPerSecond: seconds > 0 ? keys / seconds : 0,
    warnings,
  }
}

/** Each file: what it holds (the writer's count, or the server's RDB copied as is) and, split, its slots. */
function fileReports(
  outputs: SnapshotOutputs,
  state: WriteState,
  rawStats: MethodResult['rawStats'],
): SnapshotFileReport[] {
  const split = state.split
  return outputs.files.map((f, i) => ({
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
}

/** The AUX fields of a file of this RDB version. */
function auxFields(
  engine: string,
  version: string,
  usedMemory: number,
  method: SnapshotMethod,
): (rdbVersion: number) => [string, string][] {
  return (rdbVersion) => [
    [engine === 'valkey' ? 'valkey-ver' : 'redis-ver', version],
    ['redis-bits', '64'],
    ['ctime', String(Math.floor(Date.now() / 1000))],
    ['used-mem', String(usedMemory)],
    ['aof-base', '0'],
    ['kvtop-method', method],
    ['kvtop-rdb-version', String(rdbVersion)],
  ]
}

async function sumUsedMemory(deployment: Deployment, primaries: TopologyNode[]): Promise<number> {
  let total = 0
  for (const node of primaries) {
    const text = await (await deployment.client(node)).info('memory')
    const m = /^used_memory:(\d+)/m.exec(text)
    if (m) total += Number(m[1])
  }
  return total
}
