import { describe, expect, it } from 'vitest'
import type { Topology, TopologyNode } from '../../../src/connect/topology.js'
import type { Sample } from '../../../src/metrics/history.js'
import type { NodeReading } from '../../../src/metrics/node-poller.js'
import { parseNodeInfo, type NodeInfo } from '../../../src/metrics/node-info.js'
import { nodeRates } from '../../../src/metrics/rates.js'
import { buildSnapshot, type SnapshotInput } from '../../../src/metrics/snapshot-builder.js'
import { fixture } from './fixtures.js'

const AT = 1_700_000_000_000

function node(id: string, port: number, role: 'primary' | 'replica', extra: Partial<TopologyNode> = {}) {
  return {
    id,
    host: '127.0.0.1',
    port,
    address: `127.0.0.1:${port}`,
    role,
    shard: 0,
    slots: role === 'primary' ? [[0, 16383]] : [],
    up: true,
    health: 'online',
    ...(role === 'replica' ? { primaryId: 'p' } : {}),
    ...extra,
  } as TopologyNode
}

/** The captured 7.0 pair: one shard, its primary on 26728 and the replica on 26729. */
function clusterPair(): Topology {
  return {
    mode: 'cluster',
    nodes: [node('p', 26728, 'primary'), node('r', 26729, 'replica')],
    shards: [{ index: 0, primaryId: 'p', slots: [[0, 16383]], nodeIds: ['p', 'r'] }],
    clusterState: 'ok',
  }
}

function reading(n: TopologyNode, info: NodeInfo | undefined, extra: Partial<NodeReading> = {}): NodeReading {
  return { node: n, state: 'ok', info, infoAt: AT - 10, lastSeenAt: AT - 10, pollMs: 3, ...extra }
}

function input(
  topology: Topology,
  readings: NodeReading[],
  extra: Partial<SnapshotInput> = {},
): SnapshotInput {
  return {
    at: AT,
    round: 7,
    intervalMs: 1000,
    roundMs: 12,
    topology,
    readings: new Map(readings.map((r) => [r.node.id, r])),
    primaryOffsets: (): Sample[] => [],
    events: [],
    slowlog: [],
    ...extra,
  }
}

const info = (name: string) => parseNodeInfo(fixture(`info/${name}.txt`), '127.0.0.1')

