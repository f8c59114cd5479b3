import { describe, expect, it } from 'vitest'
import { mergeSlowlogs, SlowlogStore } from '../../../src/metrics/log-merge.js'
import { toSlowlogEntry } from '../../../src/metrics/slowlog.js'
import { entry, nodeA, nodeB } from './log-entries.js'

describe('merging across nodes', () => {
  it('newest first, node named, duplicates (same process and id) dropped', () => {
    const a = [entry(2, 1002), entry(1, 1001)].map((e) => toSlowlogEntry(e, nodeA, 'runA'))
    const b = [entry(2, 1003), entry(1, 1000)].map((e) => toSlowlogEntry(e, nodeB, 'runB'))
    // The same node seen twice (two addresses for one process): its entries once.
    const aAgain = [entry(2, 1002)].map((e) => toSlowlogEntry(e, { ...nodeA, address: 'alias:7000' }, 'runA'))
    const merged = mergeSlowlogs([a, b, aAgain])
    expect(merged.map((e) => `${e.address}#${e.id}`)).toEqual([
      '10.0.0.2:7000#2',
      '10.0.0.1:7000#2',
      '10.0.0.1:7000#1',
      '10.0.0.2:7000#1',
    ])
    expect(merged[0]).toMatchObject({
      node: nodeB.id,
      shard: 1,
      role: 'primary',
      durationUs: 20000,
      command: 'GET',
      pattern: 'GET key:*',
    })
    expect(mergeSlowlogs([a, b], 2)).toHaveLength(2)
  })

  it('the store keeps each entry once and a bounded number of them', () => {
    const store = new SlowlogStore(3)
    const es = [1, 2, 3, 4].map((i) => toSlowlogEntry(entry(i), nodeA, 'r'))
    expect(store.add(es.slice(0, 2)).map((e) => e.id)).toEqual([2, 1])
    expect(store.add(es.slice(0, 3)).map((e) => e.id)).toEqual([3])
    store.add([es[3]])
    expect(store.list().map((e) => e.id)).toEqual([4, 3, 2])
  })
})
