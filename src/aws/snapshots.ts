import type { Snapshot as EcSnapshot } from '@aws-sdk/client-elasticache'
import type { Snapshot as MdbSnapshot } from '@aws-sdk/client-memorydb'
import { AwsError, KvtopError, UsageError } from '../errors.js'
import { awsCall, type AwsClients } from './clients.js'
import { isAccessDenied, unlessNotFound } from './errors.js'
import { describeTarget, type AwsService, type AwsTarget } from './types.js'
import { formatElapsed, waitFor, type StatusChangeEvent, type WaitOptions } from './waiter.js'

export interface SnapshotInfo {
  service: AwsService
  name: string
  status: string
  /** The replication group, cache cluster or MemoryDB cluster it was taken from. */
  source?: string
  /** manual or automated. */
  origin?: string
  /** Epoch ms of the earliest node snapshot. */
  createdAt?: number
  /** Shards (node groups): one exported .rdb file each. */
  shards: number
  nodeType?: string
  engine?: string
  engineVersion?: string
  arn?: string
  /** Sum of the node snapshot sizes AWS reports, when it reports them. */
  sizeBytes?: number
}

const UNITS: Record<string, number> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 }

/** "12 MB" -> bytes; undefined for forms AWS may add later. */
export function parseSize(text: string | undefined): number | undefined {
  const m = /^\s*([\d.]+)\s*([KMGT]?B)\s*$/i.exec(text ?? '')
  if (!m) return undefined
  return Math.round(Number(m[1]) * UNITS[m[2].toUpperCase()])
}

function sumSizes(sizes: (string | undefined)[]): number | undefined {
  const parsed = sizes.map(parseSize)
  return parsed.length && parsed.every((n) => n !== undefined)
    ? parsed.reduce((a, b) => a! + b!, 0)
    : undefined
}

export function fromElastiCacheSnapshot(s: EcSnapshot): SnapshotInfo {
  const nodeSnaps = s.NodeSnapshots ?? []
  const groups = new Set(nodeSnaps.map((n) => n.NodeGroupId).filter(Boolean))
  const times = nodeSnaps
    .map((n) => n.SnapshotCreateTime?.getTime())
    .filter((t): t is number => t !== undefined)
  const size = sumSizes(nodeSnaps.map((n) => n.CacheSize))
  return {
    service: 'elasticache',
    name: s.SnapshotName ?? '',
    status: s.SnapshotStatus ?? 'unknown',
    ...(s.ReplicationGroupId || s.CacheClusterId ? { source: s.ReplicationGroupId ?? s.CacheClusterId } : {}),
    ...(s.SnapshotSource ? { origin: s.SnapshotSource } : {}),
    ...(times.length ? { createdAt: Math.min(...times) } : {}),
    shards: s.NumNodeGroups ?? (groups.size || 1),
    ...(s.CacheNodeType ? { nodeType: s.CacheNodeType } : {}),
    ...(s.Engine ? { engine: s.Engine } : {}),
    ...(s.EngineVersion ? { engineVersion: s.EngineVersion } : {}),
    ...(s.ARN ? { arn: s.ARN } : {}),
    ...(size !== undefined ? { sizeBytes: size } : {}),
  }
}

export function fromMemoryDBSnapshot(s: MdbSnapshot): SnapshotInfo {
  const cfg = s.ClusterConfiguration
  const shards = cfg?.Shards ?? []
  const times = shards
    .map((x) => x.SnapshotCreationTime?.getTime())
    .filter((t): t is number => t !== undefined)
  const size = sumSizes(shards.map((x) => x.Size))
  return {
    service: 'memorydb',
    name: s.Name ?? '',
    status: s.Status ?? 'unknown',
    ...(cfg?.Name ? { source: cfg.Name } : {}),
    ...(s.Source ? { origin: s.Source } : {}),
    ...(times.length ? { createdAt: Math.min(...times) } : {}),
    shards: cfg?.NumShards ?? (shards.length || 1),
    ...(cfg?.NodeType ? { nodeType: cfg.NodeType } : {}),
    ...(cfg?.Engine ? { engine: cfg.Engine } : {}),
    ...(cfg?.EngineVersion ? { engineVersion: cfg.EngineVersion } : {}),
    ...(s.ARN ? { arn: s.ARN } : {}),
    ...(size !== undefined ? { sizeBytes: size } : {}),
  }
}

