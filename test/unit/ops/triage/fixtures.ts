import type { NodeStatus, Snapshot } from '../../../../src/metrics/types.js'
import type { TriageInput, TriageReport } from '../../../../src/ops/triage/types.js'

/** What `evaluate` reads, empty but for `over`; the snapshot of a deployment of `shape`. */
export function triageInput(
  over: Partial<TriageInput>,
  shape: { mode: 'cluster' | 'replicated' | 'standalone'; shards: number; nodes: number } = {
    mode: 'cluster',
    shards: 1,
    nodes: 0,
  },
): TriageInput {
  return {
    snapshot: {
      deployment: shape,
      cluster: { nodesUp: shape.nodes, nodes: shape.nodes },
      nodes: [],
      replication: [],
    } as unknown as Snapshot,
    openSlots: [],
    extras: [],
    slowlogGroups: [],
    keys: { sampled: 0, bigKeys: [], hotKeys: [], notes: [] },
    durationSeconds: 5,
    ...over,
  }
}

/** A report of a MemoryDB (Valkey 7.3) deployment with nothing found, but for `over`. */
export function emptyReport(over: Partial<TriageReport>): TriageReport {
  return {
    at: Date.UTC(2026, 0, 2, 3, 4, 5),
    durationSeconds: 0,
    deployment: {
      mode: 'cluster',
      provider: 'memorydb',
      engine: 'valkey',
      version: '7.3',
      shards: 1,
      nodes: 2,
    },
    counts: { critical: 0, warning: 0, info: 0 },
    findings: [],
    workload: { topByCalls: [], topByTime: [], slowlog: [] },
    clients: { topAddresses: [], topNames: [] },
    keys: { sampled: 0, bigKeys: [], hotKeys: [], notes: [] },
    nodes: [],
    ...over,
  }
}

/** A healthy primary serving every slot, but for `over`. */
export function nodeStatus(over: Partial<NodeStatus> = {}): NodeStatus {
  return {
    id: 'n1',
    host: '10.0.0.1',
    port: 6379,
    address: '10.0.0.1:6379',
    role: 'primary',
    shard: 0,
    slots: [[0, 16383]],
    up: true,
    health: 'online',
    state: 'ok',
    topCommands: [],
    memory: {},
    clients: {},
    ...over,
  }
}
