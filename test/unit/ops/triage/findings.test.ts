import { describe, expect, it } from 'vitest'
import type { SlowlogEntry, SlowlogGroup } from '../../../../src/metrics/slowlog.js'
import { openSlotsFrom, ownSlotMarkers } from '../../../../src/ops/triage/collect.js'
import { formatTriage, markdownReport } from '../../../../src/ops/triage/report.js'
import { cloudWatchFindings, evaluate, openSlotFindings } from '../../../../src/ops/triage/rules.js'
import { emptyReport, triageInput } from './fixtures.js'

const A = 'aaaa'.padEnd(40, '0')
const B = 'bbbb'.padEnd(40, '0')
const C = 'cccc'.padEnd(40, '0')

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

function entry(over: Partial<SlowlogEntry>): SlowlogEntry {
  return {
    id: 1,
    at: 0,
    durationUs: 50_000,
    command: 'DEBUG SLEEP',
    pattern: 'DEBUG SLEEP',
    args: ['DEBUG', 'SLEEP', '0.05'],
    client: '10.9.9.9:5000',
    node: A,
    address: '10.0.0.1:7000',
    shard: 0,
    role: 'primary',
    ...over,
  }
}

function group(pattern: string, entries: SlowlogEntry[], nodes: string[]): SlowlogGroup {
  const slowest = entries.reduce((a, b) => (b.durationUs > a.durationUs ? b : a))
  return {
    pattern,
    count: entries.length,
    totalUs: entries.reduce((s, e) => s + e.durationUs, 0),
    avgUs: 0,
    maxUs: slowest.durationUs,
    nodes,
    firstAt: 0,
    lastAt: 0,
    slowest,
  }
}

describe('slow commands', () => {
  it('every slowlog group is a finding on the slowest node, by address: a note under 100 ms, a warning from it', () => {
    const found = evaluate(
      triageInput({
        slowlogGroups: [
          group('DEBUG SLEEP', [entry({})], ['10.0.0.1:7000']),
          group(
            'KEYS *',
            [
              entry({ pattern: 'KEYS *', durationUs: 150_000, address: '10.0.0.2:7001', node: B }),
              entry({ pattern: 'KEYS *', durationUs: 120_000, id: 2 }),
            ],
            ['10.0.0.1:7000', '10.0.0.2:7001'],
          ),
        ],
      }),
    ).filter((f) => f.category === 'workload')
    expect(found.map((f) => [f.severity, f.node, f.summary])).toEqual([
      [
        'warning',
        '10.0.0.2:7001',
        'slowlog: KEYS * took up to 150 ms on 10.0.0.2:7001 (2 entries on 10.0.0.2:7001, 10.0.0.1:7000)',
      ],
      ['info', '10.0.0.1:7000', 'slowlog: DEBUG SLEEP took up to 50.0 ms on 10.0.0.1:7000 (1 entry)'],
    ])
  })
})

describe('CloudWatch findings', () => {
  it('on the node endpoint where AWS gives one, AWS name in the summary', () => {
    const found = cloudWatchFindings({
      hours: 3,
      nodes: { 'orders-0001-001': { engineCpu: 93, evictions: 0 }, 'orders-0001-002': { replicationLag: 9 } },
      addresses: { 'orders-0001-001': 'orders-0001-001.x.cache.amazonaws.com:6379' },
    })
    expect(found.map((f) => [f.node, f.summary])).toEqual([
      [
        'orders-0001-001.x.cache.amazonaws.com:6379',
        'CloudWatch: orders-0001-001 reached 93% (engine) CPU in the last 3 hours',
      ],
      ['orders-0001-002', 'CloudWatch: replica orders-0001-002 lagged up to 9.0s in the last 3 hours'],
    ])
  })
})

describe('a CloudWatch-only report', () => {
  const report = emptyReport({
    keys: {
      sampled: 0,
      bigKeys: [],
      hotKeys: [],
      notes: ['keys not sampled: the nodes cannot be reached from here'],
    },
    nodes: [
      { address: 'm-0001-001.x:6379', role: 'primary', shard: 0, up: false },
      { address: 'm-0001-002.x:6379', role: 'replica', shard: 0, up: false },
    ],
    cloudwatch: {
      hours: 3,
      nodes: { 'm-0001-001': { cpu: 5 } },
      addresses: { 'm-0001-001': 'm-0001-001.x:6379' },
    },
    dataPlane: { reachable: false, reason: "cannot resolve host 'clustercfg.m.x'", code: 'dns' },
  })
  const line =
    "nodes unreachable from here (cannot resolve host 'clustercfg.m.x'): showing CloudWatch only; run kvtop from inside the VPC (bastion, SSM port forwarding) for live figures"

  it('the summary: the line first, no "nothing looks wrong" when the nodes were not checked', () => {
    const text = formatTriage(report).split('\n')
    expect(text[0]).toBe(line)
    expect(text[1]).toBe('memorydb valkey 7.3 | cluster | 1 shard | 2 nodes | CloudWatch, last 3 hours')
    expect(text).toContain('No CloudWatch findings (the nodes themselves were not checked).')
  })

  it('report.md: the line, the nodes AWS describes, CloudWatch; no empty workload tables', () => {
    const md = markdownReport(report)
    expect(md).toContain(`**${line}.**`)
    expect(md).toContain('| m-0001-002.x:6379 | replica | 0 |')
    expect(md).toContain('- m-0001-001 (`m-0001-001.x:6379`): cpu 5')
    expect(md).not.toContain('## Workload')
    expect(md).not.toContain('Nothing looks wrong')
  })
})
