/**
 * The plan of `kvtop scale aws`, from what AWS reported: the API calls to make (capacity added
 * first, taken away last) and the reasons not to go ahead now. Pure, so that its choices are testable.
 */
import type { AwsDeployment, AwsTarget } from '../../aws/types.js'
import { describeTarget } from '../../aws/types.js'
import { UsageError } from '../../errors.js'
import {
  chooseNodeGroupsToRemove,
  gib,
  nodeMemoryGiB,
  projectMemory,
  type MemoryCheck,
  type ShardMemory,
} from './aws-memory.js'

export interface AwsScaleRequest {
  target: AwsTarget
  shards?: number
  replicas?: number
  nodeType?: string
  /** ElastiCache node group ids to remove on scale-in (default: the ones holding the least data). */
  removeShards?: string[]
  /** Refuse when a shard would use more than this share of its memory afterwards. */
  memoryLimitPercent: number
  /** Go ahead despite blockers that are judgement calls (memory headroom). */
  force?: boolean
}

export type AwsStepKind = 'shards' | 'replicas' | 'node-type'

export interface AwsScaleStep {
  kind: AwsStepKind
  /** The API operation called. */
  operation: string
  from: string | number
  to: string | number
  /** The request as sent (for --dry-run and the record). */
  request: Record<string, unknown>
  explanation?: string
}

export interface AwsScalePlan {
  target: AwsTarget & { region: string; description: string }
  status: string
  /** The data-plane URL AWS reports (where the slot distribution can be watched). */
  url?: string
  engine?: string
  nodeType?: string
  clusterMode: boolean
  shardsBefore: number
  replicasBefore: number
  shardsAfter: number
  replicasAfter: number
  nodeTypeAfter?: string
  steps: AwsScaleStep[]
  memory: MemoryCheck
  /** Reasons not to go ahead now (exit 2 without --dry-run; exit 1 with it). */
  blockers: string[]
  warnings: string[]
  noop: boolean
}

/** Replicas per shard now: the fewest any shard has. */
export function currentReplicas(d: AwsDeployment): number {
  const counts = d.shards.map((s) => Math.max(0, s.nodes.length - 1))
  return counts.length ? Math.min(...counts) : 0
}

interface PlanInputs {
  deployment: AwsDeployment
  memory: ShardMemory[]
  /** Snapshots being taken now (names). */
  snapshotsInProgress: string[]
  cloudwatchError?: string
}

/** What each step is built from. */
interface StepContext {
  req: AwsScaleRequest
  inputs: PlanInputs
  d: AwsDeployment
  isEc: boolean
  description: string
}

/** ElastiCache's shard change: on scale-in, the node groups to remove (named, or the least data). */
function elastiCacheShards(
  ctx: StepContext,
  shards: number,
  scaleIn: boolean,
): { request: Record<string, unknown>; explanation: string } {
  const { req, inputs, d, description } = ctx
  const shardsBefore = d.shards.length
  const request: Record<string, unknown> = {
    ReplicationGroupId: d.name,
    NodeGroupCount: shards,
    ApplyImmediately: true,
  }
  if (!scaleIn)
    return {
      request,
      explanation: `ElastiCache adds ${shards - shardsBefore} node group(s) and rebalances the slots onto them, online`,
    }
  const count = shardsBefore - shards
  let remove: string[]
  let explanation: string
  if (req.removeShards?.length) {
    const ids = new Set(d.shards.map((s) => s.id))
    const unknown = req.removeShards.filter((r) => !ids.has(r))
    if (unknown.length)
      throw new UsageError(`--remove-shard ${unknown.join(', ')}: no such node group in ${description}`, {
        hint: `Its node groups: ${[...ids].join(', ')}`,
      })
    if (req.removeShards.length !== count)
      throw new UsageError(
        `--remove-shard names ${req.removeShards.length} node group(s) but ${shardsBefore} -> ${shards} removes ${count}`,
      )
    remove = [...req.removeShards]
    explanation = `removing node group(s) ${remove.join(', ')} as named with --remove-shard`
  } else {
    remove = chooseNodeGroupsToRemove(inputs.memory, count)
    const used = (id: string) => inputs.memory.find((m) => m.shard === id)?.bytesUsed
    const allKnown = inputs.memory.every((m) => m.bytesUsed !== undefined)
    explanation = allKnown
      ? `removing node group(s) ${remove.map((r) => `${r} (${gib(used(r))})`).join(', ')}: they hold the least data, so the fewest keys move; ` +
        `kept: ${d.shards
          .filter((s) => !remove.includes(s.id))
          .map((s) => `${s.id} (${gib(used(s.id))})`)
          .join(', ')}`
      : `removing node group(s) ${remove.join(', ')} (the highest ids: CloudWatch did not give every shard's memory use)`
  }
  request.NodeGroupsToRemove = remove
  explanation += '. ElastiCache moves their slots to the remaining node groups, online.'
  return { request, explanation }
}

