import { describe, expect, it } from 'vitest'
import { openSlotsFrom, ownSlotMarkers } from '../../../../../src/ops/triage/collect.js'
import type { NodeStatus } from '../../../../../src/metrics/types.js'
import { openSlotFindings } from '../../../../../src/ops/triage/rules.js'
import { nodeDown } from '../../../../../src/ops/triage/rules/topology.js'
import type { Finding, TriageInput } from '../../../../../src/ops/triage/types.js'
import { nodeStatus, triageInput } from '../fixtures.js'
import { A, B, C } from '../node-ids.js'

/** CLUSTER NODES as node `me` sees it: markers only on its own line (what Redis does). */
function view(me: string, own: string): string {
  const line = (id: string, port: number, slots: string) =>
    `${id} 10.0.0.${port - 6999}:${port}@${port + 10000} ${id === me ? 'myself,' : ''}master - 0 0 1 connected ${slots}${id === me ? own : ''}`
  return [line(A, 7000, '0-5460'), line(B, 7001, '5461-10922'), line(C, 7002, '10923-16383')].join('\n')
}

const nodes = [
  { id: A, address: '10.0.0.1:7000' },
  { id: B, address: '10.0.0.2:7001' },
  { id: C, address: '10.0.0.3:7002' },
]

describe('open slots, from every node', () => {
  it("a node's own markers only; peers named by the address the node knows them at", () => {
    expect(ownSlotMarkers(view(B, ` [5461->-${A}]`))).toEqual([
      { slot: 5461, kind: 'migrating', peer: A, peerAddress: '10.0.0.1:7000' },
    ])
    expect(ownSlotMarkers(view(A, ` [5461-<-${B}]`))).toEqual([
      { slot: 5461, kind: 'importing', peer: B, peerAddress: '10.0.0.2:7001' },
    ])
    expect(ownSlotMarkers(view(C, ''))).toEqual([])
  })

  it('both sides of a move joined, though the seed (A) shows only its own side', () => {
    const extras = [
      { address: '10.0.0.1:7000', slotMarkers: ownSlotMarkers(view(A, ` [5461-<-${B}]`)) },
      { address: '10.0.0.2:7001', slotMarkers: ownSlotMarkers(view(B, ` [5461->-${A}] [5462->-${A}]`)) },
      { address: '10.0.0.3:7002', slotMarkers: [] },
    ]
    // The topology from the seed carries A's importing marker again: not counted twice.
    const topology = [{ ...nodes[0], importing: [{ slot: 5461, from: B }] }, nodes[1], nodes[2]]
    const open = openSlotsFrom(extras, topology)
    expect(open).toEqual([
      { slot: 5461, from: '10.0.0.2:7001', to: '10.0.0.1:7000', migrating: true, importing: true },
      { slot: 5462, from: '10.0.0.2:7001', to: '10.0.0.1:7000', migrating: true, importing: false },
    ])
    expect(openSlotFindings(open).map((f) => [f.node, f.summary])).toEqual([
      [
        '10.0.0.2:7001',
        'open slot 5461: 10.0.0.2:7001 migrating to 10.0.0.1:7000, 10.0.0.1:7000 importing from 10.0.0.2:7001',
      ],
      [
        '10.0.0.2:7001',
        'open slot 5462: 10.0.0.2:7001 migrating to 10.0.0.1:7000 (10.0.0.1:7000 is not importing it)',
      ],
    ])
  })

  it('a node no view could be read from: the seed topology still counts; an unknown peer is named by id', () => {
    const open = openSlotsFrom(
      [{ address: '10.0.0.3:7002', slotMarkers: [{ slot: 12000, kind: 'importing', peer: 'f'.repeat(40) }] }],
      [{ ...nodes[0], migrating: [{ slot: 1, to: C }] }, nodes[1], nodes[2]],
    )
    expect(openSlotFindings(open).map((f) => [f.node, f.summary])).toEqual([
      [
        '10.0.0.1:7000',
        'open slot 1: 10.0.0.1:7000 migrating to 10.0.0.3:7002 (10.0.0.3:7002 is not importing it)',
      ],
      [
        '10.0.0.3:7002',
        `open slot 12000: 10.0.0.3:7002 importing from ${'f'.repeat(40)} (${'f'.repeat(40)} is not migrating it)`,
      ],
    ])
  })

  it('many slots between the same pair: one finding, the list cut at ten', () => {
    const open = Array.from({ length: 12 }, (_, i) => ({
      slot: 100 + i,
      from: 'x:1',
      to: 'y:2',
      migrating: true,
      importing: true,
    }))
    const [f] = openSlotFindings(open)
    expect(f.summary).toBe(
      'open slots 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, ...: x:1 migrating to y:2, y:2 importing from x:1',
    )
    expect(f.evidence).toMatchObject({ slots: open.map((o) => o.slot) })
  })
})

