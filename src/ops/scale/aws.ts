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
import { describeTarget, type AwsDeployment } from '../../aws/types.js'
import { waitFor, type StatusChangeEvent, type WaitOptions } from '../../aws/waiter.js'
import { AwsError, UsageError } from '../../errors.js'
import { shardMemory } from './aws-memory.js'
import {
  buildAwsPlan,
  currentReplicas,
  type AwsScalePlan,
  type AwsScaleRequest,
  type AwsScaleStep,
  type AwsStepKind,
} from './aws-plan.js'

export type { AwsScalePlan } from './aws-plan.js'

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
