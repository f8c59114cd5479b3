import { describe, expect, it } from 'vitest'
import { matchesFilter } from '../../../src/dashboard/node-filter.js'
import { clusterSnapshot } from './snapshots.js'

describe('matchesFilter', () => {
  const s = clusterSnapshot(2, 1, (n, i) => {
    if (i === 3) Object.assign(n, { up: false, state: 'down' })
  })
  const ids = (filter: string, flags?: { down: boolean; lagging: boolean; hot: boolean }) =>
    s.nodes.filter((n) => matchesFilter(n, filter, flags)).map((n) => n.port)

  it('an empty filter matches every node', () => {
    expect(ids('')).toEqual([7000, 7001, 7002, 7003])
    expect(ids('   ')).toEqual([7000, 7001, 7002, 7003])
  })

  it('every word must match: role, state, shard (s1 or shard:1), address or the start of the id', () => {
    expect(ids('primary')).toEqual([7000, 7002])
    expect(ids('REPLICA')).toEqual([7001, 7003])
    expect(ids('down')).toEqual([7003])
    expect(ids('up')).toEqual([7000, 7001, 7002])
    expect(ids('s1')).toEqual([7002, 7003])
    expect(ids('shard:0 replica')).toEqual([7001])
    expect(ids(':7002')).toEqual([7002])
    expect(ids(s.nodes[1].id.slice(0, 3))).toEqual([7001])
    expect(ids('primary :7001')).toEqual([])
  })

  it('lag and hot come from the row flags; without flags they match nothing', () => {
    expect(ids('lag')).toEqual([])
    expect(ids('hot')).toEqual([])
    expect(ids('lagging', { down: false, lagging: true, hot: false })).toEqual([7000, 7001, 7002, 7003])
    expect(ids('hot', { down: false, lagging: false, hot: true })).toEqual([7000, 7001, 7002, 7003])
  })
})