/** A primary down, and what triage says of it, per deployment: only a cluster has slots and marks nodes failed. */
describe('a node that is down', () => {
  const checkNode = nodeDown.check as (node: NodeStatus, input: TriageInput) => Finding[]
  type Shape = { mode: 'cluster' | 'replicated' | 'standalone'; provider?: 'elasticache' | 'self-managed' }
  const downPrimary = nodeStatus({
    up: false,
    health: 'failed',
    state: 'timeout',
    error: 'no reply within 1000 ms',
  })
  const replicaOf = nodeStatus({ id: 'n2', address: '10.0.0.2:6379', role: 'replica', primaryId: 'n1' })
  const finding = ({ mode, provider }: Shape, nodes: NodeStatus[]) => {
    const input = triageInput({}, { mode, shards: 1, nodes: nodes.length })
    input.snapshot = {
      ...input.snapshot,
      deployment: { ...input.snapshot.deployment, ...(provider ? { provider } : {}) },
      nodes,
    }
    const [f] = checkNode(nodes[0], input)
    return f
  }

  it('standalone: no cluster, no slots, no replica to promote', () => {
    const f = finding({ mode: 'standalone' }, [downPrimary])
    expect(f.summary).toBe('primary 10.0.0.1:6379 (shard 0) is down: no reply within 1000 ms')
    expect(f.why).toBe('Every read and write fails until it is back: there is no replica to take over.')
    expect(f.action).toMatch(/^Check the host and the process \(its log, memory, disk\) and restart it/)
    expect(`${f.why} ${f.action}`).not.toMatch(/cluster|slot|CLUSTER/i)
  })

  it('replicated: REPLICAOF NO ONE or Sentinel, not CLUSTER FAILOVER', () => {
    const f = finding({ mode: 'replicated' }, [downPrimary, replicaOf])
    expect(f.summary).not.toMatch(/cluster marks/)
    expect(f.action).toMatch(/REPLICAOF NO ONE on it/)
    expect(f.action).not.toMatch(/CLUSTER/)
  })

  it('cluster: marked failed, its slots down; with a replica, CLUSTER FAILOVER FORCE', () => {
    const f = finding({ mode: 'cluster' }, [downPrimary, replicaOf])
    expect(f.summary).toBe(
      'primary 10.0.0.1:6379 (shard 0) is down (cluster marks it failed): no reply within 1000 ms',
    )
    expect(f.why).toBe('Its slots are unavailable until it is back or a replica is promoted.')
    expect(f.action).toMatch(/CLUSTER FAILOVER FORCE on it/)
    expect(finding({ mode: 'cluster' }, [downPrimary]).action).toMatch(/with no replica its slots stay down/)
  })

  it('ElastiCache: what AWS does and where to look, not commands the service refuses', () => {
    const f = finding({ mode: 'cluster', provider: 'elasticache' }, [downPrimary, replicaOf])
    expect(f.action).toMatch(/^AWS fails over to a replica when Multi-AZ/)
    expect(f.action).not.toMatch(/CLUSTER FAILOVER|REPLICAOF/)
    expect(finding({ mode: 'replicated', provider: 'elasticache' }, [downPrimary]).action).toMatch(
      /comes back only from a snapshot/,
    )
    const replica = checkNode(
      { ...replicaOf, up: false },
      (() => {
        const input = triageInput({}, { mode: 'replicated', shards: 1, nodes: 2 })
        input.snapshot = {
          ...input.snapshot,
          deployment: { ...input.snapshot.deployment, provider: 'elasticache' },
        }
        return input
      })(),
    )[0]
    expect(replica.action).toBe(
      'AWS replaces a failed replica, which resyncs from its primary: check the service events.',
    )
  })
})
