import { describe, expect, it } from 'vitest'
import { LogCursor } from '../../../src/metrics/log-cursor.js'
import { entry, reply } from './log-entries.js'

describe('LogCursor: incremental reading by entry id', () => {
  it('first read returns what is there; later reads only newer entries; nothing twice', () => {
    const c = new LogCursor()
    expect(c.accept(reply(0, 4, 32), 32, 'run1').fresh.map((e) => e.id)).toEqual([4, 3, 2, 1, 0])
    expect(c.accept(reply(0, 4, 32), 32, 'run1')).toEqual({
      fresh: [],
      reset: false,
      needAll: false,
      missed: 0,
    })
    expect(c.accept(reply(0, 6, 32), 32, 'run1').fresh.map((e) => e.id)).toEqual([6, 5])
    expect(c.position).toBe(6)
  })

  it('a burst larger than the count asks for the whole log, then misses nothing', () => {
    const c = new LogCursor()
    c.accept(reply(0, 9, 4), 4, 'r')
    // 40 new entries, only 4 returned: not reaching back to id 9.
    const first = c.accept(reply(0, 49, 4), 4, 'r')
    expect(first).toMatchObject({ fresh: [], needAll: true, missed: 0 })
    const all = c.accept(reply(0, 49, -1), -1, 'r')
    expect(all.fresh.map((e) => e.id)).toEqual(Array.from({ length: 40 }, (_, i) => 49 - i))
    expect(all.missed).toBe(0)
  })

  it('entries trimmed by slowlog-max-len (wrap) before they were read are counted as missed', () => {
    const c = new LogCursor()
    c.accept(reply(0, 9, 32), 32, 'r')
    // max-len 128: ids 10..71 were pushed out by the time of the next read; 72..199 remain.
    const res = c.accept(reply(72, 199, -1), -1, 'r')
    expect(res.fresh).toHaveLength(128)
    expect(res.missed).toBe(62)
    expect(res.needAll).toBe(false)
  })

  it('a restart (new run id, or ids going backwards) starts over instead of ignoring new entries', () => {
    const c = new LogCursor()
    c.accept(reply(0, 50, 32), 32, 'run1')
    const restarted = c.accept(reply(0, 2, 32), 32, 'run2')
    expect(restarted.reset).toBe(true)
    expect(restarted.fresh.map((e) => e.id)).toEqual([2, 1, 0])
    const c2 = new LogCursor()
    c2.accept(reply(0, 50, 32), 32)
    const backwards = c2.accept(reply(0, 3, 32), 32)
    expect(backwards.reset).toBe(true)
    expect(backwards.fresh.map((e) => e.id)).toEqual([3, 2, 1, 0])
  })

  it('a log empty at the first read: a later full reply is read in full, nothing counted missed', () => {
    const c = new LogCursor()
    expect(c.accept([], 4, 'r').fresh).toEqual([])
    expect(c.accept(reply(500, 509, 4), 4, 'r')).toMatchObject({ fresh: [], needAll: true })
    const all = c.accept(reply(500, 509, -1), -1, 'r')
    expect(all.fresh).toHaveLength(10)
    expect(all.missed).toBe(0)
    // After a restart with a full reply, the same.
    expect(c.accept(reply(0, 7, 4), 4, 'r2')).toMatchObject({ reset: true, needAll: true })
    expect(c.accept(reply(0, 7, -1), -1, 'r2').fresh).toHaveLength(8)
  })

  it('SLOWLOG RESET empties the list but ids go on: the next entries are new, the reset ones are missed', () => {
    const c = new LogCursor()
    c.accept(reply(0, 5, 32), 32, 'r')
    expect(c.accept([], 32, 'r').fresh).toEqual([])
    // Entries 6 and 7 were logged then reset before the read; 8 came after.
    const res = c.accept([entry(8)], 32, 'r')
    expect(res.fresh.map((e) => e.id)).toEqual([8])
    expect(res.missed).toBe(2)
  })
})