describe('buildSnapshot on captured INFO', () => {
  it('a redis 7.0 cluster shard: node figures, the replica in sync, primaries-only totals', () => {
    const topo = clusterPair()
    const [p, r] = topo.nodes
    const built = buildSnapshot(
      input(topo, [
        reading(p, info('redis-7.0-cluster-primary')),
        reading(r, info('redis-7.0-cluster-replica')),
      ]),
    )
    const { snapshot } = built
    expect(snapshot.round).toBe(7)
    expect(snapshot.roundMs).toBe(12)
    expect(snapshot.deployment).toEqual({
      mode: 'cluster',
      provider: 'self-managed',
      engine: 'redis',
      version: '7.0.15',
      shards: 1,
      nodes: 2,
      slotsCovered: 16384,
      clusterState: 'ok',
    })
    const [ps, rs] = snapshot.nodes
    expect(ps).toMatchObject({
      id: 'p',
      up: true,
      state: 'ok',
      engine: 'redis',
      version: '7.0.15',
      uptimeSeconds: 19,
      keys: 979,
      expires: 26,
      replicationOffset: 217438,
      memory: { used: 3346976, rss: 9150464, peak: 3367488, maxmemory: 0, policy: 'noeviction' },
      clients: { connected: 1, blocked: 0 },
      topCommands: [],
      pollMs: 3,
    })
    // maxmemory 0 means no limit: no used fraction; no previous sample: no rates.
    expect(ps.memory.usedFraction).toBeUndefined()
    expect(ps.opsPerSec).toBeUndefined()
    expect(rs.replicationOffset).toBeUndefined()
    expect(rs.replication).toMatchObject({ primaryId: 'p', offset: 217438, lagBytes: 0, link: 'up' })
    expect(snapshot.cluster).toMatchObject({
      keys: 979,
      memoryUsed: 3346976,
      connectedClients: 3,
      nodesUp: 2,
      nodes: 2,
    })
    expect(snapshot.cluster.hitRatio).toBeUndefined()
    expect(snapshot.shards[0]).toMatchObject({ index: 0, keys: 979, maxLagBytes: 0, nodesUp: 2 })
    expect(snapshot.replication[0].replicas.map((x) => [x.id, x.offset, x.link])).toEqual([
      ['r', 217438, 'up'],
    ])
    expect(built.replicaOffsets).toEqual(new Map([['r', 217438]]))
    expect(snapshot.alerts).toEqual([])
    expect(built.alertInput.nodes.map((n) => [n.id, n.role, n.up, n.lagBytes, n.link])).toEqual([
      ['p', 'primary', true, undefined, undefined],
      ['r', 'replica', true, 0, 'up'],
    ])
  })

  it('a primary that stopped answering: its slots are not covered, its last INFO still names it', () => {
    const topo = clusterPair()
    const [p, r] = topo.nodes
    const built = buildSnapshot(
      input(topo, [
        reading(p, info('redis-7.0-cluster-primary'), { state: 'down', error: 'connect ECONNREFUSED' }),
        reading(r, info('redis-7.0-cluster-replica')),
      ]),
    )
    const ps = built.snapshot.nodes[0]
    expect(ps).toMatchObject({ up: false, state: 'down', error: 'connect ECONNREFUSED', keys: 979 })
    expect(built.snapshot.deployment.slotsCovered).toBe(0)
    expect(built.snapshot.cluster.nodesUp).toBe(1)
    // A stale primary's INFO is not this round's: the replication model has no primary offset.
    expect(built.snapshot.replication[0].primaryUp).toBe(false)
    expect(built.alertInput.nodes[0]).toMatchObject({
      up: false,
      state: 'down',
      error: 'connect ECONNREFUSED',
    })
  })

  it('valkey names its engine and version; a standalone 6.2 sums keys over its dbs and has a memory fraction', () => {
    const valkey = node('v', 6379, 'primary')
    const vs = buildSnapshot(
      input(
        {
          mode: 'cluster',
          nodes: [valkey],
          shards: [{ index: 0, primaryId: 'v', slots: [[0, 16383]], nodeIds: ['v'] }],
        },
        [reading(valkey, info('valkey-8.0-cluster-primary'))],
      ),
    ).snapshot
    expect(vs.deployment).toMatchObject({ engine: 'valkey', version: '8.0.2' })
    expect(vs.nodes[0]).toMatchObject({ keys: 25000000, expires: 5000000, memory: { policy: 'allkeys-lfu' } })

    const old = node('127.0.0.1:6379', 6379, 'primary', { slots: [] })
    const ss = buildSnapshot(
      input(
        {
          mode: 'standalone',
          nodes: [old],
          shards: [{ index: 0, primaryId: old.id, slots: [], nodeIds: [old.id] }],
        },
        [reading(old, info('redis-6.2-standalone-primary'))],
      ),
    ).snapshot
    expect(ss.deployment).toEqual({
      mode: 'standalone',
      provider: 'self-managed',
      engine: 'redis',
      version: '6.2.14',
      shards: 1,
      nodes: 1,
    })
    expect(ss.nodes[0]).toMatchObject({
      keys: 2500010,
      expires: 1000000,
      memory: { usedFraction: 0.5 },
      clients: { connected: 42, blocked: 3 },
    })
  })

  it("the cluster hit ratio weighs each node's lookups, not the nodes' ratios", () => {
    const topo = clusterPair()
    const [p, r] = topo.nodes
    const sampled = (name: string, hits: number, misses: number) => {
      const prev = info(name)
      const cur = info(name)
      cur.stats.keyspaceHits = (prev.stats.keyspaceHits ?? 0) + hits
      cur.stats.keyspaceMisses = (prev.stats.keyspaceMisses ?? 0) + misses
      return { info: cur, prevInfo: prev, rates: nodeRates({ prev, cur, seconds: 1 }) }
    }
    const built = buildSnapshot(
      input(topo, [
        reading(p, undefined, sampled('redis-7.0-cluster-primary', 90, 10)),
        reading(r, undefined, sampled('redis-7.0-cluster-replica', 10, 290)),
      ]),
    )
    expect(built.snapshot.nodes.map((n) => n.hitRatio)).toEqual([0.9, 10 / 300])
    expect(built.snapshot.cluster.hitRatio).toBe(100 / 400)
  })

  it("the primary's offset history gives the replication stream's write rate", () => {
    const topo = clusterPair()
    const [p, r] = topo.nodes
    const offsets: Sample[] = [
      { at: AT - 2000, value: 217438 - 2000 },
      { at: AT - 1000, value: 217438 },
    ]
    const built = buildSnapshot(
      input(
        topo,
        [reading(p, info('redis-7.0-cluster-primary')), reading(r, info('redis-7.0-cluster-replica'))],
        {
          primaryOffsets: (id) => (id === 'p' ? offsets : []),
        },
      ),
    )
    expect(built.snapshot.replication[0].writeBytesPerSec).toBe(2000)
  })
})
