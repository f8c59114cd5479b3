/**
 * MemoryDB over awsJson1_1 (POST /, X-Amz-Target: AmazonMemoryDB.<Operation>), as
 * @aws-sdk/client-memorydb 3.1124 speaks it. Timestamps are epoch seconds.
 */
import { checkSeed } from './elasticache.js'
import { exportAllowed, writeExport } from './s3.js'
import { FakeAwsError, type FakeSnapshot, type FakeState, type MdbCluster } from './state.js'

type Body = Record<string, unknown>

const secs = (d: Date) => d.getTime() / 1000

function clusterJson(c: MdbCluster, details: boolean): Body {
  return {
    Name: c.name,
    Status: c.status,
    NumberOfShards: c.shards.length,
    ...(details
      ? {
          Shards: c.shards.map((s) => ({
            Name: s.name,
            Status: c.status === 'creating' ? 'creating' : 'available',
            Slots: s.slots,
            NumberOfNodes: s.nodes.length,
            Nodes: s.nodes.map((n) => ({
              Name: n.name,
              Status: n.status,
              AvailabilityZone: n.az,
              CreateTime: secs(new Date(0)),
              Endpoint: { Address: n.endpoint.host, Port: n.endpoint.port },
            })),
          })),
        }
      : {}),
    ClusterEndpoint: { Address: c.endpoint.host, Port: c.endpoint.port },
    NodeType: c.nodeType,
    Engine: c.engine,
    EngineVersion: c.engineVersion,
    TLSEnabled: c.tls,
    ARN: c.arn,
    ACLName: c.aclName,
    AvailabilityMode: c.shards[0]?.nodes.length > 1 ? 'multiaz' : 'singleaz',
  }
}

export function mdbSnapshotJson(s: FakeSnapshot): Body {
  return {
    Name: s.name,
    Status: s.status,
    Source: s.origin,
    ARN: s.arn,
    ClusterConfiguration: {
      Name: s.source,
      NodeType: s.nodeType,
      Engine: s.engine,
      EngineVersion: s.engineVersion,
      NumShards: s.shards.length,
      Shards: s.shards.map((sh) => ({
        Name: sh.id,
        Configuration: { Slots: sh.slots, ReplicaCount: 1 },
        Size: `${Math.round(sh.sizeBytes / 1024 / 1024)} MB`,
        SnapshotCreationTime: secs(sh.createdAt),
      })),
    },
  }
}

function str(body: Body, name: string): string {
  const v = body[name]
  if (typeof v !== 'string' || !v)
    throw new FakeAwsError('InvalidParameterValueException', `${name} is required.`)
  return v
}

function clusterOrThrow(state: FakeState, name: string): MdbCluster {
  const c = state.mdbClusters.get(name)
  if (!c) throw new FakeAwsError('ClusterNotFoundFault', `Cluster ${name} not found`, 400)
  return c
}

function paged<T>(items: T[], body: Body): { items: T[]; NextToken?: string } {
  const max = Math.min(Number(body.MaxResults ?? 100) || 100, 100)
  const start = Number(body.NextToken ?? 0) || 0
  return {
    items: items.slice(start, start + max),
    ...(start + max < items.length ? { NextToken: String(start + max) } : {}),
  }
}

