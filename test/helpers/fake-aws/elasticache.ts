/**
 * ElastiCache over the awsQuery protocol (form-encoded Action=...&Version=2015-02-02 requests,
 * <ActionResponse><ActionResult> XML responses), as @aws-sdk/client-elasticache 3.1127 speaks it.
 */
import {
  FakeAwsError,
  type EcCacheCluster,
  type EcReplicationGroup,
  type FakeSnapshot,
  type FakeState,
  type HostPort,
} from './state.js'
import { exportAllowed, writeExport } from './s3.js'
import { toXml, type XmlValue } from './xml.js'

export const ELASTICACHE_XMLNS = 'http://elasticache.amazonaws.com/doc/2015-02-02/'

/** List member element names of the ElastiCache model. */
const MEMBERS: Record<string, string> = {
  ReplicationGroups: 'ReplicationGroup',
  NodeGroups: 'NodeGroup',
  NodeGroupMembers: 'NodeGroupMember',
  MemberClusters: 'ClusterId',
  CacheClusters: 'CacheCluster',
  CacheNodes: 'CacheNode',
  Snapshots: 'Snapshot',
  NodeSnapshots: 'NodeSnapshot',
  ServerlessCaches: 'member',
  UserGroupIds: 'member',
  Events: 'Event',
}

type Params = Record<string, string>

function ep(e: HostPort | undefined): XmlValue {
  return e ? { Address: e.host, Port: e.port } : undefined
}

function required(p: Params, name: string): string {
  const v = p[name]
  if (v === undefined || v === '')
    throw new FakeAwsError('MissingParameter', `The request must contain the parameter ${name}`)
  return v
}

function rgXml(rg: EcReplicationGroup): XmlValue {
  return {
    ReplicationGroupId: rg.id,
    Description: rg.description,
    Status: rg.status,
    MemberClusters: rg.nodeGroups.flatMap((g) => g.nodes.map((n) => n.cacheClusterId)),
    NodeGroups: rg.nodeGroups.map((g) => ({
      NodeGroupId: g.id,
      Status: rg.status === 'creating' ? 'creating' : 'available',
      ...(rg.clusterMode
        ? {}
        : { PrimaryEndpoint: ep(rg.primaryEndpoint), ReaderEndpoint: ep(rg.readerEndpoint) }),
      Slots: g.slots,
      NodeGroupMembers: g.nodes.map((n) => ({
        CacheClusterId: n.cacheClusterId,
        CacheNodeId: n.cacheNodeId,
        // As at AWS: member endpoints and roles only with cluster mode disabled.
        ...(rg.clusterMode ? {} : { ReadEndpoint: ep(n.endpoint) }),
        PreferredAvailabilityZone: n.az,
        ...(rg.clusterMode ? {} : { CurrentRole: n.role }),
      })),
    })),
    SnapshottingClusterId: rg.nodeGroups[0]?.nodes[1]?.cacheClusterId,
    AutomaticFailover: rg.nodeGroups[0]?.nodes.length > 1 ? 'enabled' : 'disabled',
    ConfigurationEndpoint: ep(rg.configEndpoint),
    ClusterEnabled: rg.clusterMode,
    CacheNodeType: rg.nodeType,
    AuthTokenEnabled: rg.authToken,
    TransitEncryptionEnabled: rg.tls,
    AtRestEncryptionEnabled: true,
    ARN: rg.arn,
    UserGroupIds: rg.userGroupIds.length ? rg.userGroupIds : undefined,
    ClusterMode: rg.clusterMode ? 'enabled' : 'disabled',
    Engine: rg.engine,
  }
}

function ccXml(cc: EcCacheCluster, showNodes: boolean, rgId: string | undefined): XmlValue {
  return {
    CacheClusterId: cc.id,
    CacheNodeType: cc.nodeType,
    Engine: cc.engine,
    EngineVersion: cc.engineVersion,
    CacheClusterStatus: cc.status,
    NumCacheNodes: 1,
    PreferredAvailabilityZone: cc.node.az,
    CacheNodes: showNodes
      ? [{ CacheNodeId: cc.node.cacheNodeId, CacheNodeStatus: 'available', Endpoint: ep(cc.node.endpoint) }]
      : undefined,
    ReplicationGroupId: rgId,
    AuthTokenEnabled: cc.authToken,
    TransitEncryptionEnabled: cc.tls,
    ARN: cc.arn,
  }
}

