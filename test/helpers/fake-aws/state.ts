/**
 * State of the fake AWS account: ElastiCache replication groups, cache clusters, serverless
 * caches and snapshots; MemoryDB clusters and snapshots; S3 buckets; CloudWatch metrics derived
 * from the nodes. Long operations move through their real statuses on a timer (creating ->
 * available, modifying -> available, exporting -> available), in tens of milliseconds in tests.
 */

export const ACCOUNT_ID = '123456789012'
export const OWNER_CANONICAL_ID = '79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be'

export interface Delays {
  /** CreateSnapshot: creating -> available. */
  snapshot: number
  /** CopySnapshot to S3: the source shows exporting, then the objects appear. */
  export: number
  /** Scaling and other modifications: modifying -> available. */
  modify: number
  /** CreateReplicationGroup / CreateCluster: creating -> available. */
  create: number
}

export interface HostPort {
  host: string
  port: number
}

export interface EcNode {
  cacheClusterId: string
  cacheNodeId: string
  endpoint: HostPort
  role: 'primary' | 'replica'
  az: string
}

export interface EcNodeGroup {
  id: string
  slots?: string
  nodes: EcNode[]
}

export interface EcReplicationGroup {
  id: string
  description: string
  status: string
  clusterMode: boolean
  nodeGroups: EcNodeGroup[]
  configEndpoint?: HostPort
  primaryEndpoint?: HostPort
  readerEndpoint?: HostPort
  tls: boolean
  authToken: boolean
  userGroupIds: string[]
  nodeType: string
  engine: string
  engineVersion: string
  arn: string
}

export interface EcCacheCluster {
  id: string
  status: string
  node: EcNode
  nodeType: string
  engine: string
  engineVersion: string
  tls: boolean
  authToken: boolean
  arn: string
}

export interface EcServerlessCache {
  name: string
  status: string
  engine: string
  majorVersion: string
  fullVersion: string
  endpoint: HostPort
  readerEndpoint: HostPort
  userGroupId?: string
  arn: string
}

export interface SnapshotShard {
  id: string
  slots?: string
  sizeBytes: number
  createdAt: Date
}

export interface FakeSnapshot {
  service: 'elasticache' | 'memorydb'
  name: string
  status: string
  /** Replication group / cache cluster / MemoryDB cluster. */
  source: string
  sourceKind: 'replication-group' | 'cache-cluster' | 'cluster'
  origin: 'manual' | 'automated'
  shards: SnapshotShard[]
  nodeType: string
  engine: string
  engineVersion: string
  arn: string
}

export interface MdbNode {
  name: string
  endpoint: HostPort
  az: string
  status: string
}

export interface MdbShard {
  name: string
  slots: string
  nodes: MdbNode[]
}

export interface MdbCluster {
  name: string
  status: string
  shards: MdbShard[]
  endpoint: HostPort
  tls: boolean
  aclName: string
  nodeType: string
  engine: string
  engineVersion: string
  arn: string
  /** S3 objects the cluster was seeded from (CreateCluster with SnapshotArns). */
  seededFrom?: string[]
}

export interface S3Grant {
  id?: string
  uri?: string
  permission: 'READ' | 'WRITE' | 'READ_ACP' | 'WRITE_ACP' | 'FULL_CONTROL'
}

export interface S3Bucket {
  name: string
  region: string
  grants: S3Grant[]
  /** Object Ownership "bucket owner enforced": ACLs disabled. */
  aclsDisabled: boolean
  policy?: string
  objects: Map<string, { size: number; lastModified: Date }>
}

export interface FakeEvent {
  service: 'elasticache' | 'memorydb'
  sourceId: string
  sourceType: string
  message: string
  date: Date
}

export class FakeAwsError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
    readonly type: 'Sender' | 'Receiver' = 'Sender',
  ) {
    super(message)
  }
}

function slotRanges(shards: number): string[] {
  const out: string[] = []
  for (let i = 0; i < shards; i++) {
    const from = Math.floor((i * 16384) / shards)
    const to = Math.floor(((i + 1) * 16384) / shards) - 1
    out.push(`${from}-${to}`)
  }
  return out
}

