/** `kvtop scale`'s plan: what the change does to each shard, with nothing in the cluster changed. */
import type { SlotRange } from '../../connect/cluster-parsers.js'
import { countSlots } from '../../connect/cluster-parsers.js'
import type { Topology, TopologyNode } from '../../connect/topology.js'
import { UsageError } from '../../errors.js'
import { refOf, type ClusterAdmin, type NodeRef } from './admin.js'
import { balanceOf } from './balance.js'
import { checkGivenNodes, countKeysInSlots, givenSource, sandboxSource, type NodeSource } from './nodes.js'
import { chooseRemovals, planReplicas, planSlots } from './plan-shards.js'
import { countsAfter, expandRanges, type SlotMove } from './planner.js'
import { readCluster, type ClusterView } from './preflight.js'
import type {
  PlanInternals,
  PlannedMove,
  PlannedRemoval,
  PlanShard,
  PreparedScale,
  ScaleContext,
  ScalePlan,
  ScaleRequest,
} from './types.js'

/** Keys per moved slot, counted on each source. */
async function countMovedKeys(
  admin: ClusterAdmin,
  primaries: TopologyNode[],
  moves: { from: string; ranges: SlotRange[] }[],
): Promise<Map<number, number>> {
  const slotKeys = new Map<number, number>()
  for (const m of moves) {
    const slots = expandRanges(m.ranges)
    const counts = await countKeysInSlots(
      admin,
      primaries.find((p) => p.id === m.from)!,
      slots,
    )
    slots.forEach((s, i) => slotKeys.set(s, counts[i]))
  }
  return slotKeys
}

/** Where new nodes come from: --add-node, the sandbox, or nowhere (refused when the plan needs some). */
async function chooseNodeSource(
  ctx: ScaleContext,
  req: ScaleRequest,
  needed: number,
  replicas: ReturnType<typeof planReplicas>,
): Promise<NodeSource> {
  const { newShards, replicaAdds, newShardReplicas } = replicas
  if (req.addNodes?.length) {
    const given = await checkGivenNodes(ctx.admin, req.addNodes)
    if (given.length !== needed)
      throw new UsageError(`the plan needs ${needed} new node(s) but --add-node gave ${given.length}`, {
        hint: needed
          ? `${newShards.length} new shard(s) x (1 primary + ${newShardReplicas} replicas)${replicaAdds.length ? ` + ${replicaAdds.reduce((n, a) => n + a.count, 0)} replica(s) for existing shards` : ''}.`
          : 'This change adds no nodes: leave --add-node out.',
      })
    return givenSource(given, ctx.sandbox, ctx.env)
  }
  if (ctx.sandbox) return sandboxSource(ctx.sandbox, ctx.env)
  if (needed > 0)
    throw new UsageError(`the plan needs ${needed} new node(s) and kvtop cannot start them here`, {
      code: 'needs-nodes',
      hint: 'Start empty cluster-enabled redis-server/valkey-server nodes and pass each with --add-node HOST:PORT.',
    })
  return givenSource([])
}

/** The removed shards' nodes (primary first, then its replicas), by primary id. */
function nodesOfShards(view: ClusterView, removeShards: TopologyNode[]): Map<string, NodeRef[]> {
  const shardNodes = new Map<string, NodeRef[]>()
  for (const p of removeShards) shardNodes.set(p.id, [refOf(p), ...view.replicasOf(p.id).map(refOf)])
  return shardNodes
}

/** Removals: the removed shards' primaries and replicas, and the replicas dropped. */
function plannedRemovals(
  topology: Topology,
  shardNodes: Map<string, NodeRef[]>,
  replicaRemovals: NodeRef[],
  source: NodeSource,
): PlannedRemoval[] {
  return [
    ...[...shardNodes.entries()].flatMap(([shard, nodes]) =>
      nodes.map((n, i) => ({
        id: n.id,
        address: n.address,
        role: (i === 0 ? 'primary' : 'replica') as 'primary' | 'replica',
        shard,
        action: (source.owns(n) ? 'stop' : 'reset') as 'stop' | 'reset',
      })),
    ),
    ...replicaRemovals.map((n) => ({
      id: n.id,
      address: n.address,
      role: 'replica' as const,
      shard: topology.nodes.find((x) => x.id === n.id)?.primaryId ?? '',
      action: (source.owns(n) ? 'stop' : 'reset') as 'stop' | 'reset',
    })),
  ]
}

function plannedMoves(
  primaries: TopologyNode[],
  moves: SlotMove[],
  slotKeys: Map<number, number>,
): PlannedMove[] {
  const addrOf = (id: string) => primaries.find((p) => p.id === id)?.address
  return moves.map((m) => ({
    from: m.from,
    fromAddress: addrOf(m.from)!,
    to: m.to,
    ...(addrOf(m.to) ? { toAddress: addrOf(m.to) } : {}),
    slots: m.slots,
    ranges: m.ranges,
    keys: expandRanges(m.ranges).reduce((n, s) => n + (slotKeys.get(s) ?? 0), 0),
  }))
}

