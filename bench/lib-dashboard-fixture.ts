import { SeriesStore } from '../src/metrics/history.js'
import type { NodeStatus, Snapshot } from '../src/metrics/types.js'

/*
 * Monitor snapshots with realistic figures, for the dashboard's render benchmark and its tests:
 * what a round of the monitor engine hands the dashboard, without a cluster to poll.
 */

/** A cluster snapshot with `shards` x (1 + `replicas`) nodes and realistic figures. */
export function clusterSnapshot(
  shards: number,
  replicas: number,
  tweak: (n: NodeStatus, i: number) => void = () => {},
): Snapshot {
  const nodes: NodeStatus[] = []
  const per = Math.floor(16384 / shards)
  let port = 7000
  for (let s = 0; s < shards; s++) {
    const primaryId = `p${s}`.padEnd(40, '0')
    for (let r = 0; r <= replicas; r++) {
      const id = r === 0 ? primaryId : `r${s}x${r}`.padEnd(40, '0')
      const n: NodeStatus = {
        id,
        host: '127.0.0.1',
        port,
        address: `127.0.0.1:${port}`,
        role: r === 0 ? 'primary' : 'replica',
        shard: s,
        slots: r === 0 ? [[s * per, s === shards - 1 ? 16383 : (s + 1) * per - 1]] : [],
        up: true,
        health: 'online',
        state: 'ok',
        engine: 'redis',
        version: '7.0.15',
        opsPerSec: r === 0 ? 1000 + s * 10 : 300,
        latencyUs: 4.5,
        p99Us: 25,
        topCommands: [{ command: 'get', opsPerSec: 600, usecPerCall: 2.5, p99Us: 9 }],
        hitRatio: r === 0 ? 0.95 : undefined,
        cpuPercent: 12,
        memory: {
          used: 50_000_000 + s * 1_000_000,
          maxmemory: 100_000_000,
          usedFraction: (50_000_000 + s * 1_000_000) / 100_000_000,
          rss: 60_000_000,
        },
        clients: { connected: 10, blocked: 0 },
        keys: 100_000,
        ...(r === 0
          ? { replicationOffset: 123456 }
          : {
              primaryId,
              replication: { primaryId, offset: 123456, lagBytes: 0, lagSeconds: 0, link: 'up' as const },
            }),
      }
      tweak(n, nodes.length)
      nodes.push(n)
      port++
    }
  }
  const shardsOut = Array.from({ length: shards }, (_, s) => {
    const members = nodes.filter((n) => n.shard === s)
    return {
      index: s,
      primaryId: members[0].id,
      slots: members[0].slots,
      nodeIds: members.map((m) => m.id),
      opsPerSec: members.reduce((a, m) => a + (m.opsPerSec ?? 0), 0),
      memoryUsed: members[0].memory.used,
      maxmemory: members[0].memory.maxmemory,
      keys: members[0].keys,
      nodesUp: members.filter((m) => m.up).length,
    }
  })
  return {
    at: Date.now(),
    round: 3,
    intervalMs: 1000,
    roundMs: 7,
    deployment: {
      mode: 'cluster',
      provider: 'self-managed',
      engine: 'redis',
      version: '7.0.15',
      shards,
      nodes: nodes.length,
      slotsCovered: 16384,
      clusterState: 'ok',
    },
    cluster: {
      opsPerSec: nodes.reduce((a, n) => a + (n.opsPerSec ?? 0), 0),
      hitRatio: 0.95,
      memoryUsed: 1e8,
      maxmemory: 2e8,
      keys: 200000,
      connectedClients: 20,
      nodesUp: nodes.filter((n) => n.up).length,
      nodes: nodes.length,
    },
    shards: shardsOut,
    nodes,
    replication: shardsOut.map((s) => ({
      shard: s.index,
      primaryId: s.primaryId,
      primaryAddress: nodes.find((n) => n.id === s.primaryId)!.address,
      primaryUp: true,
      primaryOffset: 123456,
      replicas: [],
    })),
    alerts: [],
    events: [],
    slowlog: [],
  }
}

export function historyFor(s: Snapshot, rounds = 10, capacity = 300): SeriesStore {
  const h = new SeriesStore(capacity)
  for (let i = 0; i < rounds; i++) {
    const at = s.at - (rounds - i) * 1000
    h.add('cluster:ops', at, (s.cluster.opsPerSec ?? 0) * (0.8 + (i % 3) * 0.1))
    h.add('cluster:latency', at, 4 + (i % 4))
    for (const n of s.nodes) {
      h.add(`${n.id}:ops`, at, n.opsPerSec)
      h.add(`${n.id}:latency`, at, n.latencyUs)
      if (n.replication) h.add(`${n.id}:lag`, at, i * 100)
    }
  }
  return h
}