const pad = (n: number, width: number) => String(n).padStart(width, '0')

export interface ReplicationGroupSpec {
  id: string
  shards?: number
  replicas?: number
  clusterMode?: boolean
  tls?: boolean
  authToken?: boolean
  userGroupIds?: string[]
  nodeType?: string
  engine?: string
  engineVersion?: string
  status?: string
  /** Data-plane endpoint (configuration endpoint in cluster mode, primary endpoint otherwise). */
  endpoint?: HostPort
  /** Node endpoints in member order; default hostnames like AWS's. */
  nodeEndpoints?: HostPort[]
}

export class FakeState {
  region: string
  delays: Delays
  replicationGroups = new Map<string, EcReplicationGroup>()
  cacheClusters = new Map<string, EcCacheCluster>()
  serverlessCaches = new Map<string, EcServerlessCache>()
  snapshots = new Map<string, FakeSnapshot>()
  mdbClusters = new Map<string, MdbCluster>()
  mdbSnapshots = new Map<string, FakeSnapshot>()
  buckets = new Map<string, S3Bucket>()
  events: FakeEvent[] = []
  /** CreateSnapshot of these snapshot names ends in 'failed', with the message logged as an event. */
  snapshotFailures = new Map<string, string>()
  /** The next export (CopySnapshot to S3) of these snapshots fails with the message, logged as an event. */
  exportFailures = new Map<string, string>()
  /** Overrides of generated metric values: key `${namespace}|${metric}|${nodeId}`. */
  metricOverrides = new Map<string, number | null>()
  /**
   * What AWS does when CreateCluster is seeded from S3 (SnapshotArns): where the new cluster's data
   * plane is, and a promise that settles once its data is loaded (the cluster turns available after).
   */
  onMemoryDBSeed?: (
    name: string,
    arns: string[],
  ) => { endpoint: HostPort; nodeEndpoints?: HostPort[]; tls?: boolean; loaded: Promise<void> }
  private timers: { at: number; run: () => void; gate?: () => boolean }[] = []
  /** How often each resource was seen (described) in its current status: gates for transitions. */
  private seen = new Map<string, number>()

  constructor(region: string, delays: Delays) {
    this.region = region
    this.delays = delays
  }

  /** Run what is due. Called before every request: state moves on as time passes. */
  tick(now = Date.now(), force = false): void {
    this.timers.sort((a, b) => a.at - b.at)
    const due = this.timers.filter((t) => t.at <= now && (force || !t.gate || t.gate()))
    this.timers = this.timers.filter((t) => !due.includes(t))
    for (const t of due) t.run()
  }

  /**
   * Run `run` after `delayMs`, but (with `key`) not before the resource has been described at
   * least once in its intermediate status: a waiter always sees creating before available,
   * however slow the machine is.
   */
  schedule(delayMs: number, run: () => void, key?: string): void {
    if (key) this.seen.set(key, 0)
    this.timers.push({
      at: Date.now() + delayMs,
      run,
      ...(key ? { gate: () => (this.seen.get(key) ?? 0) > 0 } : {}),
    })
  }

  /** A describe returned this resource (see schedule). */
  observe(key: string): void {
    if (this.seen.has(key)) this.seen.set(key, this.seen.get(key)! + 1)
  }

  /** Run everything pending now (tests that do not want to wait). */
  settle(): void {
    this.tick(Number.MAX_SAFE_INTEGER, true)
  }

  event(service: 'elasticache' | 'memorydb', sourceId: string, sourceType: string, message: string): void {
    this.events.push({ service, sourceId, sourceType, message, date: new Date() })
  }

  arn(service: string, kind: string, name: string): string {
    return `arn:aws:${service}:${this.region}:${ACCOUNT_ID}:${kind}${service === 'memorydb' ? '/' : ':'}${name}`
  }

