import { describe, expect, it, vi } from 'vitest'
import { formatElapsed, formatPhase, waitFor, type StatusChangeEvent } from '../../../src/aws/waiter.js'
import { OperationError } from '../../../src/errors.js'

describe('waitFor', () => {
  function clock(statuses: string[]) {
    let t = 1_000_000
    let i = 0
    return {
      now: () => t,
      sleep: async (ms: number) => {
        t += ms
      },
      describe: async () => statuses[Math.min(i++, statuses.length - 1)],
    }
  }

  it('reports each status change once, with the time since the wait began', async () => {
    const c = clock(['creating', 'creating', 'creating', 'available'])
    const phases: StatusChangeEvent[] = []
    const r = await waitFor(
      {
        resource: 'snapshot s',
        describe: c.describe,
        status: (s) => s,
        done: (s) => s === 'available',
        failed: (s) => s === 'failed',
      },
      { intervalMs: 15_000, timeoutMs: 600_000, onPhase: (e) => phases.push(e), now: c.now, sleep: c.sleep },
    )
    expect(r).toMatchObject({ status: 'available', failed: false, elapsedMs: 45_000 })
    expect(phases).toEqual([
      { type: 'phase', at: 1_000_000, resource: 'snapshot s', status: 'creating', elapsedMs: 0 },
      {
        type: 'phase',
        at: 1_045_000,
        resource: 'snapshot s',
        status: 'available',
        from: 'creating',
        elapsedMs: 45_000,
      },
    ])
    expect(formatPhase(phases[1])).toBe('  [ 0:45] snapshot s: creating -> available')
  })

  it('ends on a failed status without waiting further', async () => {
    const c = clock(['creating', 'failed'])
    const r = await waitFor(
      {
        resource: 's',
        describe: c.describe,
        status: (s) => s,
        done: (s) => s === 'available',
        failed: (s) => s === 'failed',
      },
      { intervalMs: 10, timeoutMs: 1000, now: c.now, sleep: c.sleep },
    )
    expect(r).toMatchObject({ status: 'failed', failed: true })
  })

  it('times out with a resumable OperationError (exit 5) that says how to pick up again', async () => {
    const c = clock(['creating'])
    const sleep = vi.fn(c.sleep)
    const err = await waitFor(
      {
        resource: 'snapshot s',
        describe: c.describe,
        status: (s) => s,
        done: () => false,
        resumeHint: 'run it again',
      },
      { intervalMs: 20_000, timeoutMs: 50_000, now: c.now, sleep },
    ).catch((e) => e)
    expect(err).toBeInstanceOf(OperationError)
    expect(err.exitCode).toBe(5)
    expect(err.resumable).toBe(true)
    expect(err.message).toBe("gave up waiting for snapshot s after 0:50: still 'creating'")
    expect(err.hint).toBe('run it again')
    // The last sleep is cut short so that the timeout is not overshot.
    expect(sleep.mock.calls.map((a) => a[0])).toEqual([20_000, 20_000, 10_000])
  })

  it('formats elapsed time', () => {
    expect([0, 7_400, 754_000, 3_723_000].map(formatElapsed)).toEqual(['0:00', '0:07', '12:34', '1:02:03'])
  })
})
