import type { AwsClients } from '../../aws/clients.js'
import { awsCall } from '../../aws/clients.js'
import { deploymentStatus, discoverDeployment } from '../../aws/discovery.js'
import { isNotFound } from '../../aws/errors.js'
import { createAwsSnapshot, exportKeys, exportSnapshot, type ExportPlan } from '../../aws/snapshots.js'
import type { AwsDeployment } from '../../aws/types.js'
import { waitFor, type StatusChangeEvent, type WaitOptions } from '../../aws/waiter.js'
import type { BucketCheck } from '../../aws/export-check.js'
import { Deployment } from '../../connect/deployment.js'
import type { ConnectionInput } from '../../connect/options.js'
import { AwsError, KvtopError, UsageError, errorMessage } from '../../errors.js'
import type { EventSink } from '../events.js'
import { verifyDatasets } from '../verify/verify.js'
import { memoryDbNodeType, plannedCalls, snapshotArns } from './plan.js'
import { checkSameParams, freshState, loadState, saveState } from './state.js'
import {
  STEPS,
  type CompareResult,
  type MigrateAwsParams,
  type MigrateAwsReport,
  type MigrateAwsState,
  type PlannedCall,
  type StepId,
} from './types.js'

export interface MigrateAwsRequest {
  source: string
  target: string
  bucket: string
  statePath: string
  snapshotName?: string
  prefix?: string
  nodeType?: string
  shards?: number
  replicas?: number
  /** MemoryDB ACL of the new cluster: required for a new migration. */
  acl?: string
  /** Let `acl` be 'open-access' (no authentication on the new cluster). */
  allowOpenAccess?: boolean
  subnetGroup?: string
}

export interface MigrateAwsOptions {
  wait: WaitOptions
  /** Data-plane connections for the comparison (credentials); default: the endpoints AWS reports. */
  sourceInput?: ConnectionInput
  targetInput?: ConnectionInput
  verify?: boolean
  onEvent?: EventSink
  onPlan?: (plan: ExportPlan) => void
  onCheck?: (check: BucketCheck) => void
  /**
   * Called once the plan is known and before anything is created (on a resume, before the next
   * step, unless CreateCluster is done): throw to stop with nothing (more) created.
   */
  confirm?: (plan: { params: MigrateAwsParams; calls: PlannedCall[]; resumedAt?: StepId }) => Promise<void>
}

/** MemoryDB's built-in ACL that lets any client in without authentication. */
export const OPEN_ACCESS_ACL = 'open-access'

/**
 * The new cluster's ACL decides who may connect: a new migration must name one (--acl), and
 * MemoryDB's open-access ACL is refused unless asked for (--allow-open-access). A resume whose
 * CreateCluster was already sent keeps what the first run chose.
 */
export function checkAcl(request: MigrateAwsRequest, state?: MigrateAwsState): void {
  const acl = state?.params.acl ?? request.acl
  if (!acl)
    throw new UsageError(
      '--acl NAME is required: the MemoryDB ACL decides who may connect to the new cluster',
      {
        code: 'acl-required',
        hint: `Create an ACL with its users first (aws memorydb create-acl) and give its name; '${OPEN_ACCESS_ACL}' (no authentication) only with --allow-open-access.`,
      },
    )
  if (acl.toLowerCase() !== OPEN_ACCESS_ACL || request.allowOpenAccess) return
  if (state?.steps['create-cluster'].requestedAt) return
  throw new UsageError(
    `--acl ${OPEN_ACCESS_ACL} lets any client connect to the new cluster without authentication: refused without --allow-open-access`,
    {
      code: 'open-access',
      hint: state
        ? `The state file ${request.statePath} records ACL '${OPEN_ACCESS_ACL}': pass --allow-open-access to resume with it, or start a new migration (another --state) with --acl NAME.`
        : `Give --acl NAME of an ACL with users and passwords, or pass --allow-open-access if the cluster is meant to be open.`,
    },
  )
}

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

/**
 * `kvtop migrate aws`: ElastiCache CreateSnapshot, wait, CopySnapshot to S3, wait, MemoryDB
 * CreateCluster seeded with the .rdb objects, wait, then compare key counts and verify where both
 * endpoints are reachable. After each step the state file is rewritten; run again with the same
 * file and it carries on at the first step not done.
 */