  addReplicationGroup(spec: ReplicationGroupSpec): EcReplicationGroup {
    const clusterMode = spec.clusterMode ?? (spec.shards ?? 1) > 1
    const shards = clusterMode ? (spec.shards ?? 1) : 1
    const replicas = spec.replicas ?? 1
    const regionCode = 'use1'
    const nodeGroups: EcNodeGroup[] = []
    const slots = slotRanges(shards)
    let k = 0
    for (let s = 0; s < shards; s++) {
      const ngId = pad(s + 1, 4)
      const nodes: EcNode[] = []
      for (let r = 0; r <= replicas; r++) {
        const cacheClusterId = clusterMode
          ? `${spec.id}-${ngId}-${pad(r + 1, 3)}`
          : `${spec.id}-${pad(r + 1, 3)}`
        const endpoint = spec.nodeEndpoints?.[k] ?? {
          host: `${cacheClusterId}.${spec.id}.abc123.${regionCode}.cache.amazonaws.com`,
          port: 6379,
        }
        k++
        nodes.push({
          cacheClusterId,
          cacheNodeId: '0001',
          endpoint,
          role: r === 0 ? 'primary' : 'replica',
          az: `${this.region}${'abc'[r % 3]}`,
        })
      }
      nodeGroups.push({ id: ngId, ...(clusterMode ? { slots: slots[s] } : {}), nodes })
    }
    const rg: EcReplicationGroup = {
      id: spec.id,
      description: `${spec.id} (fake)`,
      status: spec.status ?? 'available',
      clusterMode,
      nodeGroups,
      ...(clusterMode
        ? {
            configEndpoint: spec.endpoint ?? {
              host: `clustercfg.${spec.id}.abc123.${regionCode}.cache.amazonaws.com`,
              port: 6379,
            },
          }
        : {
            primaryEndpoint: spec.endpoint ?? {
              host: `master.${spec.id}.abc123.${regionCode}.cache.amazonaws.com`,
              port: 6379,
            },
            readerEndpoint: {
              host: `replica.${spec.id}.abc123.${regionCode}.cache.amazonaws.com`,
              port: spec.endpoint?.port ?? 6379,
            },
          }),
      tls: spec.tls ?? true,
      authToken: spec.authToken ?? false,
      userGroupIds: spec.userGroupIds ?? [],
      nodeType: spec.nodeType ?? 'cache.r7g.large',
      engine: spec.engine ?? 'valkey',
      engineVersion: spec.engineVersion ?? '7.2.6',
      arn: this.arn('elasticache', 'replicationgroup', spec.id),
    }
    this.replicationGroups.set(rg.id, rg)
    this.syncCacheClusters(rg)
    return rg
  }

  /** Every node of a replication group is also a cache cluster of its own (as at AWS). */
  syncCacheClusters(rg: EcReplicationGroup): void {
    for (const [id, cc] of this.cacheClusters)
      if ((cc as EcCacheCluster & { rg?: string }).rg === rg.id) this.cacheClusters.delete(id)
    for (const ng of rg.nodeGroups) {
      for (const n of ng.nodes) {
        const cc: EcCacheCluster & { rg?: string } = {
          id: n.cacheClusterId,
          status: 'available',
          node: n,
          nodeType: rg.nodeType,
          engine: rg.engine,
          engineVersion: rg.engineVersion,
          tls: rg.tls,
          authToken: rg.authToken,
          arn: this.arn('elasticache', 'cluster', n.cacheClusterId),
          rg: rg.id,
        }
        this.cacheClusters.set(cc.id, cc)
      }
    }
  }

  replicationGroupOf(cacheClusterId: string): string | undefined {
    return (this.cacheClusters.get(cacheClusterId) as (EcCacheCluster & { rg?: string }) | undefined)?.rg
  }

  addCacheCluster(spec: { id: string; endpoint?: HostPort; engine?: string; tls?: boolean }): EcCacheCluster {
    const cc: EcCacheCluster = {
      id: spec.id,
      status: 'available',
      node: {
        cacheClusterId: spec.id,
        cacheNodeId: '0001',
        endpoint: spec.endpoint ?? { host: `${spec.id}.abc123.0001.use1.cache.amazonaws.com`, port: 6379 },
        role: 'primary',
        az: `${this.region}a`,
      },
      nodeType: 'cache.t4g.small',
      engine: spec.engine ?? 'redis',
      engineVersion: '7.1.0',
      tls: spec.tls ?? false,
      authToken: false,
      arn: this.arn('elasticache', 'cluster', spec.id),
    }
    this.cacheClusters.set(cc.id, cc)
    return cc
  }