/** The S3 object keys an export of `shards` shards writes: <prefix>-0001.rdb, <prefix>-0002.rdb ... */
export function exportKeys(prefix: string, shards: number): string[] {
  return Array.from(
    { length: Math.max(1, shards) },
    (_, i) => `${prefix}-${String(i + 1).padStart(4, '0')}.rdb`,
  )
}

/** One snapshot by name; undefined when it does not exist. */
export async function describeSnapshot(
  clients: AwsClients,
  service: AwsService,
  name: string,
): Promise<SnapshotInfo | undefined> {
  const region = await clients.region()
  if (service === 'elasticache') {
    const { client, sdk } = await clients.elasticache()
    const out = await unlessNotFound(
      awsCall(
        { service: 'ElastiCache', operation: 'DescribeSnapshots', resource: `snapshot '${name}'`, region },
        () => client.send(new sdk.DescribeSnapshotsCommand({ SnapshotName: name })),
      ),
    )
    const s = out?.Snapshots?.[0]
    return s ? fromElastiCacheSnapshot(s) : undefined
  }
  const { client, sdk } = await clients.memorydb()
  const out = await unlessNotFound(
    awsCall(
      { service: 'MemoryDB', operation: 'DescribeSnapshots', resource: `snapshot '${name}'`, region },
      () => client.send(new sdk.DescribeSnapshotsCommand({ SnapshotName: name, ShowDetail: true })),
    ),
  )
  const s = out?.Snapshots?.[0]
  return s ? fromMemoryDBSnapshot(s) : undefined
}

export interface ListFilter {
  target?: AwsTarget
  service?: AwsService
  origin?: 'manual' | 'automated'
}

export interface ListResult {
  snapshots: SnapshotInfo[]
  /** Services skipped because the identity may not list them (when the other one could be listed). */
  skipped: { service: AwsService; reason: string }[]
}

async function listElastiCache(clients: AwsClients, filter: ListFilter): Promise<SnapshotInfo[]> {
  const region = await clients.region()
  const { client, sdk } = await clients.elasticache()
  const out: SnapshotInfo[] = []
  const byRg = filter.target?.kind === 'elasticache' ? filter.target.name : undefined
  let marker: string | undefined
  do {
    const page = await awsCall(
      {
        service: 'ElastiCache',
        operation: 'DescribeSnapshots',
        resource: byRg ? `snapshots of replication group '${byRg}'` : 'snapshots',
        region,
      },
      () =>
        client.send(
          new sdk.DescribeSnapshotsCommand({
            ...(byRg ? { ReplicationGroupId: byRg } : {}),
            ...(filter.origin ? { SnapshotSource: filter.origin === 'automated' ? 'system' : 'user' } : {}),
            MaxRecords: 50,
            ...(marker ? { Marker: marker } : {}),
          }),
        ),
    )
    out.push(...(page.Snapshots ?? []).map(fromElastiCacheSnapshot))
    marker = page.Marker
  } while (marker)
  return out
}

async function listMemoryDB(clients: AwsClients, filter: ListFilter): Promise<SnapshotInfo[]> {
  const region = await clients.region()
  const { client, sdk } = await clients.memorydb()
  const out: SnapshotInfo[] = []
  const byCluster = filter.target?.kind === 'memorydb' ? filter.target.name : undefined
  let token: string | undefined
  do {
    const page = await awsCall(
      {
        service: 'MemoryDB',
        operation: 'DescribeSnapshots',
        resource: byCluster ? `snapshots of MemoryDB cluster '${byCluster}'` : 'snapshots',
        region,
      },
      () =>
        client.send(
          new sdk.DescribeSnapshotsCommand({
            ...(byCluster ? { ClusterName: byCluster } : {}),
            ...(filter.origin ? { Source: filter.origin } : {}),
            ShowDetail: true,
            MaxResults: 50,
            ...(token ? { NextToken: token } : {}),
          }),
        ),
    )
    out.push(...(page.Snapshots ?? []).map(fromMemoryDBSnapshot))
    token = page.NextToken
  } while (token)
  return out
}

