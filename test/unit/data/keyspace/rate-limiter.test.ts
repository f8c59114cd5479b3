import { describe, expect, it } from 'vitest'
import { RateLimiter } from '../../../../src/data/keyspace/rate-limiter.js'

describe('RateLimiter', () => {
  it('spaces operations to the rate and lets unlimited through', () => {
    let t = 0
    const r = new RateLimiter(1000, () => t)
    expect(r.delayFor(100)).toBe(0) // the burst
    expect(r.delayFor(100)).toBeGreaterThan(0)
    t += 100
    expect(r.delayFor(100)).toBe(0)
    t += 10
    expect(r.delayFor(100)).toBe(90)
    expect(new RateLimiter(undefined).delayFor(1e9)).toBe(0)
  })
})
