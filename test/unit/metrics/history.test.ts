import { describe, expect, it } from 'vitest'
import { RingBuffer, SeriesStore } from '../../../src/metrics/history.js'

describe('history', () => {
  it('ring buffer keeps the newest values in order', () => {
    const r = new RingBuffer<number>(3)
    for (let i = 1; i <= 5; i++) r.push(i)
    expect(r.toArray()).toEqual([3, 4, 5])
    expect(r.length).toBe(3)
    expect(r.at(0)).toBe(3)
    expect(r.at(-1)).toBe(5)
    expect(r.last()).toBe(5)
    expect(r.at(3)).toBeUndefined()
    r.clear()
    expect(r.toArray()).toEqual([])
    expect(() => new RingBuffer(0)).toThrow(RangeError)
  })

  it('series store: skips undefined and non-finite, drops by prefix', () => {
    const s = new SeriesStore(2)
    s.add('n1:ops', 1, 10)
    s.add('n1:ops', 2, undefined)
    s.add('n1:ops', 3, Number.NaN)
    s.add('n1:ops', 4, 30)
    s.add('n1:ops', 5, 50)
    s.add('n2:ops', 5, 1)
    expect(s.get('n1:ops')).toEqual([
      { at: 4, value: 30 },
      { at: 5, value: 50 },
    ])
    s.drop('n1:')
    expect(s.names()).toEqual(['n2:ops'])
  })
})
