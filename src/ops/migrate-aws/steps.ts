import type { AwsClients } from '../../aws/clients.js'
import { awsCall } from '../../aws/clients.js'
import { deploymentStatus } from '../../aws/discovery.js'
import { createAwsSnapshot, exportKeys } from '../../aws/snapshots.js'
import { exportSnapshot } from '../../aws/snapshot-export.js'
import type { AwsDeployment } from '../../aws/types.js'
import { waitFor, type StatusChangeEvent, type WaitOptions } from '../../aws/waiter.js'
import { AwsError, KvtopError } from '../../errors.js'
import type { EventSink } from '../events.js'
import { compareDeployments } from './compare.js'
import { plannedCalls, snapshotArns } from './plan.js'
import type { MigrateAwsOptions, MigrateAwsRequest } from './request.js'
import { saveState } from './state.js'
import type { MigrateAwsParams, MigrateAwsReport, MigrateAwsState, StepId } from './types.js'

type StepDetail = Record<string, unknown>

/**
 * One `migrate aws` run over its state file: each step is a method, and `step()` is the one place
 * that records a step asked for, done, or already done by an earlier run (the file is rewritten
 * before and after each, so a resume carries on at the first step not done).
 */
export class AwsMigrationRun {
  readonly report: MigrateAwsReport
  private readonly wait: WaitOptions
  private readonly emit: EventSink

  constructor(
    private readonly clients: AwsClients,
    private readonly request: MigrateAwsRequest,
    private readonly options: MigrateAwsOptions,
    private readonly params: MigrateAwsParams,
    private readonly source: AwsDeployment,
    private readonly state: MigrateAwsState,
    /** The state file this run resumes (undefined for a new migration). */
    private readonly resumed: MigrateAwsState | undefined,
    resumedAt: StepId | undefined,
  ) {
    this.emit = options.onEvent ?? (() => {})
    this.report = {
      params,
      ...(resumedAt ? { resumedAt } : {}),
      steps: [],
      snapshotArns: [],
      compare: {},
      phases: [],
    }
    this.wait = {
      ...options.wait,
      onPhase: (e: StatusChangeEvent) => {
        this.report.phases.push(e)
        options.wait.onPhase?.(e)
      },
    }
  }

  /** Every step in order; the report says what each did and whether the datasets matched. */
  async run(): Promise<MigrateAwsReport> {
    await this.snapshot()
    await this.export()
    await this.createCluster()
    await this.waitCluster()
    await this.compare()
    // The compare step always runs here: a state file that records it done is refused before.
    const c = this.report.compare
    if (!c.skipped)
      this.report.matched = c.sourceKeys === c.targetKeys && (c.verify === undefined || c.verify.identical)
    return this.report
  }

  private async step(
    id: StepId,
    work: () => Promise<StepDetail | void>,
    summary: (d: StepDetail) => string,
  ): Promise<void> {
    const record = this.state.steps[id]
    if (record.done) {
      this.report.steps.push({
        step: id,
        status: 'already done',
        elapsedMs: 0,
        detail: summary(record.detail ?? {}),
      })
      return
    }
    const started = Date.now()
    this.emit({ type: 'phase', phase: id })
    record.requestedAt ??= started
    await saveState(this.request.statePath, this.state)
    const detail = (await work()) ?? {}
    Object.assign(record, { done: true, doneAt: Date.now(), detail })
    await saveState(this.request.statePath, this.state)
    this.report.steps.push({
      step: id,
      status: 'done',
      elapsedMs: Date.now() - started,
      detail: summary(detail),
    })
  }

  /** ElastiCache CreateSnapshot, waited for until available. */
  private snapshot(): Promise<void> {
    const { params } = this
    return this.step(
      'snapshot',
      async () => {
        const r = await createAwsSnapshot(
          this.clients,
          { kind: 'elasticache', name: params.source },
          params.snapshotName,
          { ...this.wait, wait: true },
        )
        return { snapshot: r.snapshot.name, shards: r.snapshot.shards, resumedWait: r.resumed }
      },
      (d) => `snapshot ${String(d.snapshot)} available`,
    )
  }

  /** CopySnapshot to the bucket, waited for until every object is there. */
  private async export(): Promise<void> {
    const { params, state } = this
    await this.step(
      'export',
      async () => {
        try {
          const r = await exportSnapshot(this.clients, {
            ...this.wait,
            wait: true,
            name: params.snapshotName,
            bucket: params.bucket,
            prefix: params.prefix,
            service: 'elasticache',
            onPlan: this.options.onPlan,
            onCheck: this.options.onCheck,
          })
          return { keys: r.keys, verified: r.verified }
        } catch (err) {
          // Interrupted after CopySnapshot was sent: the objects being there is the step done.
          if (err instanceof KvtopError && err.code === 'aws-key-exists' && state.steps.export.requestedAt) {
            const shards = Number(state.steps.snapshot.detail?.shards) || this.source.shards.length
            return { keys: exportKeys(params.prefix, shards), verified: true, resumed: true }
          }
          throw err
        }
      },
      (d) => `${(d.keys as string[]).length} objects in s3://${params.bucket}/`,
    )
    this.report.snapshotArns = snapshotArns(params.bucket, this.exportedKeys())
  }

  private exportedKeys(): string[] {
    return this.state.steps.export.detail!.keys as string[]
  }

  /** MemoryDB CreateCluster seeded with the exported .rdb objects. */
  private createCluster(): Promise<void> {
    const { params, state } = this
    return this.step(
      'create-cluster',
      async () => {
        const { client, sdk } = await this.clients.memorydb()
        const call = plannedCalls(params, this.exportedKeys()).find((c) => c.operation === 'CreateCluster')!
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
            this.resumed
          )
            return { created: true, resumed: true }
          throw err
        }
      },
      () =>
        `CreateCluster ${params.target} (${params.shards} shards x ${params.replicas} replicas, ${params.nodeType})`,
    )
  }

  /** Until the new cluster is available; a failed creation names where to look. */
  private waitCluster(): Promise<void> {
    const { params } = this
    return this.step(
      'wait-cluster',
      async () => {
        const w = await waitFor(
          {
            resource: `MemoryDB cluster ${params.target}`,
            describe: () => deploymentStatus(this.clients, { kind: 'memorydb', name: params.target }),
            status: (s) => s,
            done: (s) => s === 'available',
            failed: (s) => /fail|deleted|deleting/i.test(s),
            resumeHint: `Run the same command again (same --state file) to resume waiting for ${params.target}.`,
          },
          this.wait,
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
  }

  private compare(): Promise<void> {
    return this.step(
      'compare',
      async () => {
        const result = await compareDeployments(this.clients, this.params, this.options, this.emit)
        this.report.compare = result
        return { ...result, verify: result.verify?.identical }
      },
      (d) =>
        d.skipped
          ? `skipped: ${String(d.skipped)}`
          : `source ${String(d.sourceKeys)} keys, target ${String(d.targetKeys)} keys${d.verify === undefined ? '' : d.verify ? ', verify identical' : ', verify found differences'}`,
    )
  }
}