/** Each shard before and after: the existing ones (kept or removed), then the new ones. */
function plannedShards(
  view: ClusterView,
  after: Map<string, number>,
  removeIds: Set<string>,
  replicas: Pick<PlanInternals, 'newShards' | 'replicaAdds' | 'replicaRemovals'>,
  weights: Map<string, number>,
): PlanShard[] {
  const { primaries, replicasOf, keys } = view
  const { newShards, replicaAdds, replicaRemovals } = replicas
  return [
    ...primaries.map((p) => {
      const replicasBefore = replicasOf(p.id).length
      const adds = replicaAdds.find((a) => a.primaryId === p.id)?.count ?? 0
      const drops = replicaRemovals.filter((r) => replicasOf(p.id).some((x) => x.id === r.id)).length
      return {
        shard: p.id,
        address: p.address,
        status: (removeIds.has(p.id) ? 'removed' : 'kept') as PlanShard['status'],
        slotsBefore: countSlots(p.slots),
        slotsAfter: after.get(p.id) ?? 0,
        keys: keys.get(p.id) ?? 0,
        replicasBefore,
        replicasAfter: removeIds.has(p.id) ? 0 : replicasBefore + adds - drops,
        weight: removeIds.has(p.id) ? 0 : (weights.get(p.id) ?? 1),
      }
    }),
    ...newShards.map((s) => ({
      shard: s.placeholder,
      status: 'new' as const,
      slotsBefore: 0,
      slotsAfter: after.get(s.placeholder) ?? 0,
      keys: 0,
      replicasBefore: 0,
      replicasAfter: s.replicas,
      weight: 1,
    })),
  ]
}

function kindOf(
  internals: Pick<PlanInternals, 'newShards' | 'replicaAdds' | 'replicaRemovals'>,
  removeShards: TopologyNode[],
  moves: SlotMove[],
): ScalePlan['kind'] {
  const { newShards, replicaAdds, replicaRemovals } = internals
  return newShards.length
    ? 'scale-out'
    : removeShards.length
      ? 'scale-in'
      : moves.length
        ? 'rebalance'
        : replicaAdds.length || replicaRemovals.length
          ? 'replicas'
          : 'none'
}

/** Plan the change; nothing in the cluster changes. */
export async function prepareScale(ctx: ScaleContext, req: ScaleRequest): Promise<PreparedScale> {
  const view = await readCluster(ctx)
  const { topology, primaries } = view
  const notes: string[] = []
  const { shardsAfter, removeShards, removalReason } = chooseRemovals(view, req)
  const removeIds = new Set(removeShards.map((r) => r.id))
  const staying = primaries.filter((p) => !removeIds.has(p.id))
  const replicas = planReplicas(view, req, shardsAfter, staying)
  const { newShards, replicaAdds, replicaRemovals } = replicas
  const { weights, targets, current, moves } = planSlots(view, req, staying, newShards, removeIds, notes)
  const slotKeys = await countMovedKeys(ctx.admin, primaries, moves)
  const needed =
    newShards.reduce((n, s) => n + 1 + s.replicas, 0) + replicaAdds.reduce((n, a) => n + a.count, 0)
  const source = await chooseNodeSource(ctx, req, needed, replicas)
  const shardNodes = nodesOfShards(view, removeShards)
  const removals = plannedRemovals(topology, shardNodes, replicaRemovals, source)
  const after = countsAfter(current, moves)
  const movesWithKeys = plannedMoves(primaries, moves, slotKeys)
  const plan: ScalePlan = {
    endpoint: ctx.endpoint,
    kind: kindOf(replicas, removeShards, moves),
    shardsBefore: primaries.length,
    shardsAfter,
    ...(req.replicas !== undefined ? { replicasAfter: req.replicas } : {}),
    shards: plannedShards(view, after, removeIds, replicas, weights),
    moves: movesWithKeys,
    newNodes: {
      count: needed,
      primaries: newShards.length,
      replicas: needed - newShards.length,
      source: needed ? source.kind : 'none',
      ...(source.sandbox ? { sandbox: source.sandbox } : {}),
      addresses: source.given.map((g) => `${g.host}:${g.port}`),
    },
    removals,
    ...(removalReason && removeShards.length ? { removalReason } : {}),
    totals: {
      slots: moves.reduce((n, m) => n + m.slots, 0),
      keys: movesWithKeys.reduce((n, m) => n + m.keys, 0),
      moves: moves.length,
    },
    balance: balanceOf(after, targets, req.thresholdPercent),
    noop: needed === 0 && moves.length === 0 && removals.length === 0,
    notes,
  }
  return {
    plan,
    internals: {
      source,
      newShards,
      replicaAdds,
      removeShards: removeShards.map(refOf),
      replicaRemovals,
      shardNodes,
    },
  }
}
