/**
 * `kvtop scale` for self-managed Redis Cluster: plan (shards, replicas, weights, which shards go),
 * then execute under live traffic — new nodes meet the cluster and get their replicas, slots move
 * with the standard protocol, drained shards are forgotten everywhere, replicas are added or
 * removed — with progress events throughout. Nothing here knows about views.
 */
import type { NodeAddress } from '../../connect/client.js'
import { countSlots, type SlotRange } from '../../connect/cluster-parsers.js'
import type { Topology, TopologyNode } from '../../connect/topology.js'
import { KvtopError, OperationError, UsageError } from '../../errors.js'
import { recordSandboxLayout } from '../../sandbox/grow.js'
import type { SandboxState } from '../../sandbox/state.js'
import { ProgressTracker } from '../progress.js'
import type { EventSink } from '../events.js'
import { refOf, type ClusterAdmin, type NodeRef } from './admin.js'
import { moveSlotGroup, type BigKey, type MoveTuning } from './migrate.js'
import {
  checkGivenNodes,
  countKeysInSlots,
  givenSource,
  joinNodes,
  makeReplica,
  removeNodes,
  sandboxSource,
  waitClusterOk,
  waitReplicasSynced,
  type NodeSource,
  type RemovedNode,
} from './nodes.js'
import {
  chooseShardsToRemove,
  countsAfter,
  expandRanges,
  idealCounts,
  isBalanced,
  maxDeviation,
  planSlotMoves,
  slotGroups,
  SLOT_COUNT,
  type ShardSlots,
  type TargetShard,
} from './planner.js'

export interface ScaleRequest {
  shards?: number
  replicas?: number
  rebalance?: boolean
  /** `NODE=WEIGHT` (NODE: id, id prefix or host:port of a primary). */
  weights?: string[]
  /** `HOST:PORT` of empty cluster-enabled nodes to add. */
  addNodes?: string[]
  /** Primaries (id, prefix or host:port) whose shards to remove. */
  remove?: string[]
  /** Balance tolerance in percent of a shard's ideal slot count. */
  thresholdPercent: number
}

export interface ScaleContext {
  admin: ClusterAdmin
  /** host:port the command was pointed at. */
  endpoint: string
  seed: NodeAddress
  /** The kvtop sandbox the cluster belongs to, if any: it starts and stops nodes. */
  sandbox?: SandboxState
  env: NodeJS.ProcessEnv
}

export interface PlanShard {
  /** Primary node id, or `new-N` for a shard whose nodes do not exist yet. */
  shard: string
  address?: string
  status: 'kept' | 'new' | 'removed'
  slotsBefore: number
  slotsAfter: number
  keys: number
  replicasBefore: number
  replicasAfter: number
  weight: number
}

export interface PlannedMove {
  from: string
  fromAddress: string
  to: string
  toAddress?: string
  slots: number
  ranges: SlotRange[]
  keys: number
}

export interface PlannedRemoval {
  id: string
  address: string
  role: 'primary' | 'replica'
  /** The primary of the shard the node belongs to. */
  shard: string
  action: 'stop' | 'reset'
}

export interface ScalePlan {
  endpoint: string
  kind: 'scale-out' | 'scale-in' | 'rebalance' | 'replicas' | 'none'
  shardsBefore: number
  shardsAfter: number
  replicasAfter?: number
  shards: PlanShard[]
  moves: PlannedMove[]
  newNodes: {
    count: number
    primaries: number
    replicas: number
    source: NodeSource['kind']
    sandbox?: string
    addresses: string[]
  }
  removals: PlannedRemoval[]
  removalReason?: string
  totals: { slots: number; keys: number; moves: number }
  balance: Balance
  noop: boolean
  notes: string[]
}

export interface Balance {
  /** Smallest and largest slot count per shard (after the plan / after the run). */
  min: number
  max: number
  maxDeviationPercent: number
  thresholdPercent: number
  balanced: boolean
}