export async function runAwsMigration(
  clients: AwsClients,
  request: MigrateAwsRequest,
  options: MigrateAwsOptions,
): Promise<MigrateAwsReport> {
  const emit: EventSink = options.onEvent ?? (() => {})
  const planned = await planAwsMigration(clients, request)
  const { params, source } = planned
  const state = planned.state ?? freshState(params)
  const resumedAt = planned.state ? STEPS.find((s) => !state.steps[s].done) : undefined
  if (planned.state && !resumedAt)
    throw new UsageError(`the state file ${request.statePath} records a finished migration`, {
      hint: `MemoryDB cluster '${params.target}' was created and compared. Remove the file to migrate again.`,
    })
  if (!planned.state) await checkTargetFree(clients, params.target)
  // Billable resources are still to be created: ask (a resume past CreateCluster creates nothing).
  if (!state.steps['create-cluster'].done)
    await options.confirm?.({ params, calls: planned.calls, ...(resumedAt ? { resumedAt } : {}) })
  if (resumedAt)
    emit({
      type: 'phase',
      phase: 'resume',
      detail: `resuming at step ${resumedAt} from ${request.statePath}`,
    })
  await saveState(request.statePath, state)

  const report: MigrateAwsReport = {
    params,
    ...(resumedAt ? { resumedAt } : {}),
    steps: [],
    snapshotArns: [],
    compare: {},
    phases: [],
  }
  const wait: WaitOptions = {
    ...options.wait,
    onPhase: (e: StatusChangeEvent) => {
      report.phases.push(e)
      options.wait.onPhase?.(e)
    },
  }
  const step = async (
    id: StepId,
    work: () => Promise<Record<string, unknown> | void>,
    summary: (d: Record<string, unknown>) => string,
  ) => {
    const record = state.steps[id]
    if (record.done) {
      report.steps.push({
        step: id,
        status: 'already done',
        elapsedMs: 0,
        detail: summary(record.detail ?? {}),
      })
      return
    }
    const started = Date.now()
    emit({ type: 'phase', phase: id })
    record.requestedAt ??= started
    await saveState(request.statePath, state)
    const detail = (await work()) ?? {}
    Object.assign(record, { done: true, doneAt: Date.now(), detail })
    await saveState(request.statePath, state)
    report.steps.push({ step: id, status: 'done', elapsedMs: Date.now() - started, detail: summary(detail) })
  }

  await step(
    'snapshot',
    async () => {
      const r = await createAwsSnapshot(
        clients,
        { kind: 'elasticache', name: params.source },
        params.snapshotName,
        {
          ...wait,
          wait: true,
        },
      )
      return { snapshot: r.snapshot.name, shards: r.snapshot.shards, resumedWait: r.resumed }
    },
    (d) => `snapshot ${String(d.snapshot)} available`,
  )

  await step(
    'export',
    async () => {
      try {
        const r = await exportSnapshot(clients, {
          ...wait,
          wait: true,
          name: params.snapshotName,
          bucket: params.bucket,
          prefix: params.prefix,
          service: 'elasticache',
          onPlan: options.onPlan,
          onCheck: options.onCheck,
        })
        return { keys: r.keys, verified: r.verified }
      } catch (err) {
        // Interrupted after CopySnapshot was sent: the objects being there is the step done.
        if (err instanceof KvtopError && err.code === 'aws-key-exists' && state.steps.export.requestedAt) {
          const shards = Number(state.steps.snapshot.detail?.shards) || source.shards.length
          return { keys: exportKeys(params.prefix, shards), verified: true, resumed: true }
        }
        throw err
      }
    },
    (d) => `${(d.keys as string[]).length} objects in s3://${params.bucket}/`,
  )
  const keys = state.steps.export.detail!.keys as string[]
  report.snapshotArns = snapshotArns(params.bucket, keys)

  await step(
    'create-cluster',
    async () => {
      const { client, sdk } = await clients.memorydb()
      const call = plannedCalls(params, keys).find((c) => c.operation === 'CreateCluster')!
      try {
        await awsCall(
          {
            service: 'MemoryDB',
            operation: 'CreateCluster',
            resource: `MemoryDB cluster '${params.target}'`,
            region: params.region,
          },
          () => client.send(new sdk.CreateClusterCommand(call.params as never)),
        )
        return { created: true }
      } catch (err) {
        // Sent by an earlier run that stopped before recording it: the cluster is ours.
        const name = (err as { cause?: { name?: string } }).cause?.name
        if (
          name === 'ClusterAlreadyExistsFault' &&
          state.steps['create-cluster'].requestedAt &&
          planned.state
        )
          return { created: true, resumed: true }
        throw err
      }
    },
    () =>
      `CreateCluster ${params.target} (${params.shards} shards x ${params.replicas} replicas, ${params.nodeType})`,
  )

  await step(
    'wait-cluster',
    async () => {
      const w = await waitFor(
        {
          resource: `MemoryDB cluster ${params.target}`,
          describe: () => deploymentStatus(clients, { kind: 'memorydb', name: params.target }),
          status: (s) => s,
          done: (s) => s === 'available',
          failed: (s) => /fail|deleted|deleting/i.test(s),
          resumeHint: `Run the same command again (same --state file) to resume waiting for ${params.target}.`,
        },
        wait,
      )
      if (w.failed)
        throw new AwsError(`MemoryDB cluster ${params.target} went to '${w.status}' while being created`, {
          code: 'aws-create-failed',
          hint: 'Check the MemoryDB events of the cluster (aws memorydb describe-events) for the reason, e.g. an .rdb the service could not read.',
        })
      return { status: w.status }
    },
    () => `cluster ${params.target} available`,
  )

  await step(
    'compare',
    async () => {
      report.compare = await compare(clients, params, options, emit)
      return { ...report.compare, verify: report.compare.verify?.identical }
    },
    (d) =>
      d.skipped
        ? `skipped: ${String(d.skipped)}`
        : `source ${String(d.sourceKeys)} keys, target ${String(d.targetKeys)} keys${d.verify === undefined ? '' : d.verify ? ', verify identical' : ', verify found differences'}`,
  )
  // The compare step always runs here: a state file that records it done was refused above.
  const c = report.compare
  if (!c.skipped)
    report.matched = c.sourceKeys === c.targetKeys && (c.verify === undefined || c.verify.identical)
  return report
}

