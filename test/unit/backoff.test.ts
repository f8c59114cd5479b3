import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { backoffDelay, retryWithBackoff } from '../../src/backoff.js'

const schedule = { firstMs: 1000, maxMs: 30_000 }

/** An attempt that fails `failures` times, then returns 'open'; records when each call started. */
function flaky(failures: number, started: number[]) {
  let calls = 0
  return async () => {
    started.push(Date.now())
    if (calls++ < failures) throw new Error(`refused ${calls}`)
    return 'open'
  }
}

describe('backoffDelay', () => {
  it('doubles from the first wait and stays at the cap', () => {
    expect(Array.from({ length: 8 }, (_, n) => backoffDelay(schedule, n))).toEqual([
      1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000,
    ])
    expect(Array.from({ length: 6 }, (_, n) => backoffDelay({ firstMs: 2000, maxMs: 30_000 }, n))).toEqual([
      2000, 4000, 8000, 16_000, 30_000, 30_000,
    ])
  })
})

describe('retryWithBackoff', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 })
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('tries at once, then waits the schedule between failures, and returns what succeeded', async () => {
    const started: number[] = []
    const failures: [string, number][] = []
    const result = retryWithBackoff(flaky(6, started), {
      ...schedule,
      onFailure: (err, retryInMs) => failures.push([(err as Error).message, retryInMs]),
    })
    await vi.advanceTimersByTimeAsync(120_000)
    await expect(result).resolves.toBe('open')
    expect(started).toEqual([0, 1000, 3000, 7000, 15_000, 31_000, 61_000])
    expect(failures).toEqual([
      ['refused 1', 1000],
      ['refused 2', 2000],
      ['refused 3', 4000],
      ['refused 4', 8000],
      ['refused 5', 16_000],
      ['refused 6', 30_000],
    ])
  })

  it('with waitFirst, waits the first delay before the first attempt and goes on from the second', async () => {
    const started: number[] = []
    const waits: number[] = []
    const result = retryWithBackoff(flaky(2, started), {
      firstMs: 2000,
      maxMs: 30_000,
      waitFirst: true,
      onFailure: (_err, retryInMs) => waits.push(retryInMs),
    })
    await vi.advanceTimersByTimeAsync(1999)
    expect(started).toEqual([])
    await vi.advanceTimersByTimeAsync(60_000)
    await expect(result).resolves.toBe('open')
    expect(started).toEqual([2000, 6000, 14_000])
    expect(waits).toEqual([4000, 8000])
  })

  it('an abort ends a wait at once: no further attempt, no failure reported, undefined', async () => {
    const started: number[] = []
    const failures: number[] = []
    const stop = new AbortController()
    const result = retryWithBackoff(flaky(100, started), {
      ...schedule,
      signal: stop.signal,
      onFailure: (_err, retryInMs) => failures.push(retryInMs),
    })
    await vi.advanceTimersByTimeAsync(3500)
    expect(started).toEqual([0, 1000, 3000])
    stop.abort()
    await expect(result).resolves.toBeUndefined()
    await vi.advanceTimersByTimeAsync(120_000)
    expect(started).toEqual([0, 1000, 3000])
    expect(failures).toEqual([1000, 2000, 4000])
    expect(vi.getTimerCount()).toBe(0)
  })

  it('a failure after the abort is not reported; a success after it is handed back to be closed', async () => {
    const stop = new AbortController()
    const failing = retryWithBackoff(
      async () => {
        stop.abort()
        throw new Error('refused')
      },
      { ...schedule, signal: stop.signal, onFailure: () => expect.fail('reported after abort') },
    )
    await expect(failing).resolves.toBeUndefined()

    const late = new AbortController()
    const opened = retryWithBackoff(
      async () => {
        late.abort()
        return 'feed'
      },
      { ...schedule, signal: late.signal },
    )
    await expect(opened).resolves.toBe('feed')
  })

  it('an aborted signal starts no attempt', async () => {
    const started: number[] = []
    const result = retryWithBackoff(flaky(0, started), { ...schedule, signal: AbortSignal.abort() })
    await expect(result).resolves.toBeUndefined()
    expect(started).toEqual([])
  })
})
