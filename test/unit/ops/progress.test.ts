import { describe, expect, it } from 'vitest'
import { ProgressTracker } from '../../../src/ops/progress.js'

describe('ProgressTracker', () => {
  it('computes rate and ETA from a fake clock, smoothing between samples', () => {
    let t = 0
    const tracker = new ProgressTracker('shard-0', 'keys', 1000, () => t)
    t = 1000
    tracker.add(100, 4096)
    expect(tracker.snapshot()).toEqual({
      type: 'progress',
      task: 'shard-0',
      done: 100,
      total: 1000,
      unit: 'keys',
      bytes: 4096,
      rate: 100,
      etaSeconds: 9,
    })
    t = 2000
    tracker.add(300)
    // EWMA: 0.3 * 300 + 0.7 * 100 = 160 keys/s; 600 left -> 4 s.
    expect(tracker.snapshot()).toMatchObject({ done: 400, rate: 160, etaSeconds: 4 })
    tracker.addErrors(2)
    expect(tracker.snapshot('live')).toMatchObject({ errors: 2, detail: 'live' })
    expect(tracker.averageRate).toBe(200)
  })

  it('a finished task keeps its rate while idle, until it counts again', () => {
    let t = 0
    const tracker = new ProgressTracker('copy', 'keys', 1000, () => t)
    t = 1000
    tracker.add(600)
    expect(tracker.snapshot()).toMatchObject({ rate: 600 })
    t = 2000
    tracker.add(400)
    // 0.3 * 400 + 0.7 * 600 = 540 keys/s at the end.
    expect(tracker.snapshot()).toMatchObject({ done: 1000, rate: 540, etaSeconds: 0 })
    t = 10_000
    expect(tracker.snapshot()).toMatchObject({ done: 1000, rate: 540, etaSeconds: 0 })
    // More work found (a total raised): the rate moves again, with the idle time in it.
    tracker.total = 2000
    tracker.add(100)
    expect(tracker.snapshot().rate).toBeLessThan(540)
  })

  it('has no ETA without a total', () => {
    let t = 0
    const tracker = new ProgressTracker('replay', 'commands', undefined, () => t)
    t = 500
    tracker.add(50)
    expect(tracker.snapshot()).not.toHaveProperty('etaSeconds')
    expect(tracker.snapshot()).not.toHaveProperty('total')
  })
})