interface Internals {
  source: NodeSource
  newShards: { placeholder: string; replicas: number }[]
  replicaAdds: { primaryId: string; count: number }[]
  removeShards: NodeRef[]
  replicaRemovals: NodeRef[]
  /** Nodes of each shard being removed, by primary id. */
  shardNodes: Map<string, NodeRef[]>
}

export interface PreparedScale {
  plan: ScalePlan
  internals: Internals
}

const JOIN_TIMEOUT_MS = 60_000

/** Resolve a node named by id, unique id prefix (6+ characters) or host:port. */
export function resolveNode(topology: Topology, text: string, flag: string): TopologyNode {
  const t = text.trim()
  const byAddress = topology.nodes.filter((n) => n.address === t || `${n.host}:${n.port}` === t)
  if (byAddress.length === 1) return byAddress[0]
  const byId = topology.nodes.filter((n) => n.id === t || (t.length >= 6 && n.id.startsWith(t)))
  if (byId.length === 1) return byId[0]
  if (byId.length > 1)
    throw new UsageError(`${flag} '${t}' matches ${byId.length} nodes: give more of the id`)
  throw new UsageError(`${flag} '${t}' names no node of this cluster`, {
    hint: 'Name a node by host:port or by its node id (see `kvtop discover`).',
  })
}

export function parseWeights(topology: Topology, values: readonly string[]): Map<string, number> {
  const weights = new Map<string, number>()
  for (const v of values) {
    const eq = v.lastIndexOf('=')
    const w = Number(v.slice(eq + 1))
    if (eq <= 0 || !Number.isFinite(w) || w < 0)
      throw new UsageError(`invalid --weights '${v}': expected NODE=WEIGHT with WEIGHT >= 0`)
    const node = resolveNode(topology, v.slice(0, eq), '--weights')
    if (node.role !== 'primary')
      throw new UsageError(`--weights '${v}': ${node.address} is a replica; weights apply to primaries`)
    weights.set(node.id, w)
  }
  return weights
}

function mode(values: number[]): number {
  const counts = new Map<number, number>()
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1)
  let best = 0
  let bestCount = -1
  for (const [v, c] of counts) if (c > bestCount || (c === bestCount && v > best)) [best, bestCount] = [v, c]
  return best
}

function balanceOf(counts: Map<string, number>, targets: TargetShard[], thresholdPercent: number): Balance {
  const ideal = idealCounts(targets, counts)
  const live = targets.filter((t) => t.weight > 0).map((t) => counts.get(t.id) ?? 0)
  return {
    min: live.length ? Math.min(...live) : 0,
    max: live.length ? Math.max(...live) : 0,
    maxDeviationPercent: Math.round(maxDeviation(counts, ideal) * 10000) / 100,
    thresholdPercent,
    balanced: isBalanced(counts, ideal, thresholdPercent / 100),
  }
}

/** Slots importing or migrating on any primary, from each primary's own view. */
export async function openSlotsOf(admin: ClusterAdmin, topology: Topology): Promise<number[]> {
  const open = new Set<number>()
  for (const p of topology.nodes.filter((n) => n.role === 'primary' && n.health !== 'failed')) {
    const me = (await admin.nodesView(p)).find((r) => r.myself)
    for (const i of me?.importing ?? []) open.add(i.slot)
    for (const m of me?.migrating ?? []) open.add(m.slot)
  }
  return [...open].sort((a, b) => a - b)
}

/** The cluster must be healthy, settled and fully covered before its shape changes. */
async function preflight(admin: ClusterAdmin): Promise<Topology> {
  let topology: Topology
  try {
    topology = await admin.waitConsistent(15_000)
  } catch (err) {
    if (err instanceof KvtopError && err.exitCode === 3) throw err
    throw new UsageError('the cluster nodes do not agree on who owns which slots', {
      code: 'not-settled',
      hint: 'Wait for the cluster to settle (kvtop discover), or run `kvtop scale --fix` after an interrupted move.',
    })
  }
  const failed = topology.nodes.filter((n) => n.role === 'primary' && n.health === 'failed' && n.slots.length)
  if (failed.length)
    throw new UsageError(`primary ${failed.map((f) => f.address).join(', ')} is failed`, {
      hint: 'Let the cluster fail over (or bring the node back) before changing its shape.',
    })
  const open = await openSlotsOf(admin, topology)
  if (open.length)
    throw new UsageError(`${open.length} slot(s) are open (importing/migrating) from an interrupted move`, {
      code: 'open-slots',
      hint: 'Settle them first with `kvtop scale --fix` (same URL), then run the scale again.',
    })
  if ((topology.slotsCovered ?? 0) < SLOT_COUNT)
    throw new UsageError(`${SLOT_COUNT - (topology.slotsCovered ?? 0)} slot(s) have no owner`, {
      code: 'uncovered',
      hint: 'Run `kvtop scale --fix` to assign them.',
    })
  return topology
}

