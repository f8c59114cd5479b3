/**
 * `kvtop scale` for self-managed Redis Cluster: plan (shards, replicas, weights, which shards go),
 * then execute under live traffic — new nodes meet the cluster and get their replicas, slots move
 * with the standard protocol, drained shards are forgotten everywhere, replicas are added or
 * removed — with progress events throughout. Nothing here knows about views.
 *
 * The plan is `plan.ts` (from `preflight.ts` and `plan-shards.ts`); a run goes through three
 * phases, `add-nodes.ts`, `move-slots.ts` and `remove-shards.ts`, and ends in `run-report.ts`.
 */
import { addNodes } from './add-nodes.js'
import { moveSlots } from './move-slots.js'
import { removeShards } from './remove-shards.js'
import { finishReport, startRun } from './run-report.js'
import type { ExecuteOptions, PreparedScale, ScaleContext, ScaleReport } from './types.js'

export { prepareScale } from './plan.js'
export type { ScaleContext, ScalePlan, ScaleReport } from './types.js'

/** Carry out a prepared plan. Throws OperationError (resumable) when it stops midway. */
export async function executeScale(
  ctx: ScaleContext,
  prepared: PreparedScale,
  options: ExecuteOptions,
): Promise<ScaleReport> {
  const started = Date.now()
  const run = startRun(ctx, prepared, options)
  const { plan, report } = run
  const newPrimaries = await addNodes(run)
  await moveSlots(run, newPrimaries)
  if (!report.interrupted) await removeShards(run)
  report.seconds = (Date.now() - started) / 1000
  if (!report.interrupted)
    report.complete = report.openSlots.length === 0 && report.warnings.every((w) => !/is not removed/.test(w))
  return finishReport(ctx, report, plan)
}