/** A fresh migration creates its target: one that exists already is not ours to seed. */
async function checkTargetFree(clients: AwsClients, name: string): Promise<void> {
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

async function sumKeys(d: Deployment): Promise<number> {
  let n = 0
  for (const node of d.primaries) n += await (await d.client(node)).dbsize()
  return n
}

async function compare(
  clients: AwsClients,
  params: MigrateAwsParams,
  options: MigrateAwsOptions,
  emit: EventSink,
): Promise<CompareResult> {
  const input = async (
    given: ConnectionInput | undefined,
    kind: 'elasticache' | 'memorydb',
    name: string,
  ) => {
    if (given) return given
    const d = await discoverDeployment(clients, { kind, name })
    if (!d.url) throw new Error(`${name} reports no endpoint`)
    return { url: d.url }
  }
  let source: Deployment | undefined
  let target: Deployment | undefined
  try {
    try {
      source = await Deployment.connect(await input(options.sourceInput, 'elasticache', params.source))
      target = await Deployment.connect(await input(options.targetInput, 'memorydb', params.target))
    } catch (err) {
      const skipped = `cannot reach both endpoints from here (${errorMessage(err)})`
      emit({
        type: 'warning',
        message: `${skipped}: compare them from a host inside the VPC with kvtop verify --source ... --target ...`,
      })
      return { skipped }
    }
    const [sourceKeys, targetKeys] = await Promise.all([sumKeys(source), sumKeys(target)])
    const result: CompareResult = { sourceKeys, targetKeys }
    if (sourceKeys !== targetKeys)
      emit({
        type: 'warning',
        message: `the source holds ${sourceKeys} keys, the new cluster ${targetKeys}: writes made after the snapshot are not in it (kvtop migrate run --live --replace catches up)`,
      })
    if (options.verify !== false) {
      emit({ type: 'phase', phase: 'verify' })
      result.verify = await verifyDatasets(source, target, { passes: 2, passIntervalMs: 1000, onEvent: emit })
    }
    return result
  } finally {
    await Promise.all([source?.close(), target?.close()])
  }
}