export function snapshotXml(s: FakeSnapshot): XmlValue {
  return {
    SnapshotName: s.name,
    ...(s.sourceKind === 'replication-group'
      ? { ReplicationGroupId: s.source }
      : { CacheClusterId: s.source }),
    SnapshotStatus: s.status,
    SnapshotSource: s.origin,
    CacheNodeType: s.nodeType,
    Engine: s.engine,
    EngineVersion: s.engineVersion,
    NumNodeGroups: s.shards.length,
    NodeSnapshots: s.shards.map((sh) => ({
      CacheClusterId: s.sourceKind === 'replication-group' ? `${s.source}-${sh.id}-001` : s.source,
      NodeGroupId: sh.id,
      CacheNodeId: '0001',
      CacheSize: `${Math.round(sh.sizeBytes / 1024 / 1024)} MB`,
      SnapshotCreateTime: sh.createdAt,
    })),
    ARN: s.arn,
  }
}

function page<T>(
  items: T[],
  p: Params,
  maxKey = 'MaxRecords',
  markerKey = 'Marker',
): { items: T[]; marker?: string } {
  const max = Math.min(Number(p[maxKey] ?? 100) || 100, 100)
  const start = Number(p[markerKey] ?? 0) || 0
  const slice = items.slice(start, start + max)
  return { items: slice, ...(start + max < items.length ? { marker: String(start + max) } : {}) }
}

function rgOrThrow(state: FakeState, id: string): EcReplicationGroup {
  const rg = state.replicationGroups.get(id.toLowerCase())
  if (!rg) throw new FakeAwsError('ReplicationGroupNotFoundFault', `ReplicationGroup ${id} not found.`, 404)
  return rg
}

function modify(state: FakeState, rg: EcReplicationGroup, apply: () => void, what: string): void {
  if (rg.status !== 'available') {
    throw new FakeAwsError(
      'InvalidReplicationGroupState',
      `Replication group ${rg.id} is not in available state (${rg.status}).`,
    )
  }
  rg.status = 'modifying'
  state.schedule(
    state.delays.modify,
    () => {
      apply()
      rg.status = 'available'
      state.syncCacheClusters(rg)
      state.event(
        'elasticache',
        rg.id,
        'replication-group',
        `${what} completed for replication group ${rg.id}`,
      )
    },
    `ec-rg:${rg.id}`,
  )
}

function reshape(state: FakeState, rg: EcReplicationGroup, shards: number, replicas: number): void {
  const nodeType = rg.nodeType
  const fresh = state.addReplicationGroup({
    id: rg.id,
    shards,
    replicas,
    clusterMode: rg.clusterMode,
    tls: rg.tls,
    authToken: rg.authToken,
    userGroupIds: rg.userGroupIds,
    engine: rg.engine,
    engineVersion: rg.engineVersion,
    nodeType,
    ...(rg.configEndpoint
      ? { endpoint: rg.configEndpoint }
      : rg.primaryEndpoint
        ? { endpoint: rg.primaryEndpoint }
        : {}),
  })
  // Keep the object identity the caller holds.
  Object.assign(rg, fresh, { status: rg.status })
  state.replicationGroups.set(rg.id, rg)
}

