import type { StatusChangeEvent } from '../../aws/waiter.js'
import type { VerifyReport } from '../verify/types.js'

/** What `kvtop migrate aws` was asked to do: the state file holds it so a resume does the same. */
export interface MigrateAwsParams {
  /** ElastiCache replication group (source). */
  source: string
  /** MemoryDB cluster to create (target). */
  target: string
  bucket: string
  snapshotName: string
  /** S3 object key prefix of the export (TargetSnapshotName). */
  prefix: string
  nodeType: string
  shards: number
  replicas: number
  acl: string
  subnetGroup?: string
  region: string
}

export type StepId = 'snapshot' | 'export' | 'create-cluster' | 'wait-cluster' | 'compare'
export const STEPS: StepId[] = ['snapshot', 'export', 'create-cluster', 'wait-cluster', 'compare']

/** One AWS call as --dry-run prints it (and the run makes it). */
export interface PlannedCall {
  step: StepId
  service: 'ElastiCache' | 'MemoryDB' | 'S3' | 'data plane'
  operation: string
  params: Record<string, unknown>
  /** For waits: the status polled for. */
  until?: string
}

interface StepRecord {
  done: boolean
  /** When the step's request was sent: a resume then knows the resource is ours. */
  requestedAt?: number
  doneAt?: number
  detail?: Record<string, unknown>
}

export interface MigrateAwsState {
  kind: 'kvtop-migrate-aws'
  version: 1
  params: MigrateAwsParams
  startedAt: number
  updatedAt: number
  steps: Record<StepId, StepRecord>
}

export interface CompareResult {
  /** Why the comparison could not run (an endpoint unreachable from here), when it could not. */
  skipped?: string
  sourceKeys?: number
  targetKeys?: number
  verify?: VerifyReport
}

export interface MigrateAwsReport {
  params: MigrateAwsParams
  resumedAt?: StepId
  steps: { step: StepId; status: 'done' | 'already done' | 'skipped'; elapsedMs: number; detail?: string }[]
  snapshotArns: string[]
  compare: CompareResult
  phases: StatusChangeEvent[]
  /** True when the copy is known to match: equal key counts and (when run) verify identical. */
  matched?: boolean
}
