import {
  CloudWatchClient,
  GetMetricDataCommand,
  type GetMetricDataCommandInput,
  type MetricDataQuery,
} from '@aws-sdk/client-cloudwatch'
import { mockClient } from 'aws-sdk-client-mock'
import { afterAll, beforeEach, describe, expect, it } from 'vitest'
import { AwsClients } from '../../../src/aws/clients.js'
import { ALL_METRICS, CloudWatchSource, METRICS, buildQueries } from '../../../src/aws/cloudwatch.js'
import type { CloudWatchNode } from '../../../src/aws/types.js'

const cw = mockClient(CloudWatchClient)
const clients = new AwsClients({ region: 'us-east-1' })
afterAll(() => {
  cw.restore()
  clients.destroy()
})

const ecNode = (id: string): CloudWatchNode => ({
  id,
  service: 'elasticache',
  dimensions: { CacheClusterId: id, CacheNodeId: '0001' },
})
const mdbNode = (cluster: string, id: string): CloudWatchNode => ({
  id,
  service: 'memorydb',
  dimensions: { ClusterName: cluster, NodeName: id },
})

/** Answer every query with one datapoint whose value encodes the query's metric and node. */
function answerAll(
  value: (q: MetricDataQuery) => number | undefined = () => 1,
  at = new Date('2024-03-01T12:00:00Z'),
) {
  cw.on(GetMetricDataCommand).callsFake((input: GetMetricDataCommandInput) => ({
    MetricDataResults: input.MetricDataQueries!.map((q) => {
      const v = value(q)
      return {
        Id: q.Id,
        Timestamps: v === undefined ? [] : [at],
        Values: v === undefined ? [] : [v],
        StatusCode: 'Complete',
      }
    }),
  }))
}

beforeEach(() => cw.reset())

describe('CloudWatch queries', () => {
  it('ElastiCache nodes: AWS/ElastiCache, CacheClusterId + CacheNodeId, the ElastiCache metric names', () => {
    const { queries, index } = buildQueries([ecNode('orders-0001-001')], ALL_METRICS, 60)
    const names = queries.map((q) => q.MetricStat!.Metric!.MetricName)
    expect(new Set(queries.map((q) => q.MetricStat!.Metric!.Namespace))).toEqual(new Set(['AWS/ElastiCache']))
    for (const q of queries) {
      expect(q.MetricStat!.Metric!.Dimensions).toEqual([
        { Name: 'CacheClusterId', Value: 'orders-0001-001' },
        { Name: 'CacheNodeId', Value: '0001' },
      ])
      expect(q.MetricStat!.Period).toBe(60)
    }
    expect(names).toEqual(
      expect.arrayContaining([
        'IsMaster',
        'CacheHits',
        'CacheMisses',
        'BytesUsedForCache',
        'ReplicationLag',
        'EngineCPUUtilization',
      ]),
    )
    expect(names).not.toEqual(expect.arrayContaining(['IsPrimary']))
    expect(names).not.toContain('KeyspaceHits')
    expect(names).not.toContain('BytesUsedForMemoryDB')
    expect(index.get(queries[names.indexOf('IsMaster')].Id!)).toEqual({
      nodeId: 'orders-0001-001',
      metric: 'isPrimary',
    })
    // Ids must match ^[a-z][a-zA-Z0-9_]*$ and be unique.
    expect(new Set(queries.map((q) => q.Id)).size).toBe(queries.length)
    for (const q of queries) expect(q.Id).toMatch(/^[a-z][a-zA-Z0-9_]*$/)
  })

  it('MemoryDB nodes: AWS/MemoryDB, ClusterName + NodeName, IsPrimary / KeyspaceHits / BytesUsedForMemoryDB', () => {
    const { queries } = buildQueries([mdbNode('sessions', 'sessions-0001-002')], ALL_METRICS, 60)
    const names = queries.map((q) => q.MetricStat!.Metric!.MetricName)
    expect(new Set(queries.map((q) => q.MetricStat!.Metric!.Namespace))).toEqual(new Set(['AWS/MemoryDB']))
    for (const q of queries) {
      expect(q.MetricStat!.Metric!.Dimensions).toEqual([
        { Name: 'ClusterName', Value: 'sessions' },
        { Name: 'NodeName', Value: 'sessions-0001-002' },
      ])
    }
    expect(names).toEqual(
      expect.arrayContaining([
        'IsPrimary',
        'KeyspaceHits',
        'KeyspaceMisses',
        'BytesUsedForMemoryDB',
        'ReplicationLag',
      ]),
    )
    expect(names).not.toContain('IsMaster')
    expect(names).not.toContain('CacheHits')
    expect(names).not.toContain('BytesUsedForCache')
  })

  it('statistics: counters summed, gauges averaged, role and lag as maxima', () => {
    const stat = (metric: keyof typeof METRICS) => METRICS[metric].elasticache?.stat
    expect(stat('hits')).toBe('Sum')
    expect(stat('evictions')).toBe('Sum')
    expect(stat('cpu')).toBe('Average')
    expect(stat('bytesUsed')).toBe('Average')
    expect(stat('isPrimary')).toBe('Maximum')
    expect(stat('replicationLag')).toBe('Maximum')
  })

  it('serverless caches: AWS/ElastiCache with clusterId, only the serverless metrics', () => {
    const { queries } = buildQueries(
      [{ id: 'sless', service: 'serverless', dimensions: { clusterId: 'sless' } }],
      ALL_METRICS,
      60,
    )
    const names = queries.map((q) => q.MetricStat!.Metric!.MetricName)
    expect(names).toEqual(
      expect.arrayContaining(['BytesUsedForCache', 'ElastiCacheProcessingUnits', 'CacheHits']),
    )
    expect(names).not.toContain('CPUUtilization')
    expect(names).not.toContain('IsMaster')
    expect(queries[0].MetricStat!.Metric!.Dimensions).toEqual([{ Name: 'clusterId', Value: 'sless' }])
  })
})