  addServerlessCache(spec: { name: string; endpoint?: HostPort; userGroupId?: string }): EcServerlessCache {
    const sc: EcServerlessCache = {
      name: spec.name,
      status: 'available',
      engine: 'valkey',
      majorVersion: '8',
      fullVersion: '8.0',
      endpoint: spec.endpoint ?? {
        host: `${spec.name}-abc123.serverless.use1.cache.amazonaws.com`,
        port: 6379,
      },
      readerEndpoint: { host: `${spec.name}-abc123.serverless.use1.cache.amazonaws.com`, port: 6380 },
      ...(spec.userGroupId ? { userGroupId: spec.userGroupId } : {}),
      arn: this.arn('elasticache', 'serverlesscache', spec.name),
    }
    this.serverlessCaches.set(sc.name, sc)
    return sc
  }

  addMemoryDBCluster(spec: {
    name: string
    shards?: number
    replicas?: number
    tls?: boolean
    endpoint?: HostPort
    nodeEndpoints?: HostPort[]
    status?: string
  }): MdbCluster {
    const shards = spec.shards ?? 1
    const replicas = spec.replicas ?? 1
    const slots = slotRanges(shards)
    let k = 0
    const c: MdbCluster = {
      name: spec.name,
      status: spec.status ?? 'available',
      shards: Array.from({ length: shards }, (_, s) => ({
        name: pad(s + 1, 4),
        slots: slots[s],
        nodes: Array.from({ length: replicas + 1 }, (_, r) => {
          const name = `${spec.name}-${pad(s + 1, 4)}-${pad(r + 1, 3)}`
          const endpoint = spec.nodeEndpoints?.[k++] ?? {
            host: `${name}.${spec.name}.xyz789.memorydb.${this.region}.amazonaws.com`,
            port: 6379,
          }
          return { name, endpoint, az: `${this.region}${'abc'[r % 3]}`, status: 'available' }
        }),
      })),
      endpoint: spec.endpoint ?? {
        host: `clustercfg.${spec.name}.xyz789.memorydb.${this.region}.amazonaws.com`,
        port: 6379,
      },
      tls: spec.tls ?? true,
      aclName: 'open-access',
      nodeType: 'db.r7g.large',
      engine: 'valkey',
      engineVersion: '7.3',
      arn: this.arn('memorydb', 'cluster', spec.name),
    }
    this.mdbClusters.set(c.name, c)
    return c
  }

  addBucket(spec: {
    name: string
    region?: string
    /** Grant the ElastiCache canonical user (default Regions) these ACL permissions. */
    grantCanonicalId?: string
    grantPermissions?: S3Grant['permission'][]
    policy?: unknown
    aclsDisabled?: boolean
  }): S3Bucket {
    const grants: S3Grant[] = [{ id: OWNER_CANONICAL_ID, permission: 'FULL_CONTROL' }]
    if (spec.grantCanonicalId) {
      for (const p of spec.grantPermissions ?? ['READ', 'WRITE', 'READ_ACP'])
        grants.push({ id: spec.grantCanonicalId, permission: p })
    }
    const b: S3Bucket = {
      name: spec.name,
      region: spec.region ?? this.region,
      grants,
      aclsDisabled: spec.aclsDisabled ?? false,
      ...(spec.policy !== undefined
        ? { policy: typeof spec.policy === 'string' ? spec.policy : JSON.stringify(spec.policy) }
        : {}),
      objects: new Map(),
    }
    this.buckets.set(b.name, b)
    return b
  }

  addSnapshot(
    s: Omit<FakeSnapshot, 'arn' | 'nodeType' | 'engine' | 'engineVersion'> & Partial<FakeSnapshot>,
  ): FakeSnapshot {
    const snap: FakeSnapshot = {
      nodeType: s.service === 'memorydb' ? 'db.r7g.large' : 'cache.r7g.large',
      engine: 'valkey',
      engineVersion: '7.2.6',
      ...s,
      arn: this.arn(s.service, 'snapshot', s.name),
    }
    ;(s.service === 'memorydb' ? this.mdbSnapshots : this.snapshots).set(snap.name, snap)
    return snap
  }

