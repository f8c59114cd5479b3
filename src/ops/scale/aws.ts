/**
 * `kvtop scale aws`: scale ElastiCache replication groups and MemoryDB clusters through the AWS
 * APIs (the data plane refuses CLUSTER SETSLOT / MIGRATE there). Preflight: the deployment is
 * available, no snapshot is being taken, and every shard keeps memory headroom after the change.
 * Scale-in on ElastiCache names the node groups to remove (the ones holding the least data, or
 * those given); MemoryDB chooses itself. Each step waits until the deployment is available again.
 */
import { awsCall, type AwsClients } from '../../aws/clients.js'
import { CloudWatchSource, type CloudWatchSample } from '../../aws/cloudwatch.js'
import { discoverDeployment } from '../../aws/discovery.js'
import { isAccessDenied } from '../../aws/errors.js'
import { listSnapshots } from '../../aws/snapshots.js'
import { describeTarget, type AwsDeployment, type AwsTarget } from '../../aws/types.js'
import { waitFor, type StatusChangeEvent, type WaitOptions } from '../../aws/waiter.js'
import { AwsError, UsageError } from '../../errors.js'

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

type AwsStepKind = 'shards' | 'replicas' | 'node-type'

interface AwsScaleStep {
  kind: AwsStepKind
  /** The API operation called. */
  operation: string
  from: string | number
  to: string | number
  /** The request as sent (for --dry-run and the record). */
  request: Record<string, unknown>
  explanation?: string
}

export interface ShardMemory {
  shard: string
  /** The primary's node id (IsMaster/IsPrimary from CloudWatch, or the role AWS reports). */
  primary?: string
  bytesUsed?: number
  /** maxmemory, derived from BytesUsed and DatabaseMemoryUsagePercentage. */
  maxBytes?: number
  usedPercent?: number
}

