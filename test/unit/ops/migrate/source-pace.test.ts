import { afterEach, describe, expect, it, vi } from 'vitest'
import { SourcePace } from '../../../../src/ops/migrate/source-pace.js'

afterEach(() => {
  vi.restoreAllMocks()
})

describe('SourcePace: when a copier backs off', () => {
  it('reads answered at the fastest pace seen, or under 0.2 ms a key, never pause', () => {
    const pace = new SourcePace()
    expect(pace.read(10, 1000)).toBeUndefined() // 0.01 ms/key: the fastest
    expect(pace.read(80, 1000)).toBeUndefined() // 8x: not more
    expect(pace.read(150, 1000)).toBeUndefined() // 15x, but 0.15 ms/key
  })

  it('a read more than 8x slower than the fastest and over 0.2 ms a key pauses 100x its ms/key (at most 1 s); the first of a run says so', () => {
    const pace = new SourcePace()
    pace.read(20, 1000)
    expect(pace.read(300, 1000)).toEqual({ pauseMs: 30, msPerKey: 0.3, first: true })
    expect(pace.read(5000, 1000)).toEqual({ pauseMs: 500, msPerKey: 5, first: false })
    expect(pace.read(20_000, 1000)).toEqual({ pauseMs: 1000, msPerKey: 20, first: false })
    expect(pace.read(20, 1000)).toBeUndefined()
    expect(pace.read(300, 1000)?.first).toBe(true)
  })

  it('reads of fewer than 500 keys are judged together with the next ones: one round trip for one key is no slowdown', () => {
    const pace = new SourcePace()
    pace.read(10, 1000)
    expect(pace.read(2, 1)).toBeUndefined() // 2 ms/key alone
    expect(pace.read(10, 999)).toBeUndefined() // (2 + 10) / 1000 keys
    // A slow source is still seen through short reads, once they add up to 500 keys.
    for (let i = 0; i < 4; i++) expect(pace.read(100, 100)).toBeUndefined()
    expect(pace.read(100, 100)).toEqual({ pauseMs: 100, msPerKey: 1, first: true })
  })

  it('a read is timed from its send, or from when the read before it was handled if later', () => {
    const now = vi.spyOn(performance, 'now')
    const pace = new SourcePace()
    now.mockReturnValue(100)
    pace.handled()
    now.mockReturnValue(130)
    expect(pace.took(50)).toBe(30) // sent at 50, queued behind a read handled at 100
    expect(pace.took(110)).toBe(20) // sent after that
  })
})
