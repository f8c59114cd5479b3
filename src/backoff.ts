/** Trying again, ever more patiently, something that may come back: a deployment not reachable yet. */
import { wait } from './wait.js'

export interface BackoffSchedule {
  /** The first wait. */
  firstMs: number
  /** Waits double up to this one. */
  maxMs: number
}

/** The wait number `n` (from 0) of a schedule: `firstMs` doubling up to `maxMs`. */
export function backoffDelay(schedule: BackoffSchedule, n: number): number {
  return Math.min(schedule.firstMs * 2 ** n, schedule.maxMs)
}

interface RetryOptions extends BackoffSchedule {
  /** Stops the retries: no further attempt starts, a wait ends at once. */
  signal?: AbortSignal
  /** Wait `firstMs` before the first attempt too (for what has just failed elsewhere). */
  waitFirst?: boolean
  /** Each failure that will be retried, with the wait before the next attempt. */
  onFailure?(err: unknown, retryInMs: number): void
}

/**
 * Calls `attempt` until it succeeds, waiting between failures by the schedule; undefined once
 * `signal` aborts. What an attempt returns is handed back even when the signal aborted meanwhile,
 * so that the caller can close it.
 */
export async function retryWithBackoff<T>(
  attempt: () => Promise<T>,
  options: RetryOptions,
): Promise<T | undefined> {
  let waits = 0
  if (options.waitFirst) await wait(backoffDelay(options, waits++), options.signal)
  for (;;) {
    if (options.signal?.aborted) return undefined
    try {
      return await attempt()
    } catch (err) {
      if (options.signal?.aborted) return undefined
      const retryInMs = backoffDelay(options, waits++)
      options.onFailure?.(err, retryInMs)
      await wait(retryInMs, options.signal)
    }
  }
}