describe('CloudWatchSource.poll', () => {
  it('batches at 500 queries per GetMetricData call', async () => {
    answerAll()
    // 26 nodes x 20 ElastiCache metrics = 520 queries: 500 + 20.
    const nodes = Array.from({ length: 26 }, (_, i) => ecNode(`n${i}`))
    const perNode = buildQueries([nodes[0]], ALL_METRICS, 60).queries.length
    expect(perNode).toBe(20)
    const source = new CloudWatchSource({ clients, now: () => Date.parse('2024-03-01T12:05:30Z') })
    const result = await source.poll(nodes)
    const calls = cw.commandCalls(GetMetricDataCommand)
    expect(calls.map((c) => c.args[0].input.MetricDataQueries!.length)).toEqual([500, 20])
    const ids = calls.flatMap((c) => c.args[0].input.MetricDataQueries!.map((q) => q.Id))
    expect(new Set(ids).size).toBe(520)
    expect(result.size).toBe(26)
    expect(result.get('n25')!.cpu).toBe(1)
    expect(source.stats).toMatchObject({ calls: 2, queries: 520 })
  })

  it('exactly 500 queries make one call; 501 make two', async () => {
    answerAll()
    const source = new CloudWatchSource({ clients, metrics: ['cpu'] })
    await source.poll(Array.from({ length: 500 }, (_, i) => ecNode(`n${i}`)))
    expect(
      cw.commandCalls(GetMetricDataCommand).map((c) => c.args[0].input.MetricDataQueries!.length),
    ).toEqual([500])
    cw.resetHistory()
    await new CloudWatchSource({ clients, metrics: ['cpu'] }).poll(
      Array.from({ length: 501 }, (_, i) => ecNode(`n${i}`)),
    )
    expect(
      cw.commandCalls(GetMetricDataCommand).map((c) => c.args[0].input.MetricDataQueries!.length),
    ).toEqual([500, 1])
  })

  it('maps values back to node and metric; a metric without datapoints is absent, not 0', async () => {
    answerAll((q) => {
      const name = q.MetricStat!.Metric!.MetricName!
      const node = q.MetricStat!.Metric!.Dimensions!.find(
        (d) => d.Name === 'CacheClusterId' || d.Name === 'NodeName',
      )!.Value!
      if (name === 'ReplicationLag') return node.endsWith('-001') ? undefined : 0.5
      if (name === 'IsMaster' || name === 'IsPrimary') return node.endsWith('-001') ? 1 : 0
      if (name === 'CacheHits' || name === 'KeyspaceHits') return 1000
      return 7
    })
    const source = new CloudWatchSource({ clients })
    const r = await source.poll([
      ecNode('orders-0001-001'),
      ecNode('orders-0001-002'),
      mdbNode('sessions', 'sessions-0001-001'),
    ])
    expect(r.get('orders-0001-001')).toMatchObject({ isPrimary: 1, hits: 1000, cpu: 7 })
    expect(r.get('orders-0001-001')).not.toHaveProperty('replicationLag')
    expect(r.get('orders-0001-002')).toMatchObject({ isPrimary: 0, replicationLag: 0.5 })
    expect(r.get('sessions-0001-001')).toMatchObject({ isPrimary: 1, hits: 1000 })
    expect(r.get('sessions-0001-001')).not.toHaveProperty('replicationLag')
  })

  it('takes the latest datapoint (TimestampDescending) from a window ending on the period boundary', async () => {
    cw.on(GetMetricDataCommand).callsFake((input: GetMetricDataCommandInput) => ({
      MetricDataResults: input.MetricDataQueries!.map((q) => ({
        Id: q.Id,
        Timestamps: [new Date('2024-03-01T12:04:00Z'), new Date('2024-03-01T12:03:00Z')],
        Values: [42, 41],
      })),
    }))
    const source = new CloudWatchSource({
      clients,
      metrics: ['cpu'],
      now: () => Date.parse('2024-03-01T12:05:30Z'),
    })
    const r = await source.poll([ecNode('a')])
    expect(r.get('a')).toEqual({ cpu: 42 })
    const input = cw.commandCalls(GetMetricDataCommand)[0].args[0].input
    expect(input.ScanBy).toBe('TimestampDescending')
    expect(input.EndTime).toEqual(new Date('2024-03-01T12:05:00Z'))
    expect(input.StartTime).toEqual(new Date('2024-03-01T11:55:00Z'))
  })

  it('caches per 60 s period: polls within a period make no call, the next period does', async () => {
    answerAll()
    let now = Date.parse('2024-03-01T12:05:01Z')
    const source = new CloudWatchSource({ clients, metrics: ['cpu', 'hits'], now: () => now })
    const nodes = [ecNode('a'), ecNode('b')]
    const first = await source.poll(nodes)
    now = Date.parse('2024-03-01T12:05:59Z')
    const second = await source.poll(nodes)
    expect(cw.commandCalls(GetMetricDataCommand)).toHaveLength(1)
    expect(second).toEqual(first)
    expect(source.stats.cacheHits).toBe(1)
    // A caller mutating a result does not corrupt the cache.
    second.get('a')!.cpu = 99
    expect((await source.poll(nodes)).get('a')!.cpu).toBe(1)
    now = Date.parse('2024-03-01T12:06:00Z')
    await source.poll(nodes)
    expect(cw.commandCalls(GetMetricDataCommand)).toHaveLength(2)
    // Another node set is another query, even within the period.
    await source.poll([ecNode('a')])
    expect(cw.commandCalls(GetMetricDataCommand)).toHaveLength(3)
  })

  it('follows NextToken and merges the pages per query', async () => {
    let page = 0
    cw.on(GetMetricDataCommand).callsFake((input: GetMetricDataCommandInput) => {
      page++
      const ids = input.MetricDataQueries!.map((q) => q.Id!)
      if (!input.NextToken)
        return {
          MetricDataResults: ids.map((Id) => ({
            Id,
            Timestamps: [new Date('2024-03-01T12:04:00Z')],
            Values: [1],
          })),
          NextToken: 't1',
        }
      return {
        MetricDataResults: ids.map((Id) => ({
          Id,
          Timestamps: [new Date('2024-03-01T12:03:00Z')],
          Values: [2],
        })),
      }
    })
    const source = new CloudWatchSource({ clients, metrics: ['cpu'] })
    const hist = await source.fetchHistory([ecNode('a')], 1)
    expect(page).toBe(2)
    expect(cw.commandCalls(GetMetricDataCommand)[1].args[0].input.NextToken).toBe('t1')
    expect(hist.get('a')!.cpu).toEqual([
      { at: Date.parse('2024-03-01T12:03:00Z'), value: 2 },
      { at: Date.parse('2024-03-01T12:04:00Z'), value: 1 },
    ])
  })

  it('fetchHistory widens the period for long spans (<= ~360 points per series)', async () => {
    answerAll()
    const now = Date.parse('2024-03-01T12:00:00Z')
    await new CloudWatchSource({ clients, metrics: ['cpu'], now: () => now }).fetchHistory([ecNode('a')], 6)
    await new CloudWatchSource({ clients, metrics: ['cpu'], now: () => now }).fetchHistory([ecNode('a')], 24)
    const [six, day] = cw.commandCalls(GetMetricDataCommand).map((c) => c.args[0].input)
    expect(six.MetricDataQueries![0].MetricStat!.Period).toBe(60)
    expect(six.ScanBy).toBe('TimestampAscending')
    expect(day.MetricDataQueries![0].MetricStat!.Period).toBe(240)
    expect((day.EndTime!.getTime() - day.StartTime!.getTime()) / 3600_000).toBe(24)
  })

  it('AWS errors surface as exit-4 errors naming CloudWatch', async () => {
    cw.on(GetMetricDataCommand).rejects(
      Object.assign(new Error('User is not authorized to perform: cloudwatch:GetMetricData'), {
        name: 'AccessDenied',
        $metadata: { httpStatusCode: 403 },
      }),
    )
    const err = await new CloudWatchSource({ clients, metrics: ['cpu'] }).poll([ecNode('a')]).catch((e) => e)
    expect(err.exitCode).toBe(4)
    expect(err.message).toMatch(/access denied: CloudWatch GetMetricData.*not authorized/)
    expect(err.hint).toContain('cloudwatch:GetMetricData')
  })
})