/** Snapshots of one deployment, or of both services in the Region. */
export async function listSnapshots(clients: AwsClients, filter: ListFilter = {}): Promise<ListResult> {
  if (filter.target?.kind === 'serverless') {
    throw new UsageError('serverless cache snapshots are not handled by kvtop yet', {
      hint: `List them with: aws elasticache describe-serverless-cache-snapshots --serverless-cache-name ${filter.target.name}`,
    })
  }
  const services: AwsService[] = filter.target
    ? [filter.target.kind === 'memorydb' ? 'memorydb' : 'elasticache']
    : filter.service
      ? [filter.service]
      : ['elasticache', 'memorydb']
  const settled = await Promise.allSettled(
    services.map((s) =>
      s === 'elasticache' ? listElastiCache(clients, filter) : listMemoryDB(clients, filter),
    ),
  )
  const snapshots: SnapshotInfo[] = []
  const skipped: ListResult['skipped'] = []
  const failures: unknown[] = []
  settled.forEach((r, i) => {
    if (r.status === 'fulfilled') snapshots.push(...r.value)
    else if (services.length > 1 && isAccessDenied(r.reason))
      skipped.push({ service: services[i], reason: (r.reason as Error).message })
    else failures.push(r.reason)
  })
  if (failures.length) throw failures[0]
  if (skipped.length === services.length) throw settled.map((r) => (r as PromiseRejectedResult).reason)[0]
  snapshots.sort((a, b) => (b.createdAt ?? 0) - (a.createdAt ?? 0) || a.name.localeCompare(b.name))
  return { snapshots, skipped }
}

export interface SnapshotWaitOptions extends WaitOptions {
  wait: boolean
}

export interface CreateResult {
  snapshot: SnapshotInfo
  /** True when a snapshot of that name from the same source already existed and was waited on. */
  resumed: boolean
  elapsedMs: number
  phases: StatusChangeEvent[]
}

const FAILURE = /fail|error|unable|cannot|denied|not been granted/i

/** The failure message AWS recorded in its event log for a snapshot (ElastiCache / MemoryDB events). */
export async function snapshotFailureMessage(
  clients: AwsClients,
  service: AwsService,
  snapshot: string,
  source: string | undefined,
  since: Date,
  onlyFailures = false,
  /** Events carry AWS's clock: look a little before `since` in case this machine's clock is ahead. */
  skewMs = 5 * 60_000,
): Promise<string | undefined> {
  const relevant = (text: string | undefined, id: string | undefined) =>
    Boolean(
      text && (text.includes(snapshot) || (source && id === source) || (source && text.includes(source))),
    )
  try {
    const start = new Date(since.getTime() - skewMs)
    if (service === 'elasticache') {
      const { client, sdk } = await clients.elasticache()
      const events: { Message?: string; SourceIdentifier?: string }[] = []
      let marker: string | undefined
      for (let page = 0; page < 10; page++) {
        const out = await client.send(
          new sdk.DescribeEventsCommand({
            StartTime: start,
            MaxRecords: 100,
            ...(marker ? { Marker: marker } : {}),
          }),
        )
        events.push(...(out.Events ?? []))
        marker = out.Marker
        if (!marker) break
      }
      const hits = events.filter((e) => relevant(e.Message, e.SourceIdentifier))
      const failed = hits.filter((e) => FAILURE.test(e.Message ?? ''))
      return (failed.length || onlyFailures ? failed : hits).map((e) => e.Message).join(' / ') || undefined
    }
    const { client, sdk } = await clients.memorydb()
    const events: { Message?: string; SourceName?: string }[] = []
    let token: string | undefined
    for (let page = 0; page < 10; page++) {
      const out = await client.send(
        new sdk.DescribeEventsCommand({
          StartTime: start,
          MaxResults: 100,
          ...(token ? { NextToken: token } : {}),
        }),
      )
      events.push(...(out.Events ?? []))
      token = out.NextToken
      if (!token) break
    }
    const hits = events.filter((e) => relevant(e.Message, e.SourceName))
    const failed = hits.filter((e) => FAILURE.test(e.Message ?? ''))
    return (failed.length || onlyFailures ? failed : hits).map((e) => e.Message).join(' / ') || undefined
  } catch {
    return undefined
  }
}