export function handleElastiCache(state: FakeState, action: string, p: Params): string {
  const result = (body: Record<string, XmlValue>) =>
    `<?xml version="1.0"?>\n<${action}Response xmlns="${ELASTICACHE_XMLNS}"><${action}Result>${toXml(body, MEMBERS)}</${action}Result>` +
    `<ResponseMetadata><RequestId>${crypto.randomUUID()}</RequestId></ResponseMetadata></${action}Response>`

  switch (action) {
    case 'DescribeReplicationGroups': {
      let groups = [...state.replicationGroups.values()]
      if (p.ReplicationGroupId) groups = [rgOrThrow(state, p.ReplicationGroupId)]
      const pg = page(groups, p)
      for (const g of pg.items) state.observe(`ec-rg:${g.id}`)
      return result({ Marker: pg.marker, ReplicationGroups: pg.items.map(rgXml) })
    }
    case 'DescribeCacheClusters': {
      let clusters = [...state.cacheClusters.values()]
      if (p.CacheClusterId) {
        const cc = state.cacheClusters.get(p.CacheClusterId.toLowerCase())
        if (!cc)
          throw new FakeAwsError('CacheClusterNotFound', `CacheCluster not found: ${p.CacheClusterId}`, 404)
        clusters = [cc]
      }
      const show = p.ShowCacheNodeInfo === 'true'
      const pg = page(clusters, p)
      return result({
        Marker: pg.marker,
        CacheClusters: pg.items.map((c) => ccXml(c, show, state.replicationGroupOf(c.id))),
      })
    }
    case 'DescribeServerlessCaches': {
      let caches = [...state.serverlessCaches.values()]
      if (p.ServerlessCacheName) {
        const sc = state.serverlessCaches.get(p.ServerlessCacheName)
        if (!sc)
          throw new FakeAwsError(
            'ServerlessCacheNotFoundFault',
            `Serverless cache ${p.ServerlessCacheName} not found.`,
            404,
          )
        caches = [sc]
      }
      return result({
        ServerlessCaches: caches.map((sc) => ({
          ServerlessCacheName: sc.name,
          Status: sc.status,
          Engine: sc.engine,
          MajorEngineVersion: sc.majorVersion,
          FullEngineVersion: sc.fullVersion,
          Endpoint: ep(sc.endpoint),
          ReaderEndpoint: ep(sc.readerEndpoint),
          ARN: sc.arn,
          UserGroupId: sc.userGroupId,
        })),
      })
    }
    case 'CreateSnapshot': {
      const name = required(p, 'SnapshotName')
      if (state.snapshots.has(name))
        throw new FakeAwsError(
          'SnapshotAlreadyExistsFault',
          `Snapshot with specified name [${name}] already exists.`,
        )
      let snap: FakeSnapshot
      if (p.ReplicationGroupId) {
        const rg = rgOrThrow(state, p.ReplicationGroupId)
        if (rg.status !== 'available') {
          throw new FakeAwsError(
            'InvalidReplicationGroupState',
            `Cannot take snapshot; replication group ${rg.id} is ${rg.status}.`,
          )
        }
        snap = state.addSnapshot({
          service: 'elasticache',
          name,
          status: 'creating',
          source: rg.id,
          sourceKind: 'replication-group',
          origin: 'manual',
          shards: rg.nodeGroups.map((g) => ({
            id: g.id,
            slots: g.slots,
            sizeBytes: 5 * 1024 * 1024,
            createdAt: new Date(),
          })),
          nodeType: rg.nodeType,
          engine: rg.engine,
          engineVersion: rg.engineVersion,
        })
        rg.status = 'snapshotting'
      } else {
        const id = required(p, 'CacheClusterId')
        const cc = state.cacheClusters.get(id)
        if (!cc) throw new FakeAwsError('CacheClusterNotFound', `CacheCluster not found: ${id}`, 404)
        snap = state.addSnapshot({
          service: 'elasticache',
          name,
          status: 'creating',
          source: cc.id,
          sourceKind: 'cache-cluster',
          origin: 'manual',
          shards: [{ id: '0001', sizeBytes: 1024 * 1024, createdAt: new Date() }],
        })
      }
      const message = state.snapshotFailures.get(name)
      state.snapshotFailures.delete(name)
      state.schedule(
        state.delays.snapshot,
        () => {
          snap.status = message ? 'failed' : 'available'
          const rg = state.replicationGroups.get(snap.source)
          if (rg && rg.status === 'snapshotting') rg.status = 'available'
          state.event(
            'elasticache',
            snap.source,
            snap.sourceKind === 'replication-group' ? 'replication-group' : 'cache-cluster',
            message
              ? `Snapshot ${name} failed: ${message}`
              : `Snapshot succeeded for snapshot with ID '${name}' of replication group with ID '${snap.source}'`,
          )
        },
        `ec-snapshot:${name}`,
      )
      return result({ Snapshot: snapshotXml(snap) })
    }
    case 'DescribeSnapshots': {
      let snaps = [...state.snapshots.values()]
      if (p.SnapshotName) {
        const s = state.snapshots.get(p.SnapshotName)
        if (!s) throw new FakeAwsError('SnapshotNotFoundFault', `Snapshot ${p.SnapshotName} not found.`, 404)
        snaps = [s]
      }
      if (p.ReplicationGroupId) {
        rgOrThrow(state, p.ReplicationGroupId)
        snaps = snaps.filter(
          (s) => s.sourceKind === 'replication-group' && s.source === p.ReplicationGroupId.toLowerCase(),
        )
      }
      if (p.CacheClusterId) snaps = snaps.filter((s) => s.source === p.CacheClusterId)
      if (p.SnapshotSource) {
        const want = p.SnapshotSource === 'system' ? 'automated' : 'manual'
        snaps = snaps.filter((s) => s.origin === want)
      }
      const pg = page(snaps, p)
      for (const x of pg.items) state.observe(`ec-snapshot:${x.name}`)
      return result({ Marker: pg.marker, Snapshots: pg.items.map(snapshotXml) })
    }
    case 'CopySnapshot': {
      const sourceName = required(p, 'SourceSnapshotName')
      const target = required(p, 'TargetSnapshotName')
      const source = state.snapshots.get(sourceName)
      if (!source) throw new FakeAwsError('SnapshotNotFoundFault', `Snapshot ${sourceName} not found.`, 404)
      if (source.status !== 'available') {
        throw new FakeAwsError(
          'InvalidSnapshotState',
          `Snapshot ${sourceName} is not in available state (${source.status}).`,
        )
      }
      if (!p.TargetBucket) {
        if (state.snapshots.has(target))
          throw new FakeAwsError(
            'SnapshotAlreadyExistsFault',
            `Snapshot with specified name [${target}] already exists.`,
          )
        const copy = state.addSnapshot({ ...source, name: target, status: 'creating', origin: 'manual' })
        state.schedule(
          state.delays.snapshot,
          () => {
            copy.status = 'available'
          },
          `ec-snapshot:${target}`,
        )
        return result({ Snapshot: snapshotXml(copy) })
      }
      exportAllowed(state, 'elasticache', p.TargetBucket, target, source.shards.length)
      source.status = 'exporting'
      const failure = state.exportFailures.get(sourceName)
      state.exportFailures.delete(sourceName)
      state.schedule(
        state.delays.export,
        () => {
          source.status = 'available'
          if (failure) {
            state.event(
              'elasticache',
              source.source,
              'replication-group',
              `Failed to export snapshot ${sourceName} to S3 bucket ${p.TargetBucket}: ${failure}`,
            )
            return
          }
          writeExport(state, p.TargetBucket, target, source.shards.length)
          state.event(
            'elasticache',
            source.source,
            'replication-group',
            `Snapshot ${sourceName} exported to S3 bucket ${p.TargetBucket}`,
          )
        },
        `ec-snapshot:${sourceName}`,
      )
      return result({ Snapshot: snapshotXml({ ...source, status: 'exporting' }) })
    }
    case 'DescribeEvents': {
      let events = state.events.filter((e) => e.service === 'elasticache')
      if (p.SourceIdentifier) events = events.filter((e) => e.sourceId === p.SourceIdentifier)
      if (p.SourceType) events = events.filter((e) => e.sourceType === p.SourceType)
      if (p.StartTime) events = events.filter((e) => e.date.getTime() >= Date.parse(p.StartTime))
      events = [...events].reverse()
      const pg = page(events, p)
      return result({
        Marker: pg.marker,
        Events: pg.items.map((e) => ({
          SourceIdentifier: e.sourceId,
          SourceType: e.sourceType,
          Message: e.message,
          Date: e.date,
        })),
      })
    }
    case 'ModifyReplicationGroupShardConfiguration': {
      const rg = rgOrThrow(state, required(p, 'ReplicationGroupId'))
      const count = Number(required(p, 'NodeGroupCount'))
      if (!rg.clusterMode)
        throw new FakeAwsError(
          'InvalidParameterValue',
          'Cluster mode must be enabled to modify the shard configuration.',
        )
      const replicas = rg.nodeGroups[0].nodes.length - 1
      modify(state, rg, () => reshape(state, rg, count, replicas), `Resharding to ${count} shards`)
      return result({ ReplicationGroup: rgXml(rg) })
    }
    case 'IncreaseReplicaCount':
    case 'DecreaseReplicaCount': {
      const rg = rgOrThrow(state, required(p, 'ReplicationGroupId'))
      const n = Number(required(p, 'NewReplicaCount'))
      const current = rg.nodeGroups[0].nodes.length - 1
      if (action === 'IncreaseReplicaCount' ? n <= current : n >= current) {
        throw new FakeAwsError(
          'InvalidParameterValue',
          `NewReplicaCount ${n} must be ${action === 'IncreaseReplicaCount' ? 'greater' : 'less'} than the current ${current}.`,
        )
      }
      modify(state, rg, () => reshape(state, rg, rg.nodeGroups.length, n), `Replica count change to ${n}`)
      return result({ ReplicationGroup: rgXml(rg) })
    }
    case 'ModifyReplicationGroup': {
      const rg = rgOrThrow(state, required(p, 'ReplicationGroupId'))
      const nodeType = p.CacheNodeType
      modify(
        state,
        rg,
        () => {
          if (nodeType) rg.nodeType = nodeType
        },
        nodeType ? `Scaling to ${nodeType}` : 'Modification',
      )
      return result({ ReplicationGroup: rgXml(rg) })
    }
    case 'CreateReplicationGroup': {
      const id = required(p, 'ReplicationGroupId').toLowerCase()
      if (state.replicationGroups.has(id))
        throw new FakeAwsError('ReplicationGroupAlreadyExists', `Replication group ${id} already exists.`)
      const seeds = Object.entries(p)
        .filter(([k]) => k.startsWith('SnapshotArns.'))
        .map(([, v]) => v)
      for (const arn of seeds) checkSeed(state, arn)
      const rg = state.addReplicationGroup({
        id,
        shards: Number(p.NumNodeGroups ?? 1),
        replicas: Number(p.ReplicasPerNodeGroup ?? 1),
        clusterMode: p.ClusterMode === 'enabled' || Number(p.NumNodeGroups ?? 1) > 1,
        tls: p.TransitEncryptionEnabled === 'true',
        nodeType: p.CacheNodeType ?? 'cache.r7g.large',
        engine: p.Engine ?? 'redis',
        status: 'creating',
      })
      state.schedule(
        state.delays.create,
        () => {
          rg.status = 'available'
        },
        `ec-rg:${rg.id}`,
      )
      return result({ ReplicationGroup: rgXml(rg) })
    }
    default:
      throw new FakeAwsError(
        'InvalidAction',
        `The action ${action} is not valid for this web service (the fake does not implement it).`,
      )
  }
}

/** arn:aws:s3:::bucket/key must name an existing object. */
export function checkSeed(state: FakeState, arn: string): void {
  const m = /^arn:aws[a-z-]*:s3:::([^/]+)\/(.+)$/.exec(arn)
  if (!m) throw new FakeAwsError('InvalidParameterValue', `Invalid S3 ARN: ${arn}`)
  const bucket = state.buckets.get(m[1])
  if (!bucket?.objects.has(m[2]))
    throw new FakeAwsError('InvalidParameterValue', `No snapshot found in Amazon S3 at ${arn}`)
}