interface MemoryCheck {
  source: 'cloudwatch' | 'unavailable'
  shards: ShardMemory[]
  totalBytes?: number
  /** Memory per shard afterwards (maxmemory of the node type after the change). */
  capacityAfterBytes?: number
  /** Data per shard afterwards, assuming it spreads evenly over the shards. */
  perShardAfterBytes?: number
  projectedPercent?: number
  limitPercent: number
  note?: string
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

/**
 * maxmemory-relevant memory of common node types in GiB (AWS's published figures). Only ratios
 * between two types are used: the current capacity is measured, not looked up.
 */
const NODE_MEMORY_GIB: Record<string, number> = {
  't2.micro': 0.555,
  't2.small': 1.55,
  't2.medium': 3.22,
  't3.micro': 0.5,
  't3.small': 1.37,
  't3.medium': 3.09,
  't4g.micro': 0.5,
  't4g.small': 1.37,
  't4g.medium': 3.09,
  'm5.large': 6.38,
  'm5.xlarge': 12.93,
  'm5.2xlarge': 26.04,
  'm5.4xlarge': 52.26,
  'm5.12xlarge': 157.12,
  'm5.24xlarge': 314.32,
  'm6g.large': 6.38,
  'm6g.xlarge': 12.93,
  'm6g.2xlarge': 26.04,
  'm6g.4xlarge': 52.26,
  'm6g.8xlarge': 103.68,
  'm6g.12xlarge': 157.12,
  'm6g.16xlarge': 209.55,
  'm7g.large': 6.38,
  'm7g.xlarge': 12.93,
  'm7g.2xlarge': 26.04,
  'm7g.4xlarge': 52.26,
  'm7g.8xlarge': 103.68,
  'm7g.12xlarge': 157.12,
  'm7g.16xlarge': 209.55,
  'r5.large': 13.07,
  'r5.xlarge': 26.32,
  'r5.2xlarge': 52.82,
  'r5.4xlarge': 105.81,
  'r5.12xlarge': 317.77,
  'r5.24xlarge': 635.61,
  'r6g.large': 13.07,
  'r6g.xlarge': 26.32,
  'r6g.2xlarge': 52.82,
  'r6g.4xlarge': 105.81,
  'r6g.8xlarge': 209.55,
  'r6g.12xlarge': 317.77,
  'r6g.16xlarge': 419.09,
  'r7g.large': 13.07,
  'r7g.xlarge': 26.32,
  'r7g.2xlarge': 52.82,
  'r7g.4xlarge': 105.81,
  'r7g.8xlarge': 209.55,
  'r7g.12xlarge': 317.77,
  'r7g.16xlarge': 419.09,
}

/** Memory of a node type (cache.r7g.large, db.r7g.large), or undefined when not in the table. */
export function nodeMemoryGiB(nodeType: string | undefined): number | undefined {
  if (!nodeType) return undefined
  return NODE_MEMORY_GIB[nodeType.replace(/^(cache|db)\./, '')]
}

function currentReplicas(d: AwsDeployment): number {
  const counts = d.shards.map((s) => Math.max(0, s.nodes.length - 1))
  return counts.length ? Math.min(...counts) : 0
}

/** Per-shard memory from CloudWatch: the primary's BytesUsed and DatabaseMemoryUsagePercentage. */
export function shardMemory(d: AwsDeployment, samples: Map<string, CloudWatchSample>): ShardMemory[] {
  return d.shards.map((s) => {
    const primary =
      s.nodes.find((n) => samples.get(n.id)?.isPrimary === 1) ??
      s.nodes.find((n) => n.role === 'primary') ??
      s.nodes[0]
    const sample = primary ? samples.get(primary.id) : undefined
    const bytesUsed = sample?.bytesUsed
    const pct = sample?.memoryUsagePercent
    // A percentage outside (0, 100] says nothing reliable about maxmemory (no limit set, a bad datapoint).
    const maxBytes =
      bytesUsed !== undefined && pct !== undefined && pct > 0 && pct <= 100
        ? Math.round(bytesUsed / (pct / 100))
        : undefined
    return {
      shard: s.id,
      ...(primary ? { primary: primary.id } : {}),
      ...(bytesUsed !== undefined ? { bytesUsed } : {}),
      ...(maxBytes !== undefined ? { maxBytes } : {}),
      ...(pct !== undefined ? { usedPercent: Math.round(pct * 100) / 100 } : {}),
    }
  })
}

/**
 * Which node groups to remove when scaling in: the ones holding the least data (their slots are
 * the cheapest to move), ties broken by the highest id (usually the most recently added).
 */
export function chooseNodeGroupsToRemove(memory: ShardMemory[], count: number): string[] {
  return [...memory]
    .sort(
      (a, b) =>
        (a.bytesUsed ?? Number.MAX_SAFE_INTEGER) - (b.bytesUsed ?? Number.MAX_SAFE_INTEGER) ||
        b.shard.localeCompare(a.shard),
    )
    .slice(0, count)
    .map((m) => m.shard)
}

function gib(bytes: number | undefined): string {
  return bytes === undefined ? '?' : `${(bytes / 1024 ** 3).toFixed(2)} GiB`
}

/** Projected memory use per shard after the change. Pure. */
export function projectMemory(
  memory: ShardMemory[],
  shardsAfter: number,
  nodeTypeBefore: string | undefined,
  nodeTypeAfter: string | undefined,
  limitPercent: number,
): MemoryCheck {
  const known = memory.filter((m) => m.bytesUsed !== undefined)
  if (!known.length || known.length < memory.length)
    return {
      source: 'unavailable',
      shards: memory,
      limitPercent,
      note: 'CloudWatch has no memory figures for every shard: headroom not checked',
    }
  const totalBytes = known.reduce((n, m) => n + m.bytesUsed!, 0)
  const capacities = memory.map((m) => m.maxBytes).filter((c): c is number => c !== undefined)
  let capacity = capacities.length ? Math.min(...capacities) : undefined
  let note: string | undefined
  if (capacity !== undefined && nodeTypeAfter && nodeTypeAfter !== nodeTypeBefore) {
    const before = nodeMemoryGiB(nodeTypeBefore)
    const after = nodeMemoryGiB(nodeTypeAfter)
    if (before && after) capacity = Math.round(capacity * (after / before))
    else {
      capacity = undefined
      note = `the memory of ${!after ? nodeTypeAfter : nodeTypeBefore} is not in kvtop's node table: headroom after the node type change not checked`
    }
  }
  const perShardAfterBytes = Math.round(totalBytes / Math.max(1, shardsAfter))
  const projectedPercent =
    capacity !== undefined && capacity > 0
      ? Math.round((perShardAfterBytes / capacity) * 10000) / 100
      : undefined
  return {
    source: 'cloudwatch',
    shards: memory,
    totalBytes,
    ...(capacity !== undefined ? { capacityAfterBytes: capacity } : {}),
    perShardAfterBytes,
    ...(projectedPercent !== undefined ? { projectedPercent } : {}),
    limitPercent,
    ...(note
      ? { note }
      : capacity === undefined
        ? { note: 'no DatabaseMemoryUsagePercentage in CloudWatch: maxmemory unknown, headroom not checked' }
        : {}),
  }
}

interface PlanInputs {
  deployment: AwsDeployment
  memory: ShardMemory[]
  /** Snapshots being taken now (names). */
  snapshotsInProgress: string[]
  cloudwatchError?: string
}

/** Build the plan from what AWS reported. Pure (no calls), so that the choices are testable. */
export function buildAwsPlan(req: AwsScaleRequest, inputs: PlanInputs): AwsScalePlan {
  const d = inputs.deployment
  const target = req.target
  const isEc = target.kind === 'elasticache'
  const description = describeTarget(target)
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

  const up: AwsScaleStep[] = []
  const down: AwsScaleStep[] = []
  const memoryBefore = nodeMemoryGiB(d.nodeType)
  const memoryAfter = nodeMemoryGiB(nodeTypeAfter)
  if (req.shards !== undefined && req.shards !== shardsBefore) {
    if (isEc && !d.clusterMode)
      throw new UsageError(`${description} has cluster mode disabled: it has one shard, always`, {
        hint: 'Change --replicas or --node-type instead, or migrate to a cluster-mode-enabled group.',
      })
    const scaleIn = req.shards < shardsBefore
    let request: Record<string, unknown>
    let explanation: string | undefined
    if (isEc) {
      request = { ReplicationGroupId: d.name, NodeGroupCount: req.shards, ApplyImmediately: true }
      if (scaleIn) {
        const count = shardsBefore - req.shards
        let remove: string[]
        if (req.removeShards?.length) {
          const ids = new Set(d.shards.map((s) => s.id))
          const unknown = req.removeShards.filter((r) => !ids.has(r))
          if (unknown.length)
            throw new UsageError(
              `--remove-shard ${unknown.join(', ')}: no such node group in ${description}`,
              {
                hint: `Its node groups: ${[...ids].join(', ')}`,
              },
            )
          if (req.removeShards.length !== count)
            throw new UsageError(
              `--remove-shard names ${req.removeShards.length} node group(s) but ${shardsBefore} -> ${req.shards} removes ${count}`,
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
      } else {
        explanation = `ElastiCache adds ${req.shards - shardsBefore} node group(s) and rebalances the slots onto them, online`
      }
    } else {
      if (req.removeShards?.length)
        throw new UsageError(
          '--remove-shard applies to ElastiCache: MemoryDB chooses the shards to remove itself',
        )
      request = { ClusterName: d.name, ShardConfiguration: { ShardCount: req.shards } }
      explanation = scaleIn
        ? 'MemoryDB chooses which shards to remove and moves their slots to the others, online'
        : `MemoryDB adds ${req.shards - shardsBefore} shard(s) and rebalances the slots onto them, online`
    }
    const step: AwsScaleStep = {
      kind: 'shards',
      operation: isEc ? 'ModifyReplicationGroupShardConfiguration' : 'UpdateCluster',
      from: shardsBefore,
      to: req.shards,
      request,
      explanation,
    }
    ;(scaleIn ? down : up).push(step)
  } else if (req.removeShards?.length) {
    throw new UsageError('--remove-shard goes with --shards N (fewer than now)')
  }
  if (req.replicas !== undefined && req.replicas !== replicasBefore) {
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
    ;(increase ? up : down).push(step)
  }
  if (req.nodeType !== undefined && req.nodeType !== d.nodeType) {
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
    const smaller = memoryBefore !== undefined && memoryAfter !== undefined && memoryAfter < memoryBefore
    ;(smaller ? down : up).push(step)
  }
  // Steps that add capacity first, steps that take it away last.
  const steps = [...up, ...down]

  const memory = projectMemory(inputs.memory, shardsAfter, d.nodeType, nodeTypeAfter, req.memoryLimitPercent)
  if (inputs.cloudwatchError) memory.note = `CloudWatch: ${inputs.cloudwatchError}; headroom not checked`
  if (memory.note) warnings.push(memory.note)
  if (
    memory.projectedPercent !== undefined &&
    memory.projectedPercent > req.memoryLimitPercent &&
    steps.length
  ) {
    const message =
      `after the change each shard would hold ~${gib(memory.perShardAfterBytes)} of ${gib(memory.capacityAfterBytes)} ` +
      `(${memory.projectedPercent} % of maxmemory, above the ${req.memoryLimitPercent} % limit)`
    if (req.force) warnings.push(`${message}: going ahead (--ignore-memory-limit)`)
    else
      blockers.push(
        `${message}: pass --ignore-memory-limit to go ahead anyway, or choose more shards / a larger node type`,
      )
  }
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

/** Gather what the plan needs from AWS: the deployment, snapshots in progress, CloudWatch memory. */
export async function prepareAwsScale(clients: AwsClients, req: AwsScaleRequest): Promise<AwsScalePlan> {
  if (req.target.kind === 'serverless')
    throw new UsageError(
      'serverless caches scale themselves: there are no shards, replicas or node types to set',
      {
        hint: 'Set usage limits with: aws elasticache modify-serverless-cache --cache-usage-limits ...',
      },
    )
  const deployment = await discoverDeployment(clients, req.target)
  if (deployment.kind === 'cache-cluster' && req.shards !== undefined)
    throw new UsageError(
      `${describeTarget(req.target)} is a single cache cluster: it has no shards to change`,
    )
  const snapshots = await listSnapshots(clients, { target: req.target })
  const snapshotsInProgress = snapshots.snapshots
    .filter((s) => s.source === deployment.name && s.status === 'creating')
    .map((s) => s.name)
  let samples = new Map<string, CloudWatchSample>()
  let cloudwatchError: string | undefined
  try {
    const source = new CloudWatchSource({
      clients,
      metrics: ['bytesUsed', 'memoryUsagePercent', 'isPrimary'],
      lookbackSeconds: 900,
    })
    samples = await source.poll(deployment.cloudwatch.nodes)
  } catch (err) {
    if (!isAccessDenied(err) && !(err instanceof AwsError)) throw err
    cloudwatchError = (err as Error).message
  }
  return buildAwsPlan(req, {
    deployment,
    memory: shardMemory(deployment, samples),
    snapshotsInProgress,
    ...(cloudwatchError ? { cloudwatchError } : {}),
  })
}

interface AwsStepResult {
  kind: AwsStepKind
  operation: string
  from: string | number
  to: string | number
  status: string
  seconds: number
  phases: StatusChangeEvent[]
}

export interface AwsScaleResult {
  target: AwsScalePlan['target']
  steps: AwsStepResult[]
  complete: boolean
  /** What AWS reports at the end. */
  shards: number
  replicas: number
  nodeType?: string
  status: string
  seconds: number
}

interface AwsExecuteOptions extends WaitOptions {
  /** Return after issuing each call without waiting (only for a single step). */
  wait: boolean
  /** Called between status polls while a step runs (e.g. to show the slot distribution). */
  onPoll?: () => Promise<void>
}

async function send(clients: AwsClients, plan: AwsScalePlan, step: AwsScaleStep): Promise<void> {
  const ctx = {
    service: plan.target.kind === 'memorydb' ? ('MemoryDB' as const) : ('ElastiCache' as const),
    operation: step.operation,
    resource: plan.target.description,
    region: plan.target.region,
  }
  if (plan.target.kind === 'memorydb') {
    const { client, sdk } = await clients.memorydb()
    await awsCall(ctx, () => client.send(new sdk.UpdateClusterCommand(step.request as never)))
    return
  }
  const { client, sdk } = await clients.elasticache()
  switch (step.operation) {
    case 'ModifyReplicationGroupShardConfiguration':
      await awsCall(ctx, () =>
        client.send(new sdk.ModifyReplicationGroupShardConfigurationCommand(step.request as never)),
      )
      return
    case 'IncreaseReplicaCount':
      await awsCall(ctx, () => client.send(new sdk.IncreaseReplicaCountCommand(step.request as never)))
      return
    case 'DecreaseReplicaCount':
      await awsCall(ctx, () => client.send(new sdk.DecreaseReplicaCountCommand(step.request as never)))
      return
    case 'ModifyReplicationGroup':
      await awsCall(ctx, () => client.send(new sdk.ModifyReplicationGroupCommand(step.request as never)))
      return
    default:
      throw new Error(`unknown operation ${step.operation}`)
  }
}

const FAILED = /fail|incompatible|deleted|deleting/i

/** Run the plan's steps one after the other, each waiting until the deployment is available again. */
export async function executeAwsScale(
  clients: AwsClients,
  plan: AwsScalePlan,
  options: AwsExecuteOptions,
): Promise<AwsScaleResult> {
  const started = Date.now()
  const results: AwsStepResult[] = []
  let last: AwsDeployment | undefined
  for (const step of plan.steps) {
    const stepStart = Date.now()
    await send(clients, plan, step)
    if (!options.wait) {
      results.push({ ...pick(step), status: 'requested', seconds: 0, phases: [] })
      continue
    }
    // AWS may still report 'available' for a moment after the call: 'available' counts once the
    // deployment has been seen busy, or after a few polls.
    let seenBusy = false
    let polls = 0
    const waited = await waitFor<AwsDeployment>(
      {
        resource: `${plan.target.description} (${step.kind} ${step.from} -> ${step.to})`,
        describe: async () => {
          if (options.onPoll) await options.onPoll().catch(() => {})
          polls++
          const d = await discoverDeployment(clients, plan.target)
          if (d.status !== 'available') seenBusy = true
          return d
        },
        status: (d) => d.status ?? 'unknown',
        done: (status) => status === 'available' && (seenBusy || polls >= 4),
        failed: (status) => FAILED.test(status),
        resumeHint: `AWS carries on with the change; follow it with: kvtop discover --${plan.target.kind} ${plan.target.name}`,
      },
      options,
    )
    last = waited.value
    results.push({
      ...pick(step),
      status: waited.status,
      seconds: (Date.now() - stepStart) / 1000,
      phases: waited.phases,
    })
    if (waited.failed)
      throw new AwsError(
        `${plan.target.description} went to '${waited.status}' during the ${step.kind} change`,
        {
          code: 'aws-scale-failed',
          hint: 'See the event log: aws elasticache describe-events (or aws memorydb describe-events).',
        },
      )
  }
  last ??= await discoverDeployment(clients, plan.target)
  return {
    target: plan.target,
    steps: results,
    complete: results.every((r) => r.status === 'available'),
    shards: last.shards.length,
    replicas: currentReplicas(last),
    ...(last.nodeType ? { nodeType: last.nodeType } : {}),
    status: last.status ?? 'unknown',
    seconds: (Date.now() - started) / 1000,
  }
}

function pick(step: AwsScaleStep): Pick<AwsStepResult, 'kind' | 'operation' | 'from' | 'to'> {
  return { kind: step.kind, operation: step.operation, from: step.from, to: step.to }
}
