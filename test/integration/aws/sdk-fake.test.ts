import { ModifyReplicationGroupShardConfigurationCommand } from '@aws-sdk/client-elasticache'
import { UpdateClusterCommand } from '@aws-sdk/client-memorydb'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { AwsClients } from '../../../src/aws/clients.js'
import { CloudWatchSource } from '../../../src/aws/cloudwatch.js'
import { CloudWatchMonitorSource } from '../../../src/aws/cloudwatch-monitor.js'
import { deploymentStatus, discoverDeployment } from '../../../src/aws/discovery.js'
import { checkExportBucket } from '../../../src/aws/export-check.js'
import type { RetryNotice } from '../../../src/aws/retry.js'
import { listSnapshots } from '../../../src/aws/snapshots.js'
import { waitFor, type StatusChangeEvent } from '../../../src/aws/waiter.js'
import type { TopologyNode } from '../../../src/connect/topology.js'
import { metricValue } from '../../helpers/fake-aws/state.js'
import { startFakeAws, type FakeAws } from '../../helpers/fake-aws/index.js'

/**
 * src/aws in-process against the fake endpoint, through the real SDK clients (endpoint override
 * and static credentials from the environment, as the CLI runs): CloudWatch batching and values,
 * throttling retried, scaling waits, bucket checks, not-found and credential errors.
 */
let fake: FakeAws
const notices: RetryNotice[] = []
const newClients = () => new AwsClients({ onRetry: (n) => notices.push(n), retry: { baseDelayMs: 5 } })
let clients: AwsClients

beforeAll(async () => {
  fake = await startFakeAws({ delays: { snapshot: 50, export: 50, modify: 80, create: 50 } })
  for (const [k, v] of Object.entries(fake.env())) vi.stubEnv(k, v ?? '')
  clients = newClients()
  // 15 shards x 2 nodes = 30 ElastiCache nodes: 600 queries for 20 metrics.
  fake.state.addReplicationGroup({ id: 'big', shards: 15, replicas: 1, clusterMode: true })
  fake.state.addMemoryDBCluster({ name: 'sessions', shards: 1, replicas: 1 })
  fake.state.addBucket({ name: 'far', region: 'eu-west-1' })
  fake.state.addBucket({
    name: 'exports',
    grantCanonicalId: '540804c33a284a299d2547575ce1010f2312ef3da9b3a053c8bc45bf233e4353',
  })
  fake.state.buckets.get('exports')!.objects.set('taken-0002.rdb', { size: 1, lastModified: new Date() })
})
afterAll(async () => {
  clients?.destroy()
  vi.unstubAllEnvs()
  await fake?.close()
})
afterEach(() => {
  notices.length = 0
})