/** The cluster as the plan starts from it: after preflight(), with each primary's key count. */
interface ClusterView {
  topology: Topology
  primaries: TopologyNode[]
  replicasOf(id: string): TopologyNode[]
  keys: Map<string, number>
  seedNode?: TopologyNode
}

async function readCluster(ctx: ScaleContext): Promise<ClusterView> {
  const topology = await preflight(ctx.admin)
  const primaries = topology.nodes.filter((n) => n.role === 'primary' && n.health !== 'failed')
  const replicasOf = (id: string) => topology.nodes.filter((n) => n.role === 'replica' && n.primaryId === id)
  const keys = new Map<string, number>()
  for (const p of primaries) keys.set(p.id, Number(await ctx.admin.call(p, ['DBSIZE'])))
  const seedNode = topology.nodes.find((n) => n.host === ctx.seed.host && n.port === ctx.seed.port)
  return { topology, primaries, replicasOf, keys, seedNode }
}

/** Which shards go: those named with --remove-shard, or the ones holding the fewest keys. */
function chooseRemovals(
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
function planReplicas(
  view: ClusterView,
  req: ScaleRequest,
  shardsAfter: number,
  staying: TopologyNode[],
): Pick<Internals, 'newShards' | 'replicaAdds' | 'replicaRemovals'> & { newShardReplicas: number } {
  const { primaries, replicasOf, seedNode } = view
  const currentReplicas = primaries.map((p) => replicasOf(p.id).length)
  const newShardReplicas = req.replicas ?? mode(currentReplicas.length ? currentReplicas : [0])
  const newShards = Array.from({ length: Math.max(0, shardsAfter - primaries.length) }, (_, i) => ({
    placeholder: `new-${i + 1}`,
    replicas: newShardReplicas,
  }))
  const replicaAdds: Internals['replicaAdds'] = []
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
function planSlots(
  view: ClusterView,
  req: ScaleRequest,
  staying: TopologyNode[],
  newShards: Internals['newShards'],
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

/** Plan the change; nothing in the cluster changes. */
export async function prepareScale(ctx: ScaleContext, req: ScaleRequest): Promise<PreparedScale> {
  const view = await readCluster(ctx)
  const { topology, primaries, replicasOf, keys } = view
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

  // Removals: the removed shards' primaries and replicas, and the replicas dropped.
  const shardNodes = new Map<string, NodeRef[]>()
  for (const p of removeShards) shardNodes.set(p.id, [refOf(p), ...replicasOf(p.id).map(refOf)])
  const removals: PlannedRemoval[] = [
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

  const after = countsAfter(current, moves)
  const addrOf = (id: string) => primaries.find((p) => p.id === id)?.address
  const plannedMoves: PlannedMove[] = moves.map((m) => ({
    from: m.from,
    fromAddress: addrOf(m.from)!,
    to: m.to,
    ...(addrOf(m.to) ? { toAddress: addrOf(m.to) } : {}),
    slots: m.slots,
    ranges: m.ranges,
    keys: expandRanges(m.ranges).reduce((n, s) => n + (slotKeys.get(s) ?? 0), 0),
  }))
  const shards: PlanShard[] = [
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
  const totalSlots = moves.reduce((n, m) => n + m.slots, 0)
  const totalKeys = plannedMoves.reduce((n, m) => n + m.keys, 0)
  const kind: ScalePlan['kind'] = newShards.length
    ? 'scale-out'
    : removeShards.length
      ? 'scale-in'
      : moves.length
        ? 'rebalance'
        : replicaAdds.length || replicaRemovals.length
          ? 'replicas'
          : 'none'
  const plan: ScalePlan = {
    endpoint: ctx.endpoint,
    kind,
    shardsBefore: primaries.length,
    shardsAfter,
    ...(req.replicas !== undefined ? { replicasAfter: req.replicas } : {}),
    shards,
    moves: plannedMoves,
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
    totals: { slots: totalSlots, keys: totalKeys, moves: moves.length },
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

export interface ExecuteOptions {
  tuning: MoveTuning
  /** Source shards migrating at the same time. */
  parallel: number
  /** Slots opened (IMPORTING/MIGRATING) and closed (NODE) together. */
  slotGroup: number
  onEvent?: EventSink
  /** Stop after the slot groups in flight (no slot left open). */
  signal?: AbortSignal
  /** Stop between key batches (slots may be left open; `scale --fix` settles them). */
  hardStop?: AbortSignal
  /** How long to wait for new replicas' initial sync. */
  syncTimeoutMs?: number
}

export interface ReportShard {
  index: number
  id: string
  address: string
  /** Slot ranges [[from, to]], as discover and status show them. */
  slots: SlotRange[]
  slotCount: number
  keys: number
  replicas: number
}

export interface ScaleReport {
  endpoint: string
  kind: ScalePlan['kind']
  complete: boolean
  interrupted: boolean
  seconds: number
  slotsMoved: number
  keysMoved: number
  migrateSeconds: number
  keysPerSecond: number
  added: { id: string; address: string; role: 'primary' | 'replica'; primaryId?: string }[]
  removed: RemovedNode[]
  openSlots: number[]
  bigKeys: BigKey[]
  /** Slots where the target held stale copies of keys still on the source (replaced by the source's). */
  replacedSlots: number
  shards: ReportShard[]
  balance: Balance
  warnings: string[]
}

/** Carry out a prepared plan. Throws OperationError (resumable) when it stops midway. */
export async function executeScale(
  ctx: ScaleContext,
  prepared: PreparedScale,
  options: ExecuteOptions,
): Promise<ScaleReport> {
  const { admin } = ctx
  const { plan, internals } = prepared
  const emit = options.onEvent ?? (() => {})
  const started = Date.now()
  const warnings: string[] = []
  const warn = (message: string) => {
    warnings.push(message)
    emit({ type: 'warning', message })
  }
  const report: ScaleReport = {
    endpoint: plan.endpoint,
    kind: plan.kind,
    complete: false,
    interrupted: false,
    seconds: 0,
    slotsMoved: 0,
    keysMoved: 0,
    migrateSeconds: 0,
    keysPerSecond: 0,
    added: [],
    removed: [],
    openSlots: [],
    bigKeys: [],
    replacedSlots: 0,
    shards: [],
    balance: plan.balance,
    warnings,
  }

  // 1. New nodes: start or take them, meet, replicate.
  const ids = new Map<string, NodeRef>()
  if (plan.newNodes.count > 0) {
    emit({
      type: 'phase',
      phase: 'adding nodes',
      detail: `${plan.newNodes.count} node(s), ${internals.source.description}`,
    })
    const addresses = await internals.source.acquire(plan.newNodes.count)
    const topologyBefore = await admin.topology()
    const seed = topologyBefore.nodes.find((n) => n.role === 'primary' && n.up) ?? ctx.seed
    const refs = await joinNodes(admin, seed, addresses, JOIN_TIMEOUT_MS)
    let next = 0
    const replicaJobs: { ref: NodeRef; primaryId: string }[] = []
    for (const s of internals.newShards) {
      const primary = refs[next++]
      ids.set(s.placeholder, primary)
      report.added.push({ id: primary.id, address: primary.address, role: 'primary' })
      for (let i = 0; i < s.replicas; i++) replicaJobs.push({ ref: refs[next++], primaryId: primary.id })
    }
    for (const a of internals.replicaAdds)
      for (let i = 0; i < a.count; i++) replicaJobs.push({ ref: refs[next++], primaryId: a.primaryId })
    const newPrimaries = internals.newShards.map((s) => ids.get(s.placeholder)!)
    if (newPrimaries.length) await waitClusterOk(admin, newPrimaries, JOIN_TIMEOUT_MS)
    if (replicaJobs.length) {
      emit({ type: 'phase', phase: 'replicas', detail: `attaching ${replicaJobs.length} replica(s)` })
      for (const job of replicaJobs) {
        await makeReplica(admin, job.ref, job.primaryId, JOIN_TIMEOUT_MS)
        report.added.push({
          id: job.ref.id,
          address: job.ref.address,
          role: 'replica',
          primaryId: job.primaryId,
        })
      }
      await waitReplicasSynced(
        admin,
        replicaJobs.map((j) => j.ref),
        options.syncTimeoutMs ?? 600_000,
      )
    }
  }

  // 2. Slots.
  const topology = await admin.topology()
  const primaries = topology.nodes.filter((n) => n.role === 'primary' && n.health !== 'failed').map(refOf)
  const nodeOf = (id: string): NodeRef => {
    const ref = ids.get(id) ?? primaries.find((p) => p.id === id)
    if (!ref)
      throw new OperationError(`node ${id} of the plan is no longer in the cluster`, { resumable: true })
    return ref
  }
  if (plan.moves.length) {
    emit({
      type: 'phase',
      phase: 'moving slots',
      detail: `${plan.totals.slots} slots, ~${plan.totals.keys} keys, ${plan.moves.length} move(s)`,
    })
    await moveAll(ctx, plan, nodeOf, primaries, options, report, warn)
    if (report.interrupted) {
      report.seconds = (Date.now() - started) / 1000
      return finishReport(ctx, report, plan)
    }
  }

  // 3. Removed shards: forget their nodes everywhere, then stop (sandbox) or reset them.
  const removing: NodeRef[] = []
  if (internals.removeShards.length) {
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
      for (const n of now.nodes)
        if (n.primaryId === shard.id && !members.has(n.id)) members.set(n.id, refOf(n))
      removing.push(...members.values())
    }
  }
  const replicaRemovals = internals.replicaRemovals.filter((r) => !removing.some((x) => x.id === r.id))
  if (removing.length || replicaRemovals.length) {
    emit({
      type: 'phase',
      phase: 'removing nodes',
      detail: `${removing.length + replicaRemovals.length} node(s)`,
    })
    report.removed.push(
      ...(await removeNodes(admin, internals.source, [...removing, ...replicaRemovals], JOIN_TIMEOUT_MS)),
    )
  }
  report.seconds = (Date.now() - started) / 1000
  report.complete = report.openSlots.length === 0 && warnings.every((w) => !/is not removed/.test(w))
  return finishReport(ctx, report, plan)
}

async function moveAll(
  ctx: ScaleContext,
  plan: ScalePlan,
  nodeOf: (id: string) => NodeRef,
  primaries: NodeRef[],
  options: ExecuteOptions,
  report: ScaleReport,
  warn: (m: string) => void,
): Promise<void> {
  const { admin } = ctx
  const emit = options.onEvent ?? (() => {})
  const slotTracker = new ProgressTracker('slots', 'slots', plan.totals.slots)
  const keyTracker = new ProgressTracker('keys', 'keys', plan.totals.keys)
  const announced = [...primaries]
  // Work per source, so that a source runs one MIGRATE loop at a time.
  const bySource = new Map<string, { target: NodeRef; slots: number[] }[]>()
  for (const m of plan.moves) {
    const target = nodeOf(m.to)
    if (!announced.some((p) => p.id === target.id)) announced.push(target)
    const groups = slotGroups({ from: m.from, to: m.to, ranges: m.ranges, slots: m.slots }, options.slotGroup)
    const list = bySource.get(m.from) ?? []
    list.push(...groups.map((slots) => ({ target, slots })))
    bySource.set(m.from, list)
  }
  const queue = [...bySource.entries()]
  let failure: unknown
  const ticker = setInterval(() => {
    emit(slotTracker.snapshot())
    emit(keyTracker.snapshot())
  }, 500)
  const migrateStart = Date.now()
  const worker = async () => {
    for (;;) {
      const next = queue.shift()
      if (!next || failure) return
      const [sourceId, groups] = next
      const source = nodeOf(sourceId)
      const conn = await admin.open(source)
      try {
        for (const group of groups) {
          if (failure) return
          if (options.signal?.aborted || options.hardStop?.aborted) {
            report.interrupted = true
            return
          }
          const result = await moveSlotGroup(
            {
              admin,
              conn,
              source,
              target: group.target,
              primaries: announced,
              tuning: options.tuning,
              hooks: {
                onKeys: (n) => keyTracker.add(n),
                onWarning: warn,
                onBigKey: (k) => {
                  report.bigKeys.push(k)
                  emit({ type: 'big-key', ...k })
                },
                hardStop: options.hardStop,
              },
            },
            group.slots,
          )
          slotTracker.add(result.moved.length)
          report.slotsMoved += result.moved.length
          report.keysMoved += result.keys
          report.replacedSlots += result.replaced
          report.openSlots.push(...result.open)
          if (result.open.length)
            warn(
              `slot(s) ${result.open.join(', ')} stay open: big key(s) could not move from ${source.address} to ${group.target.address} within the MIGRATE timeout`,
            )
        }
      } catch (err) {
        // A stalled node: the stall's error (naming the node), not what it caused on this loop.
        failure ??=
          admin.stallError ??
          (err instanceof KvtopError
            ? err
            : new OperationError(
                `moving slots from ${source.address} stopped: ${err instanceof Error ? err.message : String(err)}`,
                {
                  code: 'move-failed',
                  resumable: true,
                  hint: 'Slots being moved are left open and still served: run `kvtop scale --fix` to settle them, then run the scale again.',
                  cause: err,
                },
              ))
      } finally {
        conn.close()
      }
    }
  }
  try {
    await Promise.all(Array.from({ length: Math.max(1, Math.min(options.parallel, queue.length)) }, worker))
  } finally {
    clearInterval(ticker)
    report.migrateSeconds = (Date.now() - migrateStart) / 1000
    report.keysPerSecond =
      report.migrateSeconds > 0 ? Math.round(report.keysMoved / report.migrateSeconds) : 0
    emit(slotTracker.snapshot())
    emit(keyTracker.snapshot())
  }
  if (queue.length && !failure && (options.signal?.aborted || options.hardStop?.aborted))
    report.interrupted = true
  if (failure) throw failure
}

async function finishReport(ctx: ScaleContext, report: ScaleReport, plan: ScalePlan): Promise<ScaleReport> {
  const { admin } = ctx
  const topology = await admin.waitConsistent(JOIN_TIMEOUT_MS)
  const primaries = topology.nodes.filter((n) => n.role === 'primary' && n.health !== 'failed')
  report.shards = []
  for (const p of primaries.filter((x) => x.slots.length > 0)) {
    report.shards.push({
      index: p.shard,
      id: p.id,
      address: p.address,
      slots: p.slots,
      slotCount: countSlots(p.slots),
      keys: Number(await admin.call(p, ['DBSIZE'])),
      replicas: topology.nodes.filter((n) => n.primaryId === p.id && n.health !== 'failed').length,
    })
  }
  const counts = new Map(report.shards.map((s) => [s.id, s.slotCount]))
  const targets = report.shards.map((s) => ({
    id: s.id,
    weight: plan.shards.find((x) => x.shard === s.id)?.weight ?? 1,
  }))
  if (targets.length) report.balance = balanceOf(counts, targets, plan.balance.thresholdPercent)
  if (ctx.sandbox) {
    recordSandboxLayout(
      ctx.sandbox.name,
      topology.nodes
        .filter((n) => n.host === '127.0.0.1' || n.host === 'localhost')
        .map((n) => ({ port: n.port, role: n.role, shard: n.shard })),
      ctx.env,
    )
  }
  return report
}
