import { describe, expect, it } from 'vitest'
import { KeyTally } from '../../../../src/data/rdb/key-tally.js'

describe('KeyTally', () => {
  it('counts keys and expires at once, and per db and type when flushed, types in the order they appeared', () => {
    const t = new KeyTally()
    t.add(4, false)
    t.add(0, true)
    t.add(4, true)
    expect(t.counts.keys).toBe(3)
    expect(t.counts.expires).toBe(2)
    // Per db: only at a flush (a batch's end, a SELECTDB); the type map already knows the types, at 0.
    expect([...t.counts.perDb]).toEqual([])
    expect([...t.counts.perType]).toEqual([
      [4, 0],
      [0, 0],
    ])
    t.flush(0)
    expect([...t.counts.perDb]).toEqual([[0, 3]])
    expect([...t.counts.perType]).toEqual([
      [4, 2],
      [0, 1],
    ])
    t.add(0, false)
    t.add(18, false)
    t.flush(5)
    t.flush(5) // nothing new: nothing added twice
    t.add(0, false)
    t.flush(0)
    expect([...t.counts.perDb]).toEqual([
      [0, 4],
      [5, 2],
    ])
    expect([...t.counts.perType]).toEqual([
      [4, 2],
      [0, 3],
      [18, 1],
    ])
    expect(t.counts.keys).toBe(6)
  })
})
