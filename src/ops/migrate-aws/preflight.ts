import type { AwsClients } from '../../aws/clients.js'
import { discoverDeployment } from '../../aws/discovery.js'
import { isNotFound } from '../../aws/errors.js'
import { exportKeys } from '../../aws/snapshots.js'
import type { AwsDeployment } from '../../aws/types.js'
import { UsageError } from '../../errors.js'
import { memoryDbNodeType, plannedCalls } from './plan.js'
import { checkAcl, type MigrateAwsRequest } from './request.js'
import { checkSameParams, loadState } from './state.js'
import type { MigrateAwsParams, MigrateAwsState, PlannedCall } from './types.js'

const stamp = (d = new Date()) => d.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-')

/**
 * What the run will do: the parameters (from the state file when resuming, else from the request
 * and the source as AWS describes it) and the exact calls in order.
 */
export async function planAwsMigration(
  clients: AwsClients,
  request: MigrateAwsRequest,
): Promise<{
  params: MigrateAwsParams
  state?: MigrateAwsState
  source: AwsDeployment
  calls: PlannedCall[]
}> {
  const state = loadState(request.statePath)
  checkAcl(request, state)
  const source = await discoverDeployment(clients, { kind: 'elasticache', name: request.source })
  if (source.kind === 'serverless-cache')
    throw new UsageError(`'${request.source}' is a serverless cache: migrate aws takes a replication group`)
  const nodeType = request.nodeType ?? state?.params.nodeType ?? memoryDbNodeType(source.nodeType)
  if (!nodeType)
    throw new UsageError(`cannot derive a MemoryDB node type from '${source.nodeType ?? 'unknown'}'`, {
      hint: 'Give --node-type, such as db.r6g.large.',
    })
  const asked: Partial<MigrateAwsParams> = {
    source: source.name,
    target: request.target,
    bucket: request.bucket,
    ...(request.snapshotName ? { snapshotName: request.snapshotName } : {}),
    ...(request.prefix ? { prefix: request.prefix } : {}),
    ...(request.nodeType ? { nodeType: request.nodeType } : {}),
    ...(request.shards !== undefined ? { shards: request.shards } : {}),
    ...(request.replicas !== undefined ? { replicas: request.replicas } : {}),
    ...(request.acl ? { acl: request.acl } : {}),
    ...(request.subnetGroup ? { subnetGroup: request.subnetGroup } : {}),
  }
  if (state) {
    checkSameParams(request.statePath, state.params, asked)
    return {
      params: state.params,
      state,
      source,
      calls: plannedCalls(state.params, exportKeys(state.params.prefix, source.shards.length)),
    }
  }
  const snapshotName = request.snapshotName ?? `kvtop-${source.name}-${stamp()}`.toLowerCase()
  const params: MigrateAwsParams = {
    source: source.name,
    target: request.target,
    bucket: request.bucket,
    snapshotName,
    prefix: request.prefix ?? snapshotName,
    nodeType,
    shards: request.shards ?? Math.max(1, source.shards.length),
    replicas: request.replicas ?? Math.max(0, (source.shards[0]?.nodes.length ?? 1) - 1),
    acl: request.acl!,
    ...(request.subnetGroup ? { subnetGroup: request.subnetGroup } : {}),
    region: source.region,
  }
  return { params, source, calls: plannedCalls(params, exportKeys(params.prefix, source.shards.length)) }
}

/** A fresh migration creates its target: one that exists already is not ours to seed. */
export async function checkTargetFree(clients: AwsClients, name: string): Promise<void> {
  try {
    const existing = await discoverDeployment(clients, { kind: 'memorydb', name })
    throw new UsageError(
      `MemoryDB cluster '${name}' already exists (status ${existing.status ?? 'unknown'})`,
      {
        code: 'target-exists',
        hint: 'migrate aws creates the target from the snapshot: choose a new --memorydb name, or use migrate run to copy into an existing cluster.',
      },
    )
  } catch (err) {
    if (!isNotFound(err)) throw err
  }
}