describe('CloudWatch through the SDK', () => {
  it('polls 30 ElastiCache nodes in two GetMetricData calls (500 + 100) and maps every value back', async () => {
    const d = await discoverDeployment(clients, { kind: 'elasticache', name: 'big' })
    expect(d.cloudwatch.nodes).toHaveLength(30)
    fake.metricCalls.length = 0
    // A fixed clock for the source: the window (and so the expected datapoint) cannot move under the test.
    const now = Date.now()
    const source = new CloudWatchSource({ clients, now: () => now })
    const samples = await source.poll(d.cloudwatch.nodes)
    expect(fake.metricCalls.map((c) => c.queries.length)).toEqual([500, 100])
    // The fake serves data only for the exact namespace, metric names and dimension set: every
    // value arriving proves the queries were right.
    const periodStart = Math.floor(now / 60_000) * 60_000 - 60_000
    for (const node of d.cloudwatch.nodes) {
      const role = node.id.endsWith('-001') ? 'primary' : 'replica'
      const s = samples.get(node.id)!
      expect(s.isPrimary).toBe(role === 'primary' ? 1 : 0)
      expect(s.cpu).toBe(metricValue('CPUUtilization', { id: node.id, role }, periodStart))
      expect(s.hits).toBe(metricValue('CacheHits', { id: node.id, role }, periodStart))
      expect(s.bytesUsed).toBe(metricValue('BytesUsedForCache', { id: node.id, role }, periodStart))
      if (role === 'primary') expect(s).not.toHaveProperty('replicationLag')
      else expect(s.replicationLag).toBe(metricValue('ReplicationLag', { id: node.id, role }, periodStart))
      expect(Object.keys(s)).toHaveLength(role === 'primary' ? 19 : 20)
    }
    // Within the same 60 s period the next poll is served from the cache.
    await source.poll(d.cloudwatch.nodes)
    expect(fake.metricCalls).toHaveLength(2)
    expect(source.stats).toMatchObject({ calls: 2, queries: 600, cacheHits: 1 })
  })

  it('MemoryDB nodes get the MemoryDB names (IsPrimary, KeyspaceHits, BytesUsedForMemoryDB)', async () => {
    const d = await discoverDeployment(clients, { kind: 'memorydb', name: 'sessions' })
    const samples = await new CloudWatchSource({
      clients,
      metrics: ['isPrimary', 'hits', 'bytesUsed', 'replicationLag'],
    }).poll(d.cloudwatch.nodes)
    expect(samples.get('sessions-0001-001')).toMatchObject({
      isPrimary: 1,
      hits: expect.any(Number),
      bytesUsed: expect.any(Number),
    })
    expect(samples.get('sessions-0001-001')).not.toHaveProperty('replicationLag')
    expect(samples.get('sessions-0001-002')).toMatchObject({
      isPrimary: 0,
      replicationLag: expect.any(Number),
    })
    const names = fake.metricCalls
      .at(-1)!
      .queries.map((q) => `${q.MetricStat!.Metric!.Namespace}:${q.MetricStat!.Metric!.MetricName}`)
    expect(new Set(names)).toEqual(
      new Set([
        'AWS/MemoryDB:IsPrimary',
        'AWS/MemoryDB:KeyspaceHits',
        'AWS/MemoryDB:BytesUsedForMemoryDB',
        'AWS/MemoryDB:ReplicationLag',
      ]),
    )
  })

  it('retries injected throttling with back-off and reports each retry', async () => {
    fake.throttle('cloudwatch', 'GetMetricData', 2)
    const d = await discoverDeployment(clients, { kind: 'memorydb', name: 'sessions' })
    const samples = await new CloudWatchSource({ clients, metrics: ['cpu'] }).poll(d.cloudwatch.nodes)
    expect(samples.get('sessions-0001-001')!.cpu).toEqual(expect.any(Number))
    expect(notices.map((n) => [n.service, n.errorName, n.throttling, n.attempt])).toEqual([
      ['CloudWatch', 'Throttling', true, 2],
      ['CloudWatch', 'Throttling', true, 3],
    ])
    expect(
      fake
        .calls('cloudwatch', 'GetMetricData')
        .slice(-3)
        .map((c) => c.status),
    ).toEqual([400, 400, 200])
  })

  it('history follows NextToken pages and returns the series oldest first', async () => {
    const paging = await startFakeAws({ maxDatapointsPerPage: 25 })
    try {
      paging.state.addMemoryDBCluster({ name: 'sessions', shards: 1, replicas: 1 })
      vi.stubEnv('AWS_ENDPOINT_URL_CLOUDWATCH', paging.url)
      const c = newClients()
      const nodes = [
        {
          id: 'sessions-0001-001',
          service: 'memorydb' as const,
          dimensions: { ClusterName: 'sessions', NodeName: 'sessions-0001-001' },
        },
      ]
      const hist = await new CloudWatchSource({ clients: c, metrics: ['cpu', 'hits'] }).fetchHistory(nodes, 1)
      c.destroy()
      expect(paging.metricCalls.length).toBeGreaterThanOrEqual(3)
      const cpu = hist.get('sessions-0001-001')!.cpu!
      expect(cpu).toHaveLength(60)
      expect(cpu.map((p) => p.at)).toEqual([...cpu.map((p) => p.at)].sort((a, b) => a - b))
      expect(hist.get('sessions-0001-001')!.hits).toHaveLength(60)
    } finally {
      vi.stubEnv('AWS_ENDPOINT_URL_CLOUDWATCH', fake.url)
      await paging.close()
    }
  })

  it('the monitor source keys figures by topology node id, matched by node endpoint', async () => {
    const d = await discoverDeployment(clients, { kind: 'memorydb', name: 'sessions' })
    const node = (id: string, host: string): TopologyNode => ({
      id,
      host,
      port: 6379,
      address: `${host}:6379`,
      role: 'primary',
      shard: 0,
      slots: [],
      up: true,
      health: 'online',
    })
    const source = new CloudWatchMonitorSource(d, {
      clients,
      metrics: ['isPrimary'],
      resolve: async () => [],
    })
    const out = await source.poll([
      node('abc123', 'sessions-0001-001.sessions.xyz789.memorydb.us-east-1.amazonaws.com'),
      node('def456', 'sessions-0001-002.sessions.xyz789.memorydb.us-east-1.amazonaws.com'),
    ])
    expect(Object.fromEntries(out)).toEqual({ abc123: { isPrimary: 1 }, def456: { isPrimary: 0 } })
    expect(source.name).toBe('cloudwatch')
  })
})

