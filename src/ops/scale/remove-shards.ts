/** The last phase of a scale: drained shards and dropped replicas are forgotten, then stopped or reset. */
import { countSlots } from '../../connect/cluster-parsers.js'
import { refOf, type NodeRef } from './admin.js'
import { removeNodes } from './nodes.js'
import { JOIN_TIMEOUT_MS, type ScaleRun } from './types.js'

/** The nodes of each shard to remove that is really empty now; a shard still holding slots or keys stays. */
async function emptiedShardNodes(run: ScaleRun): Promise<NodeRef[]> {
  const { admin } = run.ctx
  const { internals, warn } = run
  const removing: NodeRef[] = []
  if (!internals.removeShards.length) return removing
  const now = await admin.topology()
  for (const shard of internals.removeShards) {
    const node = now.nodes.find((n) => n.id === shard.id)
    if (node && node.role === 'primary' && node.slots.length > 0) {
      warn(`${shard.address} still owns ${countSlots(node.slots)} slot(s): its shard is not removed`)
      continue
    }
    if (node && node.role === 'primary' && Number(await admin.call(node, ['DBSIZE'])) > 0) {
      warn(`${shard.address} owns no slots but still holds keys: its shard is not removed`)
      continue
    }
    const members = new Map((internals.shardNodes.get(shard.id) ?? []).map((n) => [n.id, n]))
    for (const n of now.nodes) if (n.primaryId === shard.id && !members.has(n.id)) members.set(n.id, refOf(n))
    removing.push(...members.values())
  }
  return removing
}

/** Removed shards: forget their nodes everywhere, then stop (sandbox) or reset them; likewise dropped replicas. */
export async function removeShards(run: ScaleRun): Promise<void> {
  const { internals, report } = run
  const removing = await emptiedShardNodes(run)
  const replicaRemovals = internals.replicaRemovals.filter((r) => !removing.some((x) => x.id === r.id))
  if (!removing.length && !replicaRemovals.length) return
  run.emit({
    type: 'phase',
    phase: 'removing nodes',
    detail: `${removing.length + replicaRemovals.length} node(s)`,
  })
  report.removed.push(
    ...(await removeNodes(
      run.ctx.admin,
      internals.source,
      [...removing, ...replicaRemovals],
      JOIN_TIMEOUT_MS,
    )),
  )
}
