import type { ConnectionInput } from '../../connect/options.js'
import { OperationContext } from '../context.js'
import { checkResumeOptions, loadCheckpoint, lockCheckpoint } from './checkpoint.js'
import { refuseSyncCombinations } from './read-method.js'
import { MigrationRun } from './run.js'
import type { MigrateOptions, MigrateReport } from './types.js'

/**
 * `kvtop migrate run`: bulk copy every source primary in parallel (SCAN + DUMP pipelined, RESTORE
 * routed by slot), following changes through keyspace notifications with --live; checkpoints so
 * that the same command resumes after a crash; verify at the end. The phases are MigrationRun's.
 */
export async function runMigration(
  inputs: { source: ConnectionInput; target: ConnectionInput },
  options: MigrateOptions,
): Promise<MigrateReport> {
  const started = Date.now()
  refuseSyncCombinations(options)
  const ctx = new OperationContext(options.onEvent)
  const path = options.checkpointPath
  // One run per checkpoint at a time, taken before it is read.
  const lock = path ? lockCheckpoint(path) : undefined
  try {
    if (lock?.tookOver)
      ctx.warn(
        `the checkpoint ${path} was locked by pid ${lock.tookOver.pid} (since ${new Date(lock.tookOver.since).toISOString()}), which is no longer running: lock taken over`,
      )
    const previous = path ? loadCheckpoint(path) : undefined
    if (previous) checkResumeOptions(path!, previous, options)
    return await new MigrationRun(inputs, options, previous, ctx, started).run()
  } finally {
    lock?.release()
  }
}