/** Until the snapshot settles (`settled`), fails or disappears. */
export async function waitForSnapshot(
  clients: AwsClients,
  service: AwsService,
  name: string,
  options: WaitOptions,
  settled: (status: string) => boolean,
  resumeHint: string,
): Promise<{ snapshot: SnapshotInfo; failed: boolean; elapsedMs: number; phases: StatusChangeEvent[] }> {
  const result = await waitFor<SnapshotInfo | undefined>(
    {
      resource: `snapshot ${name}`,
      describe: () => describeSnapshot(clients, service, name),
      status: (s) => s?.status ?? 'deleted',
      done: (status) => settled(status),
      failed: (status) => status === 'failed' || status === 'deleted',
      resumeHint,
    },
    options,
  )
  const snapshot = result.value ?? { service, name, status: 'deleted', shards: 0 }
  return { snapshot, failed: result.failed, elapsedMs: result.elapsedMs, phases: result.phases }
}

/** The error for a snapshot that failed or vanished, with AWS's own reason from the event log when it gave one. */
export async function snapshotFailure(
  clients: AwsClients,
  snapshot: SnapshotInfo,
  since: Date,
  what: string,
  elapsedMs: number,
): Promise<KvtopError> {
  const reason = await snapshotFailureMessage(
    clients,
    snapshot.service,
    snapshot.name,
    snapshot.source,
    since,
  )
  return new AwsError(
    `${what} ${snapshot.status === 'deleted' ? 'disappeared' : 'failed'} after ${formatElapsed(elapsedMs)}` +
      (reason ? `: ${reason}` : ''),
    {
      code: 'aws-snapshot-failed',
      hint: reason
        ? "The message is AWS's, from the service event log."
        : `AWS gave no reason in its event log; see the ${snapshot.service === 'memorydb' ? 'MemoryDB' : 'ElastiCache'} console events.`,
    },
  )
}

