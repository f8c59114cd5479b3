import { AwsError, OperationError } from '../errors.js'
import { awsCall, type AwsClients } from './clients.js'
import { isAccessDenied, isNotFound } from './errors.js'
import { checkExportBucket, type BucketCheck } from './export-check.js'
import {
  describeSnapshot,
  exportKeys,
  findSnapshot,
  snapshotFailure,
  snapshotFailureMessage,
  waitForSnapshot,
  type SnapshotInfo,
  type SnapshotWaitOptions,
} from './snapshots.js'
import type { AwsService } from './types.js'
import { waitFor, type StatusChangeEvent } from './waiter.js'

export interface ExportOptions extends SnapshotWaitOptions {
  name: string
  bucket: string
  /** Object key prefix (TargetSnapshotName); default the snapshot name. */
  prefix?: string
  service?: AwsService
  skipBucketCheck?: boolean
  /** Called once the keys are known, before the bucket is checked. */
  onPlan?: (plan: ExportPlan) => void
  /** Called with the bucket check, before CopySnapshot. */
  onCheck?: (check: BucketCheck) => void
}

export interface ExportPlan {
  snapshot: SnapshotInfo
  bucket: string
  region: string
  prefix: string
  keys: string[]
  check?: BucketCheck
}

export interface ExportResult extends ExportPlan {
  /** s3://bucket/key for each object. */
  uris: string[]
  /** True when every key was seen in the bucket afterwards; false when it could not be checked. */
  verified: boolean
  elapsedMs: number
  phases: StatusChangeEvent[]
}

const serviceName = (service: AwsService): 'ElastiCache' | 'MemoryDB' =>
  service === 'elasticache' ? 'ElastiCache' : 'MemoryDB'

/**
 * Export a snapshot to S3 (CopySnapshot with TargetBucket): find it, wait for it if it is still
 * being created, check the bucket, copy, then wait until the source snapshot has settled and the
 * objects are in the bucket.
 */
export async function exportSnapshot(clients: AwsClients, options: ExportOptions): Promise<ExportResult> {
  const started = Date.now()
  const phases: StatusChangeEvent[] = []
  const snapshot = await availableSnapshot(clients, options, started, phases)
  const plan = await planExport(clients, snapshot, options)
  await copySnapshot(clients, plan)
  const uris = plan.keys.map((k) => `s3://${options.bucket}/${k}`)
  if (!options.wait) return { ...plan, uris, verified: false, elapsedMs: Date.now() - started, phases }
  const verified = await waitForExport(clients, plan, options, started, phases)
  return { ...plan, uris, verified, elapsedMs: Date.now() - started, phases }
}

/** The snapshot by name, waited for when it is still being created (unless --no-wait). */
async function availableSnapshot(
  clients: AwsClients,
  options: ExportOptions,
  started: number,
  phases: StatusChangeEvent[],
): Promise<SnapshotInfo> {
  const snapshot = await findSnapshot(clients, options.name, options.service)
  if (snapshot.status === 'available') return snapshot
  if (snapshot.status === 'failed')
    throw new AwsError(`snapshot '${snapshot.name}' is in state failed and cannot be exported`, {
      code: 'aws-snapshot-failed',
    })
  if (!options.wait) {
    throw new OperationError(`snapshot '${snapshot.name}' is '${snapshot.status}', not yet available`, {
      code: 'snapshot-not-ready',
      resumable: true,
      hint: 'Run without --no-wait to wait for it, or later.',
    })
  }
  const w = await waitForSnapshot(
    clients,
    snapshot.service,
    snapshot.name,
    options,
    (s) => s === 'available',
    'Run the same command again to resume.',
  )
  phases.push(...w.phases)
  if (w.failed)
    throw await snapshotFailure(
      clients,
      w.snapshot,
      new Date(started),
      `snapshot ${snapshot.name}`,
      w.elapsedMs,
    )
  return w.snapshot
}

/** The object keys the copy will write, told to the caller, then the bucket checked for them. */
async function planExport(
  clients: AwsClients,
  snapshot: SnapshotInfo,
  options: ExportOptions,
): Promise<ExportPlan> {
  const region = await clients.region()
  const prefix = options.prefix ?? snapshot.name
  const keys = exportKeys(prefix, snapshot.shards)
  options.onPlan?.({ snapshot, bucket: options.bucket, region, prefix, keys })
  const check = options.skipBucketCheck
    ? undefined
    : await checkExportBucket(clients, { service: snapshot.service, region, bucket: options.bucket, keys })
  if (check) options.onCheck?.(check)
  return { snapshot, bucket: options.bucket, region, prefix, keys, ...(check ? { check } : {}) }
}

