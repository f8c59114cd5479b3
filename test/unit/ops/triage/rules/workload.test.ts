import { describe, expect, it } from 'vitest'
import type { SlowlogGroup } from '../../../../../src/metrics/log-groups.js'
import type { SlowlogEntry } from '../../../../../src/metrics/slowlog.js'
import { evaluate } from '../../../../../src/ops/triage/rules.js'
import { triageInput } from '../fixtures.js'
import { A, B } from '../node-ids.js'

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
