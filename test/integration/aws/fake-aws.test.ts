import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  CopySnapshotCommand,
  CreateSnapshotCommand,
  DescribeCacheClustersCommand,
  DescribeReplicationGroupsCommand,
  DescribeServerlessCachesCommand,
  DescribeSnapshotsCommand,
  ElastiCacheClient,
  IncreaseReplicaCountCommand,
  ModifyReplicationGroupShardConfigurationCommand,
  ReplicationGroupNotFoundFault,
} from '@aws-sdk/client-elasticache'
import {
  ClusterNotFoundFault,
  CreateClusterCommand,
  DescribeClustersCommand,
  MemoryDBClient,
  UpdateClusterCommand,
} from '@aws-sdk/client-memorydb'
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch'
import {
  GetBucketAclCommand,
  GetBucketLocationCommand,
  HeadObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3'
import { startFakeAws, type FakeAws } from '../../helpers/fake-aws/index.js'

/**
 * The fake speaks each protocol as the installed SDK clients expect: every call here goes through
 * the real client (serialisation, signing, parsing, error mapping), with retries off.
 */
describe('fake AWS endpoint through the real SDK clients', () => {
  let fake: FakeAws
  let ec: ElastiCacheClient
  let mdb: MemoryDBClient
  let cw: CloudWatchClient
  let s3: S3Client

  beforeAll(async () => {
    fake = await startFakeAws({ delays: { snapshot: 60, export: 60, modify: 60, create: 60 } })
    const cfg = { ...fake.clientConfig(), maxAttempts: 1 }
    ec = new ElastiCacheClient(cfg)
    mdb = new MemoryDBClient(cfg)
    cw = new CloudWatchClient(cfg)
    s3 = new S3Client({ ...cfg, forcePathStyle: true })
    fake.state.addReplicationGroup({ id: 'orders', shards: 2, replicas: 1, clusterMode: true })
    fake.state.addReplicationGroup({
      id: 'legacy',
      clusterMode: false,
      replicas: 2,
      tls: false,
      authToken: true,
    })
    fake.state.addServerlessCache({ name: 'sless' })
    fake.state.addMemoryDBCluster({ name: 'sessions', shards: 2, replicas: 1 })
  })
  afterAll(async () => {
    for (const c of [ec, mdb, cw, s3]) c?.destroy()
    await fake?.close()
  })

  it('ElastiCache (awsQuery): replication groups with lists, nested structures, booleans', async () => {
    const out = await ec.send(new DescribeReplicationGroupsCommand({ ReplicationGroupId: 'orders' }))
    const rg = out.ReplicationGroups![0]
    expect(rg).toMatchObject({
      ReplicationGroupId: 'orders',
      ClusterEnabled: true,
      TransitEncryptionEnabled: true,
      Status: 'available',
    })
    expect(rg.ConfigurationEndpoint).toEqual({
      Address: 'clustercfg.orders.abc123.use1.cache.amazonaws.com',
      Port: 6379,
    })
    expect(
      rg.NodeGroups!.map((g) => [g.NodeGroupId, g.Slots, g.NodeGroupMembers!.map((m) => m.CacheClusterId)]),
    ).toEqual([
      ['0001', '0-8191', ['orders-0001-001', 'orders-0001-002']],
      ['0002', '8192-16383', ['orders-0002-001', 'orders-0002-002']],
    ])
    expect(rg.MemberClusters).toHaveLength(4)
    const legacy = (await ec.send(new DescribeReplicationGroupsCommand({ ReplicationGroupId: 'legacy' })))
      .ReplicationGroups![0]
    expect(legacy.NodeGroups![0].NodeGroupMembers!.map((m) => m.CurrentRole)).toEqual([
      'primary',
      'replica',
      'replica',
    ])
    expect(legacy.NodeGroups![0].PrimaryEndpoint?.Address).toBe(
      'master.legacy.abc123.use1.cache.amazonaws.com',
    )
    expect(legacy.AuthTokenEnabled).toBe(true)
    const cc = await ec.send(
      new DescribeCacheClustersCommand({ CacheClusterId: 'orders-0002-002', ShowCacheNodeInfo: true }),
    )
    expect(cc.CacheClusters![0]).toMatchObject({ ReplicationGroupId: 'orders', EngineVersion: '7.2.6' })
    expect(cc.CacheClusters![0].CacheNodes![0].Endpoint!.Address).toMatch(/^orders-0002-002\./)
    const sl = await ec.send(new DescribeServerlessCachesCommand({ ServerlessCacheName: 'sless' }))
    expect(sl.ServerlessCaches![0].Endpoint!.Address).toBe('sless-abc123.serverless.use1.cache.amazonaws.com')
  })

  it('ElastiCache errors arrive as the SDK error classes with AWS messages', async () => {
    const err = await ec
      .send(new DescribeReplicationGroupsCommand({ ReplicationGroupId: 'nope' }))
      .catch((e) => e)
    expect(err).toBeInstanceOf(ReplicationGroupNotFoundFault)
    expect(err.message).toBe('ReplicationGroup nope not found.')
    expect(err.$metadata.httpStatusCode).toBe(404)
  })

  it('snapshots go creating -> available; the group is snapshotting meanwhile; export writes <name>-000N.rdb', async () => {
    const created = await ec.send(
      new CreateSnapshotCommand({ ReplicationGroupId: 'orders', SnapshotName: 's1' }),
    )
    expect(created.Snapshot).toMatchObject({
      SnapshotName: 's1',
      SnapshotStatus: 'creating',
      NumNodeGroups: 2,
    })
    expect(
      (await ec.send(new DescribeReplicationGroupsCommand({ ReplicationGroupId: 'orders' })))
        .ReplicationGroups![0].Status,
    ).toBe('snapshotting')
    await new Promise((r) => setTimeout(r, 80))
    // However late the first look, it sees the intermediate status: transitions wait to be observed.
    expect(
      (await ec.send(new DescribeSnapshotsCommand({ SnapshotName: 's1' }))).Snapshots![0].SnapshotStatus,
    ).toBe('creating')
    const s = (await ec.send(new DescribeSnapshotsCommand({ SnapshotName: 's1' }))).Snapshots![0]
    expect(s.SnapshotStatus).toBe('available')
    expect(s.NodeSnapshots!.map((n) => n.NodeGroupId)).toEqual(['0001', '0002'])
    expect(s.NodeSnapshots![0].SnapshotCreateTime).toBeInstanceOf(Date)
    fake.state.addBucket({
      name: 'exports',
      grantCanonicalId: '540804c33a284a299d2547575ce1010f2312ef3da9b3a053c8bc45bf233e4353',
    })
    const copy = await ec.send(
      new CopySnapshotCommand({
        SourceSnapshotName: 's1',
        TargetSnapshotName: 'out',
        TargetBucket: 'exports',
      }),
    )
    expect(copy.Snapshot!.SnapshotStatus).toBe('exporting')
    await new Promise((r) => setTimeout(r, 80))
    expect(
      (await ec.send(new DescribeSnapshotsCommand({ SnapshotName: 's1' }))).Snapshots![0].SnapshotStatus,
    ).toBe('exporting')
    fake.state.tick()
    expect([...fake.state.buckets.get('exports')!.objects.keys()]).toEqual(['out-0001.rdb', 'out-0002.rdb'])
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'exports', Key: 'out-0002.rdb' }))
    expect(head.ContentLength).toBe(5 * 1024 * 1024)
    const again = await ec
      .send(
        new CopySnapshotCommand({
          SourceSnapshotName: 's1',
          TargetSnapshotName: 'out',
          TargetBucket: 'exports',
        }),
      )
      .catch((e) => e)
    expect(again.message).toBe('The S3 bucket exports already contains an object with key out-0001.rdb.')
  })

  it('scaling goes modifying -> available with the new shape', async () => {
    await ec.send(
      new ModifyReplicationGroupShardConfigurationCommand({
        ReplicationGroupId: 'orders',
        NodeGroupCount: 3,
        ApplyImmediately: true,
      }),
    )
    expect(
      (await ec.send(new DescribeReplicationGroupsCommand({ ReplicationGroupId: 'orders' })))
        .ReplicationGroups![0].Status,
    ).toBe('modifying')
    await new Promise((r) => setTimeout(r, 80))
    const rg = (await ec.send(new DescribeReplicationGroupsCommand({ ReplicationGroupId: 'orders' })))
      .ReplicationGroups![0]
    expect(rg.Status).toBe('available')
    expect(rg.NodeGroups).toHaveLength(3)
    await ec.send(
      new IncreaseReplicaCountCommand({
        ReplicationGroupId: 'orders',
        NewReplicaCount: 2,
        ApplyImmediately: true,
      }),
    )
    fake.state.settle()
    const rg2 = (await ec.send(new DescribeReplicationGroupsCommand({ ReplicationGroupId: 'orders' })))
      .ReplicationGroups![0]
    expect(rg2.NodeGroups!.map((g) => g.NodeGroupMembers!.length)).toEqual([3, 3, 3])
  })

  it('MemoryDB (awsJson1_1): clusters with shard details, creation and update', async () => {
    const out = await mdb.send(
      new DescribeClustersCommand({ ClusterName: 'sessions', ShowShardDetails: true }),
    )
    const c = out.Clusters![0]
    expect(c).toMatchObject({ Name: 'sessions', TLSEnabled: true, NumberOfShards: 2 })
    expect(c.Shards!.map((s) => s.Nodes!.map((n) => n.Name))).toEqual([
      ['sessions-0001-001', 'sessions-0001-002'],
      ['sessions-0002-001', 'sessions-0002-002'],
    ])
    expect(c.Shards![0].Nodes![0].CreateTime).toBeInstanceOf(Date)
    const err = await mdb.send(new DescribeClustersCommand({ ClusterName: 'nope' })).catch((e) => e)
    expect(err).toBeInstanceOf(ClusterNotFoundFault)
    await mdb.send(
      new UpdateClusterCommand({ ClusterName: 'sessions', ShardConfiguration: { ShardCount: 3 } }),
    )
    expect(
      (await mdb.send(new DescribeClustersCommand({ ClusterName: 'sessions' }))).Clusters![0].Status,
    ).toBe('updating')
    fake.state.settle()
    const after = (
      await mdb.send(new DescribeClustersCommand({ ClusterName: 'sessions', ShowShardDetails: true }))
    ).Clusters![0]
    expect(after.Status).toBe('available')
    expect(after.Shards).toHaveLength(3)
    const bad = await mdb
      .send(
        new CreateClusterCommand({
          ClusterName: 'seeded',
          NodeType: 'db.r7g.large',
          ACLName: 'open-access',
          SnapshotArns: ['arn:aws:s3:::exports/missing.rdb'],
        }),
      )
      .catch((e) => e)
    expect(bad.message).toContain('No snapshot found in Amazon S3')
    const made = await mdb.send(
      new CreateClusterCommand({
        ClusterName: 'seeded',
        NodeType: 'db.r7g.large',
        ACLName: 'open-access',
        SnapshotArns: ['arn:aws:s3:::exports/out-0001.rdb'],
      }),
    )
    expect(made.Cluster!.Status).toBe('creating')
    fake.state.settle()
    expect((await mdb.send(new DescribeClustersCommand({ ClusterName: 'seeded' }))).Clusters![0].Status).toBe(
      'available',
    )
  })

  it('CloudWatch (awsJson1_0): datapoints only for the right namespace, name and full dimension set', async () => {
    const now = Date.now()
    const q = (id: string, ns: string, name: string, dims: Record<string, string>) => ({
      Id: id,
      MetricStat: {
        Metric: {
          Namespace: ns,
          MetricName: name,
          Dimensions: Object.entries(dims).map(([Name, Value]) => ({ Name, Value })),
        },
        Period: 60,
        Stat: 'Average',
      },
    })
    const out = await cw.send(
      new GetMetricDataCommand({
        StartTime: new Date(now - 600_000),
        EndTime: new Date(now),
        MetricDataQueries: [
          q('a', 'AWS/ElastiCache', 'IsMaster', { CacheClusterId: 'legacy-001', CacheNodeId: '0001' }),
          q('b', 'AWS/ElastiCache', 'IsMaster', { CacheClusterId: 'legacy-001' }),
          q('c', 'AWS/MemoryDB', 'IsMaster', { ClusterName: 'sessions', NodeName: 'sessions-0001-001' }),
          q('d', 'AWS/MemoryDB', 'IsPrimary', { ClusterName: 'sessions', NodeName: 'sessions-0001-001' }),
          q('e', 'AWS/ElastiCache', 'ReplicationLag', { CacheClusterId: 'legacy-001', CacheNodeId: '0001' }),
        ],
      }),
    )
    const by = Object.fromEntries(out.MetricDataResults!.map((r) => [r.Id, r.Values]))
    expect(by.a!.length).toBeGreaterThanOrEqual(9)
    expect(new Set(by.a)).toEqual(new Set([1]))
    expect(by.b).toEqual([])
    expect(by.c).toEqual([])
    expect(new Set(by.d)).toEqual(new Set([1]))
    expect(by.e).toEqual([])
    expect(out.MetricDataResults![0].Timestamps![0]).toBeInstanceOf(Date)
    const tooMany = Array.from({ length: 501 }, (_, i) =>
      q(`m${i}`, 'AWS/ElastiCache', 'CPUUtilization', { CacheClusterId: 'x', CacheNodeId: '0001' }),
    )
    const err = await cw
      .send(
        new GetMetricDataCommand({
          StartTime: new Date(now - 600_000),
          EndTime: new Date(now),
          MetricDataQueries: tooMany,
        }),
      )
      .catch((e) => e)
    expect(err.name).toBe('InvalidParameterValueException')
    expect(err.message).toBe('The collection MetricDataQueries must not have a size greater than 500.')
  })

  it('S3 (REST-XML, path style): location and ACL', async () => {
    fake.state.addBucket({ name: 'far', region: 'eu-west-1' })
    expect((await s3.send(new GetBucketLocationCommand({ Bucket: 'far' }))).LocationConstraint).toBe(
      'eu-west-1',
    )
    expect(
      (await s3.send(new GetBucketLocationCommand({ Bucket: 'exports' }))).LocationConstraint,
    ).toBeFalsy()
    const acl = await s3.send(new GetBucketAclCommand({ Bucket: 'exports' }))
    expect(acl.Grants!.map((g) => [g.Grantee?.ID?.slice(0, 6), g.Permission])).toEqual([
      ['79a59d', 'FULL_CONTROL'],
      ['540804', 'READ'],
      ['540804', 'WRITE'],
      ['540804', 'READ_ACP'],
    ])
    const missing = await s3.send(new GetBucketAclCommand({ Bucket: 'nope' })).catch((e) => e)
    expect(missing.name).toBe('NoSuchBucket')
  })

  it('injected throttling and denial are shaped as each service sends them', async () => {
    fake.throttle('elasticache', 'DescribeSnapshots')
    const t1 = await ec.send(new DescribeSnapshotsCommand({})).catch((e) => e)
    expect(t1.name).toBe('Throttling')
    fake.throttle('memorydb', 'DescribeClusters')
    const t2 = await mdb.send(new DescribeClustersCommand({})).catch((e) => e)
    expect(t2.name).toBe('ThrottlingException')
    fake.throttle('cloudwatch', 'GetMetricData')
    const t3 = await cw
      .send(
        new GetMetricDataCommand({
          StartTime: new Date(0),
          EndTime: new Date(),
          MetricDataQueries: [{ Id: 'a', Expression: '1' }],
        }),
      )
      .catch((e) => e)
    expect(t3.name).toBe('Throttling')
    fake.deny('elasticache', 'DescribeReplicationGroups', 1)
    const d = await ec.send(new DescribeReplicationGroupsCommand({})).catch((e) => e)
    expect(d.name).toBe('AccessDenied')
    expect(d.$metadata.httpStatusCode).toBe(403)
    const bad = new ElastiCacheClient({
      ...fake.clientConfig(),
      credentials: { accessKeyId: 'AKIAUNKNOWN', secretAccessKey: 'x' },
      maxAttempts: 1,
    })
    const e = await bad.send(new DescribeReplicationGroupsCommand({})).catch((x) => x)
    bad.destroy()
    expect(e.name).toBe('InvalidClientTokenId')
  })
})
