/** The first phase of a scale: new nodes are started or taken, meet the cluster, and replicate. */
import type { NodeRef } from './admin.js'
import { joinNodes, makeReplica, waitClusterOk, waitReplicasSynced } from './nodes.js'
import { JOIN_TIMEOUT_MS, type PlanInternals, type ScaleReport, type ScaleRun } from './types.js'

interface ReplicaJob {
  ref: NodeRef
  primaryId: string
}

/**
 * Hands the joined nodes out in plan order: each new shard's primary, then its replicas, then the
 * replicas added to existing shards. Fills `primaryOf` (placeholder -> new primary).
 */
function assignJoined(
  internals: PlanInternals,
  refs: NodeRef[],
  primaryOf: Map<string, NodeRef>,
  report: ScaleReport,
): ReplicaJob[] {
  let next = 0
  const replicaJobs: ReplicaJob[] = []
  for (const s of internals.newShards) {
    const primary = refs[next++]
    primaryOf.set(s.placeholder, primary)
    report.added.push({ id: primary.id, address: primary.address, role: 'primary' })
    for (let i = 0; i < s.replicas; i++) replicaJobs.push({ ref: refs[next++], primaryId: primary.id })
  }
  for (const a of internals.replicaAdds)
    for (let i = 0; i < a.count; i++) replicaJobs.push({ ref: refs[next++], primaryId: a.primaryId })
  return replicaJobs
}

async function attachReplicas(run: ScaleRun, replicaJobs: ReplicaJob[]): Promise<void> {
  const { admin } = run.ctx
  run.emit({ type: 'phase', phase: 'replicas', detail: `attaching ${replicaJobs.length} replica(s)` })
  for (const job of replicaJobs) {
    await makeReplica(admin, job.ref, job.primaryId, JOIN_TIMEOUT_MS)
    run.report.added.push({
      id: job.ref.id,
      address: job.ref.address,
      role: 'replica',
      primaryId: job.primaryId,
    })
  }
  await waitReplicasSynced(
    admin,
    replicaJobs.map((j) => j.ref),
    run.options.syncTimeoutMs ?? 600_000,
  )
}

/** Adds the plan's new nodes; returns the new shards' primaries by their plan placeholder (`new-N`). */
export async function addNodes(run: ScaleRun): Promise<Map<string, NodeRef>> {
  const { ctx, plan, internals } = run
  const { admin } = ctx
  const primaryOf = new Map<string, NodeRef>()
  if (plan.newNodes.count === 0) return primaryOf
  run.emit({
    type: 'phase',
    phase: 'adding nodes',
    detail: `${plan.newNodes.count} node(s), ${internals.source.description}`,
  })
  const addresses = await internals.source.acquire(plan.newNodes.count)
  const topologyBefore = await admin.topology()
  const seed = topologyBefore.nodes.find((n) => n.role === 'primary' && n.up) ?? ctx.seed
  const refs = await joinNodes(admin, seed, addresses, JOIN_TIMEOUT_MS)
  const replicaJobs = assignJoined(internals, refs, primaryOf, run.report)
  const newPrimaries = internals.newShards.map((s) => primaryOf.get(s.placeholder)!)
  if (newPrimaries.length) await waitClusterOk(admin, newPrimaries, JOIN_TIMEOUT_MS)
  if (replicaJobs.length) await attachReplicas(run, replicaJobs)
  return primaryOf
}
