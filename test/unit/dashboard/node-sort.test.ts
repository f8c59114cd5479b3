import { describe, expect, it } from 'vitest'
import { sortNodes } from '../../../src/dashboard/node-sort.js'
import { clusterSnapshot } from './snapshots.js'

describe('sortNodes', () => {
  it('sorts by any column: numbers high first when descending, then shard, primary first, address', () => {
    const s = clusterSnapshot(3, 1, (n, i) => {
      n.opsPerSec = [5, 50, 500, 5000, 1, 10][i]
      if (i === 5) Object.assign(n, { up: false, state: 'timeout' })
    })
    expect(sortNodes(s.nodes, 'ops', true).map((n) => n.port)).toEqual([7003, 7002, 7001, 7005, 7000, 7004])
    expect(sortNodes(s.nodes, 'ops', false).map((n) => n.port)).toEqual([7004, 7000, 7005, 7001, 7002, 7003])
    expect(sortNodes(s.nodes, 'address', false).map((n) => n.port)).toEqual([
      7000, 7001, 7002, 7003, 7004, 7005,
    ])
  })
})
