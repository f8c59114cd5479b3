import { describe, expect, it } from 'vitest'
import type { ReplicaStatus, ShardReplication } from '../../../../src/metrics/replication.js'
import type { CommandLogGroup, SlowlogGroup } from '../../../../src/metrics/log-groups.js'
import type { NodeStatus, Snapshot } from '../../../../src/metrics/types.js'
import { evaluate, findingsOf, RULES } from '../../../../src/ops/triage/rules.js'
import type { Finding, NodeExtras, TriageInput } from '../../../../src/ops/triage/types.js'
import { nodeStatus as node, triageInput } from './fixtures.js'

const MiB = 1024 * 1024

function replica(over: Partial<ReplicaStatus> = {}): ReplicaStatus {
  return { id: 'r1', address: '10.0.0.2:6379', up: true, link: 'up', fullResyncRisk: false, ...over }
}

function shard(replicas: ReplicaStatus[], over: Partial<ShardReplication> = {}): ShardReplication {
  return { shard: 0, primaryId: 'n1', primaryAddress: '10.0.0.1:6379', primaryUp: true, replicas, ...over }
}

/** An input whose snapshot has `nodes`, `replication` and deployment fields `deployment`. */
function withSnapshot(
  over: { nodes?: NodeStatus[]; replication?: ShardReplication[]; deployment?: Record<string, unknown> },
  rest: Partial<TriageInput> = {},
): TriageInput {
  const base = triageInput(rest)
  const snapshot = {
    ...base.snapshot,
    deployment: { ...base.snapshot.deployment, ...over.deployment },
    nodes: over.nodes ?? [],
    replication: over.replication ?? [],
  } as unknown as Snapshot
  return { ...base, snapshot }
}

const extras = (over: Partial<NodeExtras>): NodeExtras => ({ address: '10.0.0.1:6379', ...over })

const entry = { client: '10.0.0.9:5000', clientName: 'worker', address: '10.0.0.1:6379', args: ['KEYS', '*'] }
const slowGroup = { pattern: 'KEYS *', count: 2, maxUs: 250_000, nodes: ['10.0.0.1:6379'], slowest: entry }
const logGroup = (kind: 'large-request' | 'large-reply') => ({
  kind,
  pattern: 'HGETALL *',
  count: 1,
  maxBytes: 4 * MiB,
  nodes: ['10.0.0.1:6379'],
  largest: entry,
})