/** CopySnapshot with TargetBucket, in the snapshot's own service. */
async function copySnapshot(clients: AwsClients, plan: ExportPlan): Promise<void> {
  const { snapshot, bucket, prefix, region } = plan
  const input = { SourceSnapshotName: snapshot.name, TargetSnapshotName: prefix, TargetBucket: bucket }
  const call = {
    service: serviceName(snapshot.service),
    operation: 'CopySnapshot',
    resource: `snapshot '${snapshot.name}' to bucket '${bucket}'`,
    region,
  }
  if (snapshot.service === 'elasticache') {
    const { client, sdk } = await clients.elasticache()
    await awsCall(call, () => client.send(new sdk.CopySnapshotCommand(input)))
  } else {
    const { client, sdk } = await clients.memorydb()
    await awsCall(call, () => client.send(new sdk.CopySnapshotCommand(input)))
  }
}

/**
 * Until the copy is done. The source snapshot shows the copy (copying / exporting) and returns to
 * available when done; the objects in the bucket are the proof, when this identity may look at
 * them. True when every object was seen; false when the bucket could not be looked at.
 */
async function waitForExport(
  clients: AwsClients,
  plan: ExportPlan,
  options: ExportOptions,
  started: number,
  phases: StatusChangeEvent[],
): Promise<boolean> {
  const { snapshot, bucket, keys, prefix } = plan
  const service = snapshot.service
  const who = serviceName(service)
  const objects = new ExportedObjects(clients, bucket, keys)
  let objectsThere = false
  let failureMessage: string | undefined
  const copyStarted = new Date(Date.now() - 1000)
  const w = await waitFor<SnapshotInfo | undefined>(
    {
      resource: `export of ${snapshot.name} to s3://${bucket}`,
      describe: async () => {
        const s = await describeSnapshot(clients, service, snapshot.name)
        objectsThere = s?.status === 'available' ? await objects.present() : false
        // Back to available without the objects: the copy may have failed, which only the event log says.
        if (s?.status === 'available' && !objectsThere) {
          failureMessage = await snapshotFailureMessage(
            clients,
            service,
            snapshot.name,
            undefined,
            copyStarted,
            true,
            0,
          )
        }
        return s
      },
      status: (s) =>
        failureMessage
          ? 'failed'
          : s?.status === 'available' && !objectsThere
            ? 'writing objects'
            : (s?.status ?? 'deleted'),
      done: (status) => status === 'available',
      failed: (status) => status === 'failed' || status === 'deleted',
      resumeHint: `AWS carries on with the export; check the bucket: aws s3 ls s3://${bucket}/${prefix}-`,
    },
    options,
  )
  phases.push(...w.phases)
  if (failureMessage) throw exportFailed(who, snapshot.name, bucket, failureMessage)
  if (w.failed) {
    throw await snapshotFailure(
      clients,
      w.value ?? { ...snapshot, status: 'deleted' },
      new Date(started),
      `export of snapshot ${snapshot.name} by ${who}`,
      w.elapsedMs,
    )
  }
  return objects.canVerify
}

/**
 * The exported objects in the bucket, as far as this identity may look: once it is denied, it
 * stops looking, counts them as there, and says it could not verify.
 */
class ExportedObjects {
  canVerify = true

  constructor(
    private readonly clients: AwsClients,
    private readonly bucket: string,
    private readonly keys: string[],
  ) {}

  async present(): Promise<boolean> {
    if (!this.canVerify) return true
    const { client, sdk } = await this.clients.s3()
    for (const key of this.keys) {
      try {
        await client.send(new sdk.HeadObjectCommand({ Bucket: this.bucket, Key: key }))
      } catch (err) {
        if (isNotFound(err) || (err as { name?: string }).name === 'NotFound') return false
        if (isAccessDenied(err)) {
          this.canVerify = false
          return true
        }
        throw err
      }
    }
    return true
  }
}

/** The copy ended without the objects: AWS's reason, from the service's event log. */
function exportFailed(who: string, snapshot: string, bucket: string, message: string): AwsError {
  return new AwsError(`${who} could not export snapshot ${snapshot} to s3://${bucket}: ${message}`, {
    code: 'aws-export-failed',
    hint: `The message is AWS's, from the ${who} event log. See what the bucket needs with: kvtop snapshot aws export --help`,
  })
}
