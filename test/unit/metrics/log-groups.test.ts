import { describe, expect, it } from 'vitest'
import { groupSlowlog } from '../../../src/metrics/log-groups.js'
import { toSlowlogEntry } from '../../../src/metrics/slowlog.js'
import { entry, nodeA, nodeB } from './log-entries.js'

describe('grouping by command pattern', () => {
  it('groups: count, total, mean, max, nodes; heaviest first', () => {
    const es = [
      toSlowlogEntry(entry(1, 1001, 10000, ['GET', 'user:1']), nodeA, 'a'),
      toSlowlogEntry(entry(2, 1002, 30000, ['GET', 'user:2']), nodeB, 'b'),
      toSlowlogEntry(entry(3, 1003, 50000, ['KEYS', '*']), nodeA, 'a'),
    ]
    const groups = groupSlowlog(es)
    expect(groups.map((g) => [g.pattern, g.count, g.totalUs, g.avgUs, g.maxUs, g.nodes.length])).toEqual([
      ['KEYS *', 1, 50000, 50000, 50000, 1],
      ['GET user:*', 2, 40000, 20000, 30000, 2],
    ])
    expect(groups[1].slowest.id).toBe(2)
    expect(groups[1]).toMatchObject({ firstAt: 1001000, lastAt: 1002000 })
  })
})
