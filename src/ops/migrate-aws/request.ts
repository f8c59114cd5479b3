import type { ExportPlan } from '../../aws/snapshot-export.js'
import type { WaitOptions } from '../../aws/waiter.js'
import type { BucketCheck } from '../../aws/export-check.js'
import type { ConnectionInput } from '../../connect/options.js'
import { UsageError } from '../../errors.js'
import type { EventSink } from '../events.js'
import type { MigrateAwsParams, MigrateAwsState, PlannedCall, StepId } from './types.js'

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
const OPEN_ACCESS_ACL = 'open-access'

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