  /** Every node CloudWatch knows, with what it publishes. */
  cloudwatchNodes(): {
    namespace: string
    dims: Record<string, string>
    id: string
    role: 'primary' | 'replica' | 'cache'
  }[] {
    const out: {
      namespace: string
      dims: Record<string, string>
      id: string
      role: 'primary' | 'replica' | 'cache'
    }[] = []
    for (const cc of this.cacheClusters.values()) {
      out.push({
        namespace: 'AWS/ElastiCache',
        dims: { CacheClusterId: cc.id, CacheNodeId: cc.node.cacheNodeId },
        id: cc.id,
        role: cc.node.role,
      })
    }
    for (const sc of this.serverlessCaches.values()) {
      out.push({ namespace: 'AWS/ElastiCache', dims: { clusterId: sc.name }, id: sc.name, role: 'cache' })
    }
    for (const c of this.mdbClusters.values()) {
      for (const s of c.shards) {
        s.nodes.forEach((n, i) =>
          out.push({
            namespace: 'AWS/MemoryDB',
            dims: { ClusterName: c.name, NodeName: n.name },
            id: n.name,
            role: i === 0 ? 'primary' : 'replica',
          }),
        )
      }
    }
    return out
  }
}

/** Metric names each kind of node publishes (anything else has no datapoints). */
export const PUBLISHED: Record<'AWS/ElastiCache' | 'AWS/MemoryDB' | 'serverless', string[]> = {
  'AWS/ElastiCache': [
    'CPUUtilization',
    'EngineCPUUtilization',
    'FreeableMemory',
    'DatabaseMemoryUsagePercentage',
    'BytesUsedForCache',
    'CurrConnections',
    'NewConnections',
    'NetworkBytesIn',
    'NetworkBytesOut',
    'CacheHits',
    'CacheMisses',
    'Evictions',
    'Reclaimed',
    'CurrItems',
    'ReplicationLag',
    'ReplicationBytes',
    'IsMaster',
    'SwapUsage',
    'GetTypeCmds',
    'SetTypeCmds',
  ],
  'AWS/MemoryDB': [
    'CPUUtilization',
    'EngineCPUUtilization',
    'FreeableMemory',
    'DatabaseMemoryUsagePercentage',
    'BytesUsedForMemoryDB',
    'CurrConnections',
    'NewConnections',
    'NetworkBytesIn',
    'NetworkBytesOut',
    'KeyspaceHits',
    'KeyspaceMisses',
    'Evictions',
    'Reclaimed',
    'CurrItems',
    'ReplicationLag',
    'ReplicationBytes',
    'IsPrimary',
    'SwapUsage',
    'GetTypeCmds',
    'SetTypeCmds',
  ],
  serverless: [
    'BytesUsedForCache',
    'ElastiCacheProcessingUnits',
    'CacheHits',
    'CacheMisses',
    'CurrConnections',
    'NewConnections',
    'Evictions',
    'Reclaimed',
    'CurrItems',
    'ThrottledCmds',
  ],
}

function hash(text: string): number {
  let h = 2166136261
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619)
  return h >>> 0
}

/**
 * The value a node publishes for a metric in the period starting at `t` (epoch ms), or undefined
 * when it publishes nothing: IsMaster/IsPrimary follow the role, ReplicationLag exists for
 * replicas only, everything else is a stable per-node figure that moves a little each minute.
 */
export function metricValue(
  metric: string,
  node: { id: string; role: 'primary' | 'replica' | 'cache' },
  t: number,
): number | undefined {
  if (metric === 'IsMaster' || metric === 'IsPrimary') return node.role === 'primary' ? 1 : 0
  if (metric === 'ReplicationLag') return node.role === 'replica' ? 0.25 + (hash(node.id) % 4) / 4 : undefined
  const base = hash(`${metric}|${node.id}`) % 1000
  return base + (Math.floor(t / 60_000) % 5)
}