/** Each rule's name -> an input on which it (and maybe others) finds something, and the category it reports. */
const FIXTURES: Record<string, { input: TriageInput; category: Finding['category'] }> = {
  'cluster-state': { input: withSnapshot({ deployment: { clusterState: 'fail' } }), category: 'topology' },
  'slots-uncovered': { input: withSnapshot({ deployment: { slotsCovered: 16000 } }), category: 'topology' },
  'node-down': { input: withSnapshot({ nodes: [node({ up: false, state: 'down' })] }), category: 'topology' },
  'open-slots': {
    input: triageInput({
      openSlots: [{ slot: 7, from: 'a:1', to: 'b:2', migrating: true, importing: false }],
    }),
    category: 'topology',
  },
  'slot-map-disagreement': {
    input: triageInput({
      extras: [extras({ slotMapView: 'x' }), extras({ address: '10.0.0.2:6379', slotMapView: 'y' })],
    }),
    category: 'topology',
  },
  'replicas-on-primary-host': {
    input: withSnapshot({
      nodes: [
        node(),
        node({ id: 'n2', port: 6380, address: '10.0.0.1:6380', role: 'replica', primaryId: 'n1' }),
      ],
    }),
    category: 'topology',
  },
  'replication-link-down': {
    input: withSnapshot({ replication: [shard([replica({ link: 'down' })])] }),
    category: 'replication',
  },
  'replication-lag': {
    input: withSnapshot({ replication: [shard([replica({ lagSeconds: 12, lagBytes: 1000 })])] }),
    category: 'replication',
  },
  'backlog-headroom': {
    input: withSnapshot({
      replication: [shard([replica({ fullResyncRisk: true, backlogHeadroomSeconds: 10 })])],
    }),
    category: 'replication',
  },
  'repeated-full-resyncs': {
    input: withSnapshot({ replication: [shard([replica()], { fullSyncs: 4 })] }),
    category: 'replication',
  },
  'memory-high': {
    input: withSnapshot({ nodes: [node({ memory: { used: 95, maxmemory: 100, usedFraction: 0.95 } })] }),
    category: 'resources',
  },
  evictions: { input: withSnapshot({ nodes: [node({ evictionsPerSec: 3 })] }), category: 'resources' },
  fragmentation: {
    input: withSnapshot({
      nodes: [node({ memory: { used: 200 * MiB, rss: 400 * MiB, fragmentationRatio: 2 } })],
    }),
    category: 'resources',
  },
  'cpu-high': { input: withSnapshot({ nodes: [node({ cpuPercent: 93 })] }), category: 'resources' },
  'rejected-connections': {
    input: triageInput({ extras: [extras({ rejectedConnections: 12, maxclients: 100 })] }),
    category: 'resources',
  },
  'error-replies': { input: withSnapshot({ nodes: [node({ errorsPerSec: 2 })] }), category: 'workload' },
  'slow-command-p99': {
    input: withSnapshot({
      nodes: [node({ topCommands: [{ command: 'hgetall', opsPerSec: 5, p99Us: 20_000 }] })],
    }),
    category: 'workload',
  },
  'slowlog-patterns': {
    input: triageInput({ slowlogGroups: [slowGroup as unknown as SlowlogGroup] }),
    category: 'workload',
  },
  'large-replies': {
    input: triageInput({
      commandLogGroups: {
        largeRequests: [],
        largeReplies: [logGroup('large-reply') as unknown as CommandLogGroup],
      },
    }),
    category: 'workload',
  },
  'large-requests': {
    input: triageInput({
      commandLogGroups: {
        largeRequests: [logGroup('large-request') as unknown as CommandLogGroup],
        largeReplies: [],
      },
    }),
    category: 'workload',
  },
  'blocked-clients': {
    input: withSnapshot({ nodes: [node({ clients: { blocked: 2 } })] }),
    category: 'clients',
  },
  'client-buffers': {
    input: triageInput({
      extras: [
        extras({
          clients: [
            {
              addr: '10.0.0.9:5000',
              name: '',
              cmd: 'get',
              flags: 'N',
              omem: 32 * MiB,
              qbuf: 0,
              ageSeconds: 1,
              idleSeconds: 0,
            },
          ],
        }),
      ],
    }),
    category: 'clients',
  },
  'clients-near-max': {
    input: withSnapshot(
      { nodes: [node({ clients: { connected: 90 } })] },
      { extras: [extras({ maxclients: 100 })] },
    ),
    category: 'clients',
  },
  'big-keys': {
    input: triageInput({
      keys: {
        sampled: 1,
        bigKeys: [{ node: '10.0.0.1:6379', key: 'k', type: 'hash', bytes: 2 * MiB }],
        hotKeys: [],
        notes: [],
      },
    }),
    category: 'keys',
  },
  'hot-keys': {
    input: triageInput({
      keys: {
        sampled: 1,
        bigKeys: [],
        hotKeys: [{ node: '10.0.0.1:6379', key: 'k', type: 'string', bytes: 10, freq: 200 }],
        notes: [],
      },
    }),
    category: 'keys',
  },
  'cloudwatch-peaks': {
    input: triageInput({ cloudwatch: { hours: 3, nodes: { 'cache-0001-001': { cpu: 95 } } } }),
    category: 'cloudwatch',
  },
}

describe('the triage rule registry', () => {
  it('lists every rule once, each with a fixture here', () => {
    const names = RULES.map((r) => r.name)
    expect(new Set(names).size).toBe(names.length)
    expect([...names].sort()).toEqual(Object.keys(FIXTURES).sort())
  })

  it('finds nothing on an empty deployment', () => {
    const empty = triageInput({})
    for (const rule of RULES) expect(findingsOf(rule, empty), rule.name).toEqual([])
  })

  for (const rule of RULES) {
    it(`${rule.name} fires on its fixture, and evaluate reports what it found`, () => {
      const { input, category } = FIXTURES[rule.name]
      const found = findingsOf(rule, input)
      expect(found.length).toBeGreaterThan(0)
      for (const f of found) expect(f.category).toBe(category)
      const all = evaluate(input)
      for (const f of found) expect(all).toContainEqual(f)
    })
  }
})
