import { describe, expect, it } from 'vitest'
import { evaluate, rankFindings } from '../../../../src/ops/triage/rules.js'
import type { Finding, TriageInput } from '../../../../src/ops/triage/types.js'
import type { NodeStatus, Snapshot } from '../../../../src/metrics/types.js'
import { nodeStatus as node } from './fixtures.js'

function input(nodes: NodeStatus[], over: Partial<TriageInput> = {}): TriageInput {
  const snapshot = {
    at: 0,
    deployment: { mode: 'cluster', shards: 1, nodes: nodes.length, slotsCovered: 16384, clusterState: 'ok' },
    cluster: { nodesUp: nodes.length, nodes: nodes.length },
    nodes,
    replication: [],
  } as unknown as Snapshot
  return {
    snapshot,
    openSlots: [],
    extras: [],
    slowlogGroups: [],
    keys: { sampled: 0, bigKeys: [], hotKeys: [], notes: [] },
    durationSeconds: 10,
    ...over,
  }
}

describe('triage rules', () => {
  it('a healthy node yields nothing', () => {
    expect(evaluate(input([node({ memory: { used: 100, maxmemory: 1000, usedFraction: 0.1 } })]))).toEqual([])
  })

  it('a down primary is critical, a down replica a warning; uncovered slots and a bad state are critical', () => {
    const found = evaluate({
      ...input([
        node({ up: false, health: 'failed' }),
        node({ id: 'n2', address: '10.0.0.2:6379', role: 'replica', up: false }),
      ]),
      snapshot: {
        ...input([]).snapshot,
        deployment: { mode: 'cluster', shards: 1, nodes: 2, slotsCovered: 16000, clusterState: 'fail' },
        nodes: [
          node({ up: false, health: 'failed' }),
          node({ id: 'n2', address: '10.0.0.2:6379', role: 'replica', up: false }),
        ],
      } as Snapshot,
    })
    expect(found.map((f) => [f.severity, f.node ?? '-', f.summary.split(' ').slice(0, 3).join(' ')])).toEqual(
      [
        ['critical', '-', 'cluster_state is fail'],
        ['critical', '-', '384 of 16384'],
        ['critical', '10.0.0.1:6379', 'primary 10.0.0.1:6379 (shard'],
        ['warning', '10.0.0.2:6379', 'replica 10.0.0.2:6379 (shard'],
      ],
    )
  })

  it('a replica that is down is one warning (node down), not also a critical broken link', () => {
    const primary = node()
    const replica = node({
      id: 'n2',
      host: '10.0.0.2',
      address: '10.0.0.2:6379',
      role: 'replica',
      primaryId: 'n1',
    })
    const withReplica = (status: { up: boolean }) => {
      const i = input([primary, { ...replica, ...status }])
      const link = {
        id: 'n2',
        address: '10.0.0.2:6379',
        link: 'down' as const,
        fullResyncRisk: false,
        ...status,
      }
      i.snapshot.replication = [
        { shard: 0, primaryId: 'n1', primaryAddress: '10.0.0.1:6379', primaryUp: true, replicas: [link] },
      ]
      return evaluate(i).map((f) => [f.severity, f.category, f.summary.split(' ').slice(0, 3).join(' ')])
    }
    expect(withReplica({ up: false })).toEqual([['warning', 'topology', 'replica 10.0.0.2:6379 (shard']])
    // Up, but its link to the primary down: that is the finding.
    expect(withReplica({ up: true })).toEqual([['critical', 'replication', 'replication link of']])
  })

  it('memory near maxmemory, evictions, big output buffers, big keys and disagreeing slot maps', () => {
    const f = evaluate(
      input(
        [
          node({
            memory: { used: 950, maxmemory: 1000, usedFraction: 0.95, policy: 'noeviction' },
            evictionsPerSec: 0,
          }),
        ],
        {
          extras: [
            {
              address: '10.0.0.1:6379',
              slotMapView: 'a=0-100',
              clients: [
                {
                  addr: '1.2.3.4:5',
                  name: 'app',
                  cmd: 'keys',
                  flags: 'N',
                  omem: 32 << 20,
                  qbuf: 0,
                  ageSeconds: 1,
                  idleSeconds: 0,
                },
              ],
            },
            { address: '10.0.0.2:6379', slotMapView: 'a=0-100' },
            { address: '10.0.0.3:6379', slotMapView: 'a=0-99' },
          ],
          keys: {
            sampled: 1,
            bigKeys: [{ node: '10.0.0.1:6379', key: 'k\\x00', type: 'hash', bytes: 2 << 20, elements: 9 }],
            hotKeys: [],
            notes: [],
          },
        },
      ),
    )
    const summaries = f.map((x) => `${x.severity} ${x.category} ${x.node}: ${x.summary}`)
    expect(summaries).toContain(
      'warning resources 10.0.0.1:6379: memory 950 B of 1000 B maxmemory (95%), policy noeviction',
    )
    expect(
      summaries.some((s) =>
        s.startsWith('warning topology 10.0.0.3:6379: nodes disagree about the slot map'),
      ),
    ).toBe(true)
    expect(
      summaries.some((s) => s.startsWith('warning clients 10.0.0.1:6379: client 1.2.3.4:5 "app" holds 32')),
    ).toBe(true)
    expect(summaries.some((s) => s.startsWith('warning keys 10.0.0.1:6379: big key "k\\x00" (hash, 2'))).toBe(
      true,
    )
    expect(f.find((x) => x.category === 'resources')!.why).toContain('writes fail with OOM')
  })

  it('replicas on the same host as their primary: one finding per host, naming the pairs', () => {
    const primaries = [0, 1, 2, 3].map((i) =>
      node({ id: `p${i}`, host: '10.0.0.9', port: 7000 + i, address: `10.0.0.9:${7000 + i}`, shard: i }),
    )
    const replicas = [0, 1, 2, 3].map((i) =>
      node({
        id: `r${i}`,
        host: '10.0.0.9',
        port: 8000 + i,
        address: `10.0.0.9:${8000 + i}`,
        role: 'replica',
        primaryId: `p${i}`,
        shard: i,
      }),
    )
    const lone = [
      node({ id: 'p9', host: '10.0.0.5', address: '10.0.0.5:6379' }),
      node({ id: 'r9', host: '10.0.0.5', address: '10.0.0.5:6380', role: 'replica', primaryId: 'p9' }),
      node({ id: 'r10', host: '10.0.0.6', address: '10.0.0.6:6379', role: 'replica', primaryId: 'p9' }),
    ]
    const found = evaluate(input([...primaries, ...replicas, ...lone])).filter((f) =>
      /same host/.test(f.summary),
    )
    expect(found.map((f) => [f.node, f.summary])).toEqual([
      [
        undefined,
        '4 replicas run on the same host as their primaries (10.0.0.9): 10.0.0.9:8000 -> 10.0.0.9:7000, 10.0.0.9:8001 -> 10.0.0.9:7001, 10.0.0.9:8002 -> 10.0.0.9:7002, ...',
      ],
      ['10.0.0.5:6380', 'replica 10.0.0.5:6380 runs on the same host as its primary 10.0.0.5:6379'],
    ])
    expect(found[0].why).toMatch(/shard is lost/)
  })

  it('ranks critical, then warning, then info, stable within a level', () => {
    const mk = (severity: Finding['severity'], summary: string): Finding => ({
      severity,
      category: 'topology',
      summary,
      why: '',
      action: '',
    })
    expect(
      rankFindings([mk('info', 'a'), mk('critical', 'b'), mk('warning', 'c'), mk('critical', 'd')]).map(
        (f) => f.summary,
      ),
    ).toEqual(['b', 'd', 'c', 'a'])
  })
})