/** The shard count step (--shards), and whether it takes capacity away. */
function shardsStep(ctx: StepContext): { step: AwsScaleStep; removes: boolean } | undefined {
  const { req, d, isEc, description } = ctx
  const shardsBefore = d.shards.length
  if (req.shards === undefined || req.shards === shardsBefore) {
    if (req.removeShards?.length) throw new UsageError('--remove-shard goes with --shards N (fewer than now)')
    return undefined
  }
  if (isEc && !d.clusterMode)
    throw new UsageError(`${description} has cluster mode disabled: it has one shard, always`, {
      hint: 'Change --replicas or --node-type instead, or migrate to a cluster-mode-enabled group.',
    })
  const scaleIn = req.shards < shardsBefore
  let change: { request: Record<string, unknown>; explanation: string }
  if (isEc) change = elastiCacheShards(ctx, req.shards, scaleIn)
  else {
    if (req.removeShards?.length)
      throw new UsageError(
        '--remove-shard applies to ElastiCache: MemoryDB chooses the shards to remove itself',
      )
    change = {
      request: { ClusterName: d.name, ShardConfiguration: { ShardCount: req.shards } },
      explanation: scaleIn
        ? 'MemoryDB chooses which shards to remove and moves their slots to the others, online'
        : `MemoryDB adds ${req.shards - shardsBefore} shard(s) and rebalances the slots onto them, online`,
    }
  }
  const step: AwsScaleStep = {
    kind: 'shards',
    operation: isEc ? 'ModifyReplicationGroupShardConfiguration' : 'UpdateCluster',
    from: shardsBefore,
    to: req.shards,
    ...change,
  }
  return { step, removes: scaleIn }
}

/** The replica count step (--replicas), and whether it takes capacity away. */
function replicasStep(
  ctx: StepContext,
  warnings: string[],
): { step: AwsScaleStep; removes: boolean } | undefined {
  const { req, d, isEc, description } = ctx
  const replicasBefore = currentReplicas(d)
  if (req.replicas === undefined || req.replicas === replicasBefore) return undefined
  if (req.replicas < 0 || req.replicas > 5) throw new UsageError('--replicas must be from 0 to 5')
  if (d.kind === 'cache-cluster')
    throw new UsageError(`${description} is a single cache cluster outside any replication group`, {
      hint: 'Replicas need a replication group: create one from this cluster first.',
    })
  const increase = req.replicas > replicasBefore
  const step: AwsScaleStep = isEc
    ? {
        kind: 'replicas',
        operation: increase ? 'IncreaseReplicaCount' : 'DecreaseReplicaCount',
        from: replicasBefore,
        to: req.replicas,
        request: { ReplicationGroupId: d.name, NewReplicaCount: req.replicas, ApplyImmediately: true },
      }
    : {
        kind: 'replicas',
        operation: 'UpdateCluster',
        from: replicasBefore,
        to: req.replicas,
        request: { ClusterName: d.name, ReplicaConfiguration: { ReplicaCount: req.replicas } },
      }
  if (req.replicas === 0)
    warnings.push("with 0 replicas a node failure loses the shard's data until it is restored")
  return { step, removes: !increase }
}

