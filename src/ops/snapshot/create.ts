import type { ConnectedTarget } from '../../connect/target.js'
import { RdbFormatError } from '../../data/rdb/reader.js'
import { OperationError } from '../../errors.js'
import { NodePool } from '../../wire/node-pool.js'
import type { SnapshotOutputs } from './outputs.js'
import type { SnapshotCreateOptions, SnapshotMethod } from './create-options.js'
import { createReport, type SnapshotCreateReport } from './create-report.js'
import { startRun } from './create-run.js'
import { scanStrategy } from './create-scan.js'
import type { CreateStrategy, MethodResult, SnapshotRun } from './create-strategy.js'
import { syncStrategy } from './create-sync.js'

export type { SnapshotCreateOptions, SnapshotMethod } from './create-options.js'
export type { SnapshotCreateReport } from './create-report.js'

/** The strategy of each `--method`; a new way of reading a source is one more entry. */
const STRATEGIES: Record<SnapshotMethod, CreateStrategy> = { scan: scanStrategy, sync: syncStrategy }

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
 *
 * The run: the preflight and the run's context (create-run.ts), the strategy of the method filling
 * the files, which are then committed (or discarded on any failure), and the report.
 */
export async function createSnapshot(
  deployment: ConnectedTarget,
  outputs: SnapshotOutputs,
  options: SnapshotCreateOptions,
): Promise<SnapshotCreateReport> {
  const started = performance.now()
  const nodes = NodePool.forSpec(deployment.spec, { name: 'kvtop-snapshot' })
  try {
    const run = await startRun(deployment, nodes, outputs, options, STRATEGIES[options.method])
    const result = await writeFiles(run, STRATEGIES[options.method])
    return createReport(run, result, (performance.now() - started) / 1000)
  } finally {
    await nodes.closeAll()
  }
}

/**
 * The strategy fills the files, which are then ended and committed together, with progress
 * reported all along; on any failure they are discarded, and the error says what really failed.
 */
async function writeFiles(run: SnapshotRun, strategy: CreateStrategy): Promise<MethodResult> {
  const { outputs, state, stallWatch } = run
  const interval = setInterval(() => reportProgress(run), run.options.progressIntervalMs ?? 250)
  interval.unref()
  let result: MethodResult
  try {
    result = await strategy.read(run)
    const split = outputs.files.length
    run.emit({ type: 'phase', phase: 'writing', detail: `${split} file${split === 1 ? '' : 's'}` })
    for (const w of state.writers) await w.end()
    await outputs.commit()
  } catch (err) {
    outputs.discard()
    throw writeFailure(run, err)
  } finally {
    clearInterval(interval)
    stallWatch.stop()
  }
  reportProgress(run)
  return result
}

/** Every node's progress, then the total's. */
function reportProgress(run: SnapshotRun): void {
  for (const t of run.trackers.values()) run.emit(t.snapshot())
  run.emit({ ...run.total.snapshot(), overall: true })
}

/** What made the files fail: a full disk (or an I/O error), a stalled node, a value that cannot go into an RDB, or `err`. */
function writeFailure(run: SnapshotRun, err: unknown): unknown {
  // A full disk while writing: say so, whatever the writer made of it.
  const writeError = run.outputs.writeError()
  if (writeError) return writeError
  // A stalled node: its error, not whatever the aborted reads made of it.
  if (run.stallWatch.error) return run.stallWatch.error
  if (err instanceof RdbFormatError) {
    return new OperationError(`cannot write the snapshot: ${err.message}`, { resumable: false, cause: err })
  }
  return err
}
