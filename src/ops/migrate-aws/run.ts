import type { AwsClients } from '../../aws/clients.js'
import { UsageError } from '../../errors.js'
import { checkTargetFree, planAwsMigration } from './preflight.js'
import type { MigrateAwsOptions, MigrateAwsRequest } from './request.js'
import { freshState, saveState } from './state.js'
import { AwsMigrationRun } from './steps.js'
import { STEPS, type MigrateAwsReport } from './types.js'

/**
 * `kvtop migrate aws`: ElastiCache CreateSnapshot, wait, CopySnapshot to S3, wait, MemoryDB
 * CreateCluster seeded with the .rdb objects, wait, then compare key counts and verify where both
 * endpoints are reachable. After each step the state file is rewritten; run again with the same
 * file and it carries on at the first step not done.
 */
export async function runAwsMigration(
  clients: AwsClients,
  request: MigrateAwsRequest,
  options: MigrateAwsOptions,
): Promise<MigrateAwsReport> {
  const planned = await planAwsMigration(clients, request)
  const { params } = planned
  const state = planned.state ?? freshState(params)
  const resumedAt = planned.state ? STEPS.find((s) => !state.steps[s].done) : undefined
  if (planned.state && !resumedAt)
    throw new UsageError(`the state file ${request.statePath} records a finished migration`, {
      hint: `MemoryDB cluster '${params.target}' was created and compared. Remove the file to migrate again.`,
    })
  if (!planned.state) await checkTargetFree(clients, params.target)
  // Billable resources are still to be created: ask (a resume past CreateCluster creates nothing).
  if (!state.steps['create-cluster'].done)
    await options.confirm?.({ params, calls: planned.calls, ...(resumedAt ? { resumedAt } : {}) })
  if (resumedAt)
    options.onEvent?.({
      type: 'phase',
      phase: 'resume',
      detail: `resuming at step ${resumedAt} from ${request.statePath}`,
    })
  await saveState(request.statePath, state)
  const run = new AwsMigrationRun(
    clients,
    request,
    options,
    params,
    planned.source,
    state,
    planned.state,
    resumedAt,
  )
  return run.run()
}
