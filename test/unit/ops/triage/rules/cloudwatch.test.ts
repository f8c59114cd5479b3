import { describe, expect, it } from 'vitest'
import { cloudWatchFindings } from '../../../../../src/ops/triage/rules.js'

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