/** CreateSnapshot of a replication group / cache cluster / MemoryDB cluster, then wait until it is available. */
export async function createAwsSnapshot(
  clients: AwsClients,
  target: AwsTarget,
  name: string,
  options: SnapshotWaitOptions,
): Promise<CreateResult> {
  if (target.kind === 'serverless') {
    throw new UsageError('serverless cache snapshots are not handled by kvtop yet', {
      hint: `Use: aws elasticache create-serverless-cache-snapshot --serverless-cache-name ${target.name} --serverless-cache-snapshot-name ${name}`,
    })
  }
  const region = await clients.region()
  const service: AwsService = target.kind === 'memorydb' ? 'memorydb' : 'elasticache'
  const started = new Date()
  let created: SnapshotInfo
  let resumed = false
  try {
    if (service === 'elasticache') {
      const { client, sdk } = await clients.elasticache()
      created = await createElastiCacheSnapshot(client, sdk, target.name, name, region)
    } else {
      const { client, sdk } = await clients.memorydb()
      const out = await awsCall(
        { service: 'MemoryDB', operation: 'CreateSnapshot', resource: describeTarget(target), region },
        () => client.send(new sdk.CreateSnapshotCommand({ ClusterName: target.name, SnapshotName: name })),
      )
      created = fromMemoryDBSnapshot(out.Snapshot ?? {})
    }
  } catch (err) {
    const cause = (err as { cause?: { name?: string } }).cause
    if (cause?.name !== 'SnapshotAlreadyExistsFault') throw err
    // Same name again: if it is this deployment's, pick up the wait where a previous run left it.
    const existing = await describeSnapshot(clients, service, name)
    if (!existing || !sameSource(existing, target)) {
      throw new AwsError(
        `a snapshot named '${name}' already exists${existing?.source ? ` (of '${existing.source}')` : ''}`,
        {
          code: 'aws-snapshot-exists',
          hint: 'Snapshot names are unique per Region: choose another --name.',
        },
      )
    }
    created = existing
    resumed = true
  }
  if (!options.wait) return { snapshot: created, resumed, elapsedMs: 0, phases: [] }
  const w = await waitForSnapshot(
    clients,
    service,
    name,
    options,
    (s) => s === 'available',
    `Run the same command again to resume waiting (kvtop picks up the snapshot of that name), or check: kvtop snapshot aws list --${target.kind} ${target.name}`,
  )
  if (w.failed)
    throw await snapshotFailure(
      clients,
      w.snapshot,
      started,
      `snapshot ${name} of ${describeTarget(target)}`,
      w.elapsedMs,
    )
  return { snapshot: w.snapshot, resumed, elapsedMs: w.elapsedMs, phases: w.phases }
}

function sameSource(s: SnapshotInfo, target: AwsTarget): boolean {
  return s.source?.toLowerCase() === target.name.toLowerCase()
}

async function createElastiCacheSnapshot(
  client: Awaited<ReturnType<AwsClients['elasticache']>>['client'],
  sdk: Awaited<ReturnType<AwsClients['elasticache']>>['sdk'],
  source: string,
  name: string,
  region: string,
): Promise<SnapshotInfo> {
  try {
    const out = await awsCall(
      {
        service: 'ElastiCache',
        operation: 'CreateSnapshot',
        resource: `replication group '${source}'`,
        region,
      },
      () => client.send(new sdk.CreateSnapshotCommand({ ReplicationGroupId: source, SnapshotName: name })),
    )
    return fromElastiCacheSnapshot(out.Snapshot ?? {})
  } catch (err) {
    const cause = (err as { cause?: { name?: string } }).cause
    if (cause?.name !== 'ReplicationGroupNotFoundFault') throw err
    // A cache cluster outside any replication group is snapshotted by its cluster id.
    const out = await awsCall(
      {
        service: 'ElastiCache',
        operation: 'CreateSnapshot',
        resource: `replication group or cache cluster '${source}'`,
        region,
      },
      () => client.send(new sdk.CreateSnapshotCommand({ CacheClusterId: source, SnapshotName: name })),
    )
    return fromElastiCacheSnapshot(out.Snapshot ?? {})
  }
}

/** Find a snapshot by name in the given service, or in ElastiCache then MemoryDB. */
export async function findSnapshot(
  clients: AwsClients,
  name: string,
  service?: AwsService,
): Promise<SnapshotInfo> {
  const services: AwsService[] = service ? [service] : ['elasticache', 'memorydb']
  const denied: string[] = []
  for (const s of services) {
    try {
      const found = await describeSnapshot(clients, s, name)
      if (found) return found
    } catch (err) {
      if (services.length > 1 && isAccessDenied(err)) {
        denied.push((err as Error).message)
        continue
      }
      throw err
    }
  }
  const region = await clients.region()
  throw new AwsError(
    `no snapshot named '${name}' in ${services.map((s) => (s === 'elasticache' ? 'ElastiCache' : 'MemoryDB')).join(' or ')} (${region})`,
    {
      code: 'aws-not-found',
      hint:
        (denied.length ? `Not searched: ${denied.join('; ')}. ` : '') +
        'List them with: kvtop snapshot aws list --region ' +
        region,
    },
  )
}