/** The node type step (--node-type), and whether it takes capacity away (a smaller type). */
function nodeTypeStep(ctx: StepContext): { step: AwsScaleStep; removes: boolean } | undefined {
  const { req, d, isEc } = ctx
  if (req.nodeType === undefined || req.nodeType === d.nodeType) return undefined
  const prefix = isEc ? 'cache.' : 'db.'
  if (!req.nodeType.startsWith(prefix))
    throw new UsageError(
      `--node-type '${req.nodeType}': ${isEc ? 'ElastiCache' : 'MemoryDB'} node types start with '${prefix}'`,
    )
  const step: AwsScaleStep = {
    kind: 'node-type',
    operation: isEc ? 'ModifyReplicationGroup' : 'UpdateCluster',
    from: d.nodeType ?? 'unknown',
    to: req.nodeType,
    request: isEc
      ? { ReplicationGroupId: d.name, CacheNodeType: req.nodeType, ApplyImmediately: true }
      : { ClusterName: d.name, NodeType: req.nodeType },
    explanation: `${isEc ? 'ElastiCache' : 'MemoryDB'} replaces the nodes one by one (replicas first, then a failover per shard)`,
  }
  const memoryBefore = nodeMemoryGiB(d.nodeType)
  const memoryAfter = nodeMemoryGiB(req.nodeType)
  const smaller = memoryBefore !== undefined && memoryAfter !== undefined && memoryAfter < memoryBefore
  return { step, removes: smaller }
}

/** Memory per shard after the change; above the limit it blocks the change (or warns with --force). */
function checkMemory(
  ctx: StepContext,
  shardsAfter: number,
  nodeTypeAfter: string | undefined,
  changes: boolean,
  notices: { warnings: string[]; blockers: string[] },
): MemoryCheck {
  const { req, inputs, d } = ctx
  const { warnings, blockers } = notices
  const memory = projectMemory(inputs.memory, shardsAfter, d.nodeType, nodeTypeAfter, req.memoryLimitPercent)
  if (inputs.cloudwatchError) memory.note = `CloudWatch: ${inputs.cloudwatchError}; headroom not checked`
  if (memory.note) warnings.push(memory.note)
  if (memory.projectedPercent !== undefined && memory.projectedPercent > req.memoryLimitPercent && changes) {
    const message =
      `after the change each shard would hold ~${gib(memory.perShardAfterBytes)} of ${gib(memory.capacityAfterBytes)} ` +
      `(${memory.projectedPercent} % of maxmemory, above the ${req.memoryLimitPercent} % limit)`
    if (req.force) warnings.push(`${message}: going ahead (--ignore-memory-limit)`)
    else
      blockers.push(
        `${message}: pass --ignore-memory-limit to go ahead anyway, or choose more shards / a larger node type`,
      )
  }
  return memory
}

/** Build the plan from what AWS reported. Pure (no calls), so that the choices are testable. */
export function buildAwsPlan(req: AwsScaleRequest, inputs: PlanInputs): AwsScalePlan {
  const d = inputs.deployment
  const target = req.target
  const description = describeTarget(target)
  const ctx: StepContext = { req, inputs, d, isEc: target.kind === 'elasticache', description }
  const blockers: string[] = []
  const warnings: string[] = []
  const shardsBefore = d.shards.length
  const replicasBefore = currentReplicas(d)
  const shardsAfter = req.shards ?? shardsBefore
  const replicasAfter = req.replicas ?? replicasBefore
  const nodeTypeAfter = req.nodeType ?? d.nodeType
  if (d.status !== 'available')
    blockers.push(`${description} is '${d.status}', not 'available': wait until it is available`)
  for (const s of inputs.snapshotsInProgress)
    blockers.push(`snapshot '${s}' is being taken: wait until it is available (scaling is refused meanwhile)`)
  const changes = [shardsStep(ctx), replicasStep(ctx, warnings), nodeTypeStep(ctx)].filter(
    (c) => c !== undefined,
  )
  // Steps that add capacity first, steps that take it away last.
  const steps = [...changes.filter((c) => !c.removes), ...changes.filter((c) => c.removes)].map((c) => c.step)
  const memory = checkMemory(ctx, shardsAfter, nodeTypeAfter, steps.length > 0, { warnings, blockers })
  return {
    target: { ...target, region: d.region, description },
    status: d.status ?? 'unknown',
    ...(d.url ? { url: d.url } : {}),
    ...(d.engine ? { engine: d.engine } : {}),
    ...(d.nodeType ? { nodeType: d.nodeType } : {}),
    clusterMode: d.clusterMode,
    shardsBefore,
    replicasBefore,
    shardsAfter,
    replicasAfter,
    ...(nodeTypeAfter ? { nodeTypeAfter } : {}),
    steps,
    memory,
    blockers,
    warnings,
    noop: steps.length === 0,
  }
}