describe('waiting on scaling through the SDK', () => {
  it('ElastiCache resharding and MemoryDB updates: modifying/updating -> available, reported as phases', async () => {
    const { client, sdk } = await clients.elasticache()
    expect(sdk.ModifyReplicationGroupShardConfigurationCommand).toBe(
      ModifyReplicationGroupShardConfigurationCommand,
    )
    await client.send(
      new ModifyReplicationGroupShardConfigurationCommand({
        ReplicationGroupId: 'big',
        NodeGroupCount: 16,
        ApplyImmediately: true,
      }),
    )
    const mdb = (await clients.memorydb()).client
    await mdb.send(
      new UpdateClusterCommand({ ClusterName: 'sessions', ReplicaConfiguration: { ReplicaCount: 2 } }),
    )
    const phases: StatusChangeEvent[] = []
    const opts = { intervalMs: 20, timeoutMs: 10_000, onPhase: (e: StatusChangeEvent) => phases.push(e) }
    const [ec, md] = await Promise.all([
      waitFor(
        {
          resource: 'replication group big',
          describe: () => deploymentStatus(clients, { kind: 'elasticache', name: 'big' }),
          status: (s) => s,
          done: (s) => s === 'available',
        },
        opts,
      ),
      waitFor(
        {
          resource: 'cluster sessions',
          describe: () => deploymentStatus(clients, { kind: 'memorydb', name: 'sessions' }),
          status: (s) => s,
          done: (s) => s === 'available',
        },
        opts,
      ),
    ])
    expect(ec.status).toBe('available')
    expect(md.status).toBe('available')
    expect(phases.filter((p) => p.resource === 'replication group big').map((p) => p.status)).toEqual([
      'modifying',
      'available',
    ])
    expect(phases.filter((p) => p.resource === 'cluster sessions').map((p) => p.status)).toEqual([
      'updating',
      'available',
    ])
    expect((await discoverDeployment(clients, { kind: 'elasticache', name: 'big' })).shards).toHaveLength(16)
    expect(
      (await discoverDeployment(clients, { kind: 'memorydb', name: 'sessions' })).shards[0].nodes,
    ).toHaveLength(3)
  })
})

describe('errors through the SDK', () => {
  it('bucket in another Region, keys already there', async () => {
    const far = await checkExportBucket(clients, {
      service: 'elasticache',
      region: 'us-east-1',
      bucket: 'far',
      keys: ['x-0001.rdb'],
    }).catch((e) => e)
    expect(far.message).toBe("S3 bucket 'far' is in eu-west-1, the snapshot in us-east-1")
    const taken = await checkExportBucket(clients, {
      service: 'elasticache',
      region: 'us-east-1',
      bucket: 'exports',
      keys: ['taken-0001.rdb', 'taken-0002.rdb'],
    }).catch((e) => e)
    expect(taken.code).toBe('aws-key-exists')
    expect(taken.message).toBe("S3 bucket 'exports' already holds taken-0002.rdb")
    const ok = await checkExportBucket(clients, {
      service: 'elasticache',
      region: 'us-east-1',
      bucket: 'exports',
      keys: ['new-0001.rdb'],
    })
    expect(ok.permission).toBe('verified')
  })

  it('not found and rejected credentials are exit-4 errors with their own messages', async () => {
    const nf = await discoverDeployment(clients, { kind: 'memorydb', name: 'ghost' }).catch((e) => e)
    expect(nf).toMatchObject({
      exitCode: 4,
      code: 'aws-not-found',
      message: "MemoryDB cluster 'ghost' not found in us-east-1: Cluster ghost not found",
    })
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIAUNKNOWNKEY000000')
    const c = newClients()
    try {
      const bad = await listSnapshots(c, { service: 'memorydb' }).catch((e) => e)
      expect(bad).toMatchObject({ exitCode: 4, code: 'aws-credentials' })
      expect(bad.message).toBe(
        'AWS rejected the credentials for MemoryDB DescribeSnapshots: The security token included in the request is invalid.',
      )
    } finally {
      c.destroy()
      vi.stubEnv('AWS_ACCESS_KEY_ID', fake.accessKeyId)
    }
  })
})