export function handleMemoryDB(state: FakeState, operation: string, body: Body): Body {
  switch (operation) {
    case 'DescribeClusters': {
      let clusters = [...state.mdbClusters.values()]
      if (body.ClusterName) clusters = [clusterOrThrow(state, String(body.ClusterName))]
      const pg = paged(clusters, body)
      for (const c of pg.items) state.observe(`mdb-cluster:${c.name}`)
      return {
        Clusters: pg.items.map((c) => clusterJson(c, body.ShowShardDetails === true)),
        ...(pg.NextToken ? { NextToken: pg.NextToken } : {}),
      }
    }
    case 'CreateSnapshot': {
      const c = clusterOrThrow(state, str(body, 'ClusterName'))
      const name = str(body, 'SnapshotName')
      if (state.mdbSnapshots.has(name))
        throw new FakeAwsError('SnapshotAlreadyExistsFault', `Snapshot ${name} already exists`)
      if (c.status !== 'available')
        throw new FakeAwsError(
          'InvalidClusterStateFault',
          `Cluster ${c.name} is not in available state (${c.status})`,
        )
      const snap = state.addSnapshot({
        service: 'memorydb',
        name,
        status: 'creating',
        source: c.name,
        sourceKind: 'cluster',
        origin: 'manual',
        shards: c.shards.map((s) => ({
          id: s.name,
          slots: s.slots,
          sizeBytes: 3 * 1024 * 1024,
          createdAt: new Date(),
        })),
        nodeType: c.nodeType,
        engine: c.engine,
        engineVersion: c.engineVersion,
      })
      c.status = 'snapshotting'
      const message = state.snapshotFailures.get(name)
      state.snapshotFailures.delete(name)
      state.schedule(
        state.delays.snapshot,
        () => {
          snap.status = message ? 'failed' : 'available'
          if (c.status === 'snapshotting') c.status = 'available'
          state.event(
            'memorydb',
            c.name,
            'cluster',
            message
              ? `Snapshot ${name} failed: ${message}`
              : `Snapshot ${name} created for cluster ${c.name}`,
          )
        },
        `mdb-snapshot:${name}`,
      )
      return { Snapshot: mdbSnapshotJson(snap) }
    }
    case 'DescribeSnapshots': {
      let snaps = [...state.mdbSnapshots.values()]
      if (body.SnapshotName) {
        const s = state.mdbSnapshots.get(String(body.SnapshotName))
        if (!s)
          throw new FakeAwsError('SnapshotNotFoundFault', `Snapshot ${String(body.SnapshotName)} not found`)
        snaps = [s]
      }
      if (body.ClusterName) {
        clusterOrThrow(state, String(body.ClusterName))
        snaps = snaps.filter((s) => s.source === body.ClusterName)
      }
      if (body.Source) snaps = snaps.filter((s) => s.origin === body.Source)
      const pg = paged(snaps, body)
      for (const x of pg.items) state.observe(`mdb-snapshot:${x.name}`)
      return {
        Snapshots: pg.items.map(mdbSnapshotJson),
        ...(pg.NextToken ? { NextToken: pg.NextToken } : {}),
      }
    }
    case 'CopySnapshot': {
      const sourceName = str(body, 'SourceSnapshotName')
      const target = str(body, 'TargetSnapshotName')
      const source = state.mdbSnapshots.get(sourceName)
      if (!source) throw new FakeAwsError('SnapshotNotFoundFault', `Snapshot ${sourceName} not found`)
      if (source.status !== 'available')
        throw new FakeAwsError('InvalidSnapshotStateFault', `Snapshot ${sourceName} is ${source.status}`)
      const bucket = body.TargetBucket as string | undefined
      if (!bucket) {
        const copy = state.addSnapshot({ ...source, name: target, status: 'creating' })
        state.schedule(
          state.delays.snapshot,
          () => {
            copy.status = 'available'
          },
          `mdb-snapshot:${target}`,
        )
        return { Snapshot: mdbSnapshotJson(copy) }
      }
      exportAllowed(state, 'memorydb', bucket, target, source.shards.length)
      source.status = 'copying'
      const failure = state.exportFailures.get(sourceName)
      state.exportFailures.delete(sourceName)
      state.schedule(
        state.delays.export,
        () => {
          source.status = 'available'
          if (failure) {
            state.event(
              'memorydb',
              source.source,
              'cluster',
              `Failed to export snapshot ${sourceName} to S3 bucket ${bucket}: ${failure}`,
            )
            return
          }
          writeExport(state, bucket, target, source.shards.length)
        },
        `mdb-snapshot:${sourceName}`,
      )
      return { Snapshot: mdbSnapshotJson({ ...source, status: 'copying' }) }
    }
    case 'DescribeEvents': {
      let events = state.events.filter((e) => e.service === 'memorydb')
      if (body.SourceName) events = events.filter((e) => e.sourceId === body.SourceName)
      if (body.SourceType) events = events.filter((e) => e.sourceType === body.SourceType)
      if (typeof body.StartTime === 'number')
        events = events.filter((e) => secs(e.date) >= (body.StartTime as number))
      const pg = paged([...events].reverse(), body)
      return {
        Events: pg.items.map((e) => ({
          SourceName: e.sourceId,
          SourceType: e.sourceType,
          Message: e.message,
          Date: secs(e.date),
        })),
        ...(pg.NextToken ? { NextToken: pg.NextToken } : {}),
      }
    }
    case 'UpdateCluster': {
      const c = clusterOrThrow(state, str(body, 'ClusterName'))
      if (c.status !== 'available')
        throw new FakeAwsError(
          'InvalidClusterStateFault',
          `Cluster ${c.name} is not in available state (${c.status})`,
        )
      const shardCount = (body.ShardConfiguration as { ShardCount?: number } | undefined)?.ShardCount
      const replicaCount = (body.ReplicaConfiguration as { ReplicaCount?: number } | undefined)?.ReplicaCount
      const nodeType = body.NodeType as string | undefined
      c.status = 'updating'
      state.schedule(
        state.delays.modify,
        () => {
          const fresh = state.addMemoryDBCluster({
            name: c.name,
            shards: shardCount ?? c.shards.length,
            replicas: replicaCount ?? c.shards[0].nodes.length - 1,
            tls: c.tls,
            endpoint: c.endpoint,
          })
          Object.assign(c, { shards: fresh.shards, nodeType: nodeType ?? c.nodeType, status: 'available' })
          state.mdbClusters.set(c.name, c)
          state.event('memorydb', c.name, 'cluster', `Cluster ${c.name} update completed`)
        },
        `mdb-cluster:${c.name}`,
      )
      return { Cluster: clusterJson(c, false) }
    }
    case 'CreateCluster': {
      const name = str(body, 'ClusterName')
      if (state.mdbClusters.has(name))
        throw new FakeAwsError('ClusterAlreadyExistsFault', `Cluster ${name} already exists`)
      str(body, 'NodeType')
      str(body, 'ACLName')
      const seeds = (body.SnapshotArns as string[] | undefined) ?? []
      for (const arn of seeds) checkSeed(state, arn)
      const seeding = seeds.length ? state.onMemoryDBSeed?.(name, seeds) : undefined
      const c = state.addMemoryDBCluster({
        name,
        shards: Number(body.NumShards ?? 1),
        replicas: Number(body.NumReplicasPerShard ?? 1),
        tls: seeding?.tls ?? body.TLSEnabled !== false,
        status: 'creating',
        ...(seeding ? { endpoint: seeding.endpoint, nodeEndpoints: seeding.nodeEndpoints } : {}),
      })
      c.nodeType = String(body.NodeType)
      c.aclName = String(body.ACLName)
      if (seeds.length) c.seededFrom = seeds
      let loaded = !seeding
      void seeding?.loaded.then(() => (loaded = true))
      const becomeAvailable = () => {
        if (loaded) c.status = 'available'
        else state.schedule(50, becomeAvailable)
      }
      state.schedule(state.delays.create, becomeAvailable, `mdb-cluster:${c.name}`)
      return { Cluster: clusterJson(c, false) }
    }
    default:
      throw new FakeAwsError('UnknownOperationException', `The fake does not implement ${operation}`)
  }
}
