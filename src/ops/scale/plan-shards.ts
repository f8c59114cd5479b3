/** The shape a scale aims for: which shards go, which replicas come or go, which slots move. */
import { countSlots } from '../../connect/cluster-parsers.js'
import type { TopologyNode } from '../../connect/topology.js'
import { UsageError } from '../../errors.js'
import { refOf, type NodeRef } from './admin.js'
import { parseWeights, resolveNode } from './node-names.js'
import {
  chooseShardsToRemove,
  idealCounts,
  isBalanced,
  planSlotMoves,
  type ShardSlots,
  type TargetShard,
} from './planner.js'
import type { ClusterView } from './preflight.js'
import type { PlanInternals, ScaleRequest } from './types.js'

function mode(values: number[]): number {
  const counts = new Map<number, number>()
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1)
  let best = 0
  let bestCount = -1
  for (const [v, c] of counts) if (c > bestCount || (c === bestCount && v > best)) [best, bestCount] = [v, c]
  return best
}

/** Which shards go: those named with --remove-shard, or the ones holding the fewest keys. */
export function chooseRemovals(
  view: ClusterView,
  req: ScaleRequest,
): { shardsAfter: number; removeShards: TopologyNode[]; removalReason?: string } {
  const { topology, primaries, keys, seedNode } = view
  const seedShard = seedNode ? (seedNode.role === 'primary' ? seedNode.id : seedNode.primaryId) : undefined
  let removeShards: TopologyNode[] = []
  let removalReason: string | undefined
  if (req.remove?.length) {
    removeShards = req.remove.map((r) => {
      const node = resolveNode(topology, r, '--remove-shard')
      if (node.role !== 'primary')
        throw new UsageError(`--remove-shard ${node.address} is a replica: name a shard by its primary`, {
          hint: 'To drop replicas use --replicas R.',
        })
      return node
    })
    removalReason = 'named with --remove-shard'
  }
  const shardsAfter = req.shards ?? primaries.length - removeShards.length
  if (!Number.isInteger(shardsAfter) || shardsAfter < 1)
    throw new UsageError(`a cluster needs at least 1 shard (asked for ${shardsAfter})`)
  if (req.remove?.length && primaries.length - removeShards.length !== shardsAfter)
    throw new UsageError(
      `--remove-shard names ${removeShards.length} shard(s) but going from ${primaries.length} to ${shardsAfter} shards removes ${primaries.length - shardsAfter}`,
    )
  if (!req.remove?.length && shardsAfter < primaries.length) {
    const ids = chooseShardsToRemove(
      primaries.map((p) => ({
        id: p.id,
        address: p.address,
        keys: keys.get(p.id) ?? 0,
        slots: countSlots(p.slots),
        seed: p.id === seedShard,
      })),
      primaries.length - shardsAfter,
    )
    removeShards = primaries.filter((p) => ids.includes(p.id))
    removalReason = 'the shards holding the fewest keys (least data to move), never the one connected to'
  }
  return { shardsAfter, removeShards, removalReason }
}

/** New shards (with their replicas), and replicas added to or dropped from the shards that stay. */
export function planReplicas(
  view: ClusterView,
  req: ScaleRequest,
  shardsAfter: number,
  staying: TopologyNode[],
): Pick<PlanInternals, 'newShards' | 'replicaAdds' | 'replicaRemovals'> & { newShardReplicas: number } {
  const { primaries, replicasOf, seedNode } = view
  const currentReplicas = primaries.map((p) => replicasOf(p.id).length)
  const newShardReplicas = req.replicas ?? mode(currentReplicas.length ? currentReplicas : [0])
  const newShards = Array.from({ length: Math.max(0, shardsAfter - primaries.length) }, (_, i) => ({
    placeholder: `new-${i + 1}`,
    replicas: newShardReplicas,
  }))
  const replicaAdds: PlanInternals['replicaAdds'] = []
  const replicaRemovals: NodeRef[] = []
  if (req.replicas !== undefined) {
    for (const p of staying) {
      const replicas = replicasOf(p.id)
      if (replicas.length < req.replicas)
        replicaAdds.push({ primaryId: p.id, count: req.replicas - replicas.length })
      if (replicas.length > req.replicas) {
        const drop = [...replicas]
          .sort(
            (a, b) =>
              Number(b.health === 'failed') - Number(a.health === 'failed') ||
              Number(a.address === seedNode?.address) - Number(b.address === seedNode?.address) ||
              b.address.localeCompare(a.address, undefined, { numeric: true }),
          )
          .slice(0, replicas.length - req.replicas)
        replicaRemovals.push(...drop.map(refOf))
      }
    }
  }
  return { newShardReplicas, newShards, replicaAdds, replicaRemovals }
}

/** The slot moves to the shards that stay and the new ones, by weight; none when already balanced. */
export function planSlots(
  view: ClusterView,
  req: ScaleRequest,
  staying: TopologyNode[],
  newShards: PlanInternals['newShards'],
  removeIds: Set<string>,
  notes: string[],
) {
  const { topology, primaries } = view
  const weights = parseWeights(topology, req.weights ?? [])
  for (const id of weights.keys())
    if (removeIds.has(id))
      throw new UsageError('--weights names a shard that --remove-shard (or the plan) removes')
  const targets: TargetShard[] = [
    ...staying.map((p) => ({ id: p.id, weight: weights.get(p.id) ?? 1 })),
    ...newShards.map((s) => ({ id: s.placeholder, weight: 1 })),
  ]
  if (!targets.some((t) => t.weight > 0))
    throw new UsageError('--weights leave no shard with a weight above 0')
  const current: ShardSlots[] = primaries.map((p) => ({ id: p.id, slots: p.slots }))
  const currentCounts = new Map(current.map((c) => [c.id, countSlots(c.slots)]))
  const shapeChanges = newShards.length > 0 || removeIds.size > 0
  let moves = planSlotMoves(current, targets)
  const slotsOnly =
    req.replicas !== undefined && req.shards === undefined && !req.rebalance && !req.weights?.length
  if (slotsOnly) moves = []
  else if (
    !shapeChanges &&
    isBalanced(currentCounts, idealCounts(targets, currentCounts), req.thresholdPercent / 100)
  ) {
    if (moves.length)
      notes.push(
        `slots are already balanced within ${req.thresholdPercent} %: no slot moves (lower --threshold to force)`,
      )
    moves = []
  }
  return { weights, targets, current, moves }
}
