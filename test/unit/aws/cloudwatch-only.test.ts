import { describe, expect, it } from 'vitest'
import { fromMemoryDBCluster, fromReplicationGroup, fromServerlessCache } from '../../../src/aws/discovery.js'
import type { TopologyNode } from '../../../src/connect/topology.js'
import { ConnectError, KvtopError, UsageError } from '../../../src/errors.js'
import {
  CloudWatchOnlyMonitor,
  awsTopology,
  dataPlaneUnreachable,
  parseSlotText,
} from '../../../src/aws/cloudwatch-only.js'
import type { ExternalMetricsSource } from '../../../src/metrics/external.js'
import { dataPlaneLine, formatCloudWatchOnly } from '../../../src/metrics/format.js'

const memorydb = fromMemoryDBCluster(
  {
    Name: 'sessions',
    Engine: 'valkey',
    EngineVersion: '7.3',
    TLSEnabled: true,
    ClusterEndpoint: { Address: 'clustercfg.sessions.x.memorydb.eu-west-1.amazonaws.com', Port: 6379 },
    Shards: [0, 1].map((s) => ({
      Name: `000${s + 1}`,
      Slots: s === 0 ? '0-8191' : '8192-16383',
      Nodes: [1, 2].map((r) => ({
        Name: `sessions-000${s + 1}-00${r}`,
        Endpoint: {
          Address: `sessions-000${s + 1}-00${r}.sessions.x.memorydb.eu-west-1.amazonaws.com`,
          Port: 6379,
        },
      })),
    })),
  },
  'eu-west-1',
)

/** A CloudWatch source that answers per node id (what CloudWatchMonitorSource does once matched). */
class FakeSource implements ExternalMetricsSource {
  readonly name = 'cloudwatch'
  readonly intervalMs = 60_000
  polls = 0
  closed = false
  fail?: string
  constructor(public figures: Record<string, Record<string, number>>) {}
  async poll(nodes: TopologyNode[]) {
    this.polls++
    if (this.fail) throw new Error(this.fail)
    return new Map(nodes.filter((n) => this.figures[n.id]).map((n) => [n.id, { ...this.figures[n.id] }]))
  }
  close() {
    this.closed = true
  }
}

const unreachable = { reachable: false, reason: 'no answer from 10.0.1.5:6379 within 5s', code: 'timeout' }

describe('which connection failures mean "unreachable from here"', () => {
  it('timeout, refused, DNS and no route do; authentication, TLS and everything else do not', () => {
    const connect = (code: string, message: string) => new ConnectError(message, { code })
    expect(dataPlaneUnreachable(connect('timeout', 'no answer from a:1 within 5s'))).toEqual({
      reachable: false,
      reason: 'no answer from a:1 within 5s',
      code: 'timeout',
    })
    expect(dataPlaneUnreachable(connect('refused', 'x'))?.code).toBe('refused')
    expect(dataPlaneUnreachable(connect('dns', "cannot resolve host 'a'"))?.code).toBe('dns')
    expect(
      dataPlaneUnreachable(connect('connect', 'cannot connect to a:1: connect EHOSTUNREACH'))?.code,
    ).toBe('unreachable')
    for (const code of ['auth-failed', 'auth-required', 'tls', 'no-permission', 'closed'])
      expect(dataPlaneUnreachable(connect(code, 'x')), code).toBeUndefined()
    expect(dataPlaneUnreachable(new UsageError('timeout'))).toBeUndefined()
    expect(dataPlaneUnreachable(new KvtopError(4, 'x', { code: 'timeout' }))).toBeUndefined()
    expect(dataPlaneUnreachable(new Error('ETIMEDOUT'))).toBeUndefined()
  })
})

describe('the deployment as AWS describes it', () => {
  it('MemoryDB: AWS names and endpoints, shards with their slots, the first node of each shard a guessed primary', () => {
    const t = awsTopology(memorydb)
    expect(t.mode).toBe('cluster')
    expect(t.nodes.map((n) => [n.id, n.address, n.role, n.shard, n.slots])).toEqual([
      [
        'sessions-0001-001',
        'sessions-0001-001.sessions.x.memorydb.eu-west-1.amazonaws.com:6379',
        'primary',
        0,
        [[0, 8191]],
      ],
      [
        'sessions-0001-002',
        'sessions-0001-002.sessions.x.memorydb.eu-west-1.amazonaws.com:6379',
        'replica',
        0,
        [],
      ],
      [
        'sessions-0002-001',
        'sessions-0002-001.sessions.x.memorydb.eu-west-1.amazonaws.com:6379',
        'primary',
        1,
        [[8192, 16383]],
      ],
      [
        'sessions-0002-002',
        'sessions-0002-002.sessions.x.memorydb.eu-west-1.amazonaws.com:6379',
        'replica',
        1,
        [],
      ],
    ])
    expect(t.shards.map((s) => [s.index, s.primaryId, s.nodeIds.length])).toEqual([
      [0, 'sessions-0001-001', 2],
      [1, 'sessions-0002-001', 2],
    ])
  })

  it('ElastiCache without node endpoints (no DescribeCacheClusters permission): the node named by its id; roles AWS states are kept', () => {
    const rg = fromReplicationGroup(
      {
        ReplicationGroupId: 'orders',
        ClusterEnabled: false,
        NodeGroups: [
          {
            NodeGroupId: '0001',
            PrimaryEndpoint: { Address: 'master.orders.x.cache.amazonaws.com', Port: 6379 },
            NodeGroupMembers: [
              { CacheClusterId: 'orders-001', CurrentRole: 'replica' },
              { CacheClusterId: 'orders-002', CurrentRole: 'primary' },
            ],
          },
        ],
      },
      'us-east-1',
    )
    const t = awsTopology(rg)
    expect(t.mode).toBe('replicated')
    expect(t.nodes.map((n) => [n.id, n.address, n.role, n.primaryId])).toEqual([
      ['orders-001', 'orders-001', 'replica', 'orders-002'],
      ['orders-002', 'orders-002', 'primary', undefined],
    ])
  })

  it('a serverless cache is one node: the cache', () => {
    const t = awsTopology(
      fromServerlessCache(
        {
          ServerlessCacheName: 'carts',
          Endpoint: { Address: 'carts-x.serverless.use1.cache.amazonaws.com', Port: 6379 },
        },
        'us-east-1',
      ),
    )
    expect(t.nodes.map((n) => [n.id, n.address, n.role])).toEqual([
      ['carts', 'carts-x.serverless.use1.cache.amazonaws.com:6379', 'primary'],
    ])
  })

  it('slot text', () => {
    expect(parseSlotText('0-5460,10923-16383')).toEqual([
      [0, 5460],
      [10923, 16383],
    ])
    expect(parseSlotText('42')).toEqual([[42, 42]])
    expect(parseSlotText(undefined)).toEqual([])
  })
})

describe('CloudWatchOnlyMonitor', () => {
  it('a snapshot of CloudWatch figures: nodes unreachable, roles from IsPrimary, dataPlane saying why', async () => {
    const source = new FakeSource({
      // A failover: the second node of shard 0 is the primary now.
      'sessions-0001-001': { cpu: 10, isPrimary: 0, replicationLag: 0.5 },
      'sessions-0001-002': { cpu: 20, engineCpu: 91, isPrimary: 1, bytesUsed: 3 * 1024 * 1024 },
      'sessions-0002-001': { cpu: 30, isPrimary: 1 },
    })
    const m = new CloudWatchOnlyMonitor(memorydb, source, unreachable, { intervalMs: 1000 })
    const s = await m.poll()
    expect(s.dataPlane).toEqual(unreachable)
    expect(s.deployment).toEqual({
      mode: 'cluster',
      provider: 'memorydb',
      engine: 'valkey',
      version: '7.3',
      shards: 2,
      nodes: 4,
    })
    expect(s.external).toMatchObject({ source: 'cloudwatch', at: expect.any(Number) })
    expect(s.nodes.map((n) => [n.id, n.role, n.state, n.up, n.primaryId, n.external?.cpu])).toEqual([
      ['sessions-0001-001', 'replica', 'unreachable', false, 'sessions-0001-002', 10],
      ['sessions-0001-002', 'primary', 'unreachable', false, undefined, 20],
      ['sessions-0002-001', 'primary', 'unreachable', false, undefined, 30],
      // No figures: the guess stands.
      ['sessions-0002-002', 'replica', 'unreachable', false, 'sessions-0002-001', undefined],
    ])
    expect(s.nodes[1].slots).toEqual([[0, 8191]])
    expect(s.nodes[0].slots).toEqual([])
    expect(s.shards[0].primaryId).toBe('sessions-0001-002')
    expect(s.nodes.every((n) => n.error === unreachable.reason)).toBe(true)

    const text = formatCloudWatchOnly(s)
    const lines = text.split('\n')
    expect(lines[0]).toBe(
      'nodes unreachable from here (no answer from 10.0.1.5:6379 within 5s): showing CloudWatch only; run kvtop from inside the VPC (bastion, SSM port forwarding) for live figures',
    )
    expect(lines[0]).toBe(dataPlaneLine(unreachable))
    expect(lines[1]).toMatch(
      /^memorydb \| valkey 7\.3 \| cluster \| 2 shards \| 4 nodes \(as AWS describes them\) \| cloudwatch as of /,
    )
    expect(text).toMatch(/sessions-0001-002 +\S+ +primary +0 +20% +91% +- +3\.0M/)
    expect(text).toMatch(/sessions-0001-001 +\S+ +replica +0 +10% .* 0\.5s$/m)
    expect(formatCloudWatchOnly(s, { notice: false })).not.toContain('unreachable')
  })

  it('a failed read keeps the last figures with the error, once as an event; start() begins with the opening read', async () => {
    const source = new FakeSource({ 'sessions-0001-001': { cpu: 10 } })
    const m = new CloudWatchOnlyMonitor(memorydb, source, unreachable, { intervalMs: 30 })
    const opened = await m.poll()
    expect(source.polls).toBe(1)
    source.fail = 'Rate exceeded'
    const seen: number[] = []
    const errors: string[] = []
    await new Promise<void>((resolve) => {
      m.start((snap) => {
        seen.push(snap.round)
        errors.push(...snap.events.map((e) => e.message))
        if (seen.length === 1) expect(snap).toBe(opened)
        else {
          expect(snap.external?.error).toBe('Rate exceeded')
          expect(snap.nodes[0].external).toEqual({ cpu: 10 })
        }
        if (seen.length === 3) resolve()
      })
    })
    await m.stop()
    expect(seen).toEqual([1, 2, 3])
    expect(errors).toEqual(['cloudwatch: Rate exceeded'])
    expect(source.closed).toBe(true)
  })
})
