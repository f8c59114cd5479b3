import { describe, expect, it } from 'vitest'
import {
  BackoffRetryStrategy,
  backoffDelay,
  formatRetryNotice,
  retryConfigFromEnv,
  type RetryNotice,
} from '../../../src/aws/retry.js'
import { sdkError } from './sdk-error.js'

describe('retry strategy', () => {
  const config = {
    maxAttempts: 5,
    transientMaxAttempts: 3,
    baseDelayMs: 100,
    maxDelayMs: 1000,
    random: () => 1,
  }

  it('full-jitter backoff doubles its ceiling per retry and is capped', () => {
    expect([1, 2, 3, 4, 5].map((r) => backoffDelay(r, 100, 1000, () => 1))).toEqual([
      100, 200, 400, 800, 1000,
    ])
    expect(backoffDelay(3, 100, 1000, () => 0.5)).toBe(200)
    expect(backoffDelay(3, 100, 1000, () => 0)).toBe(0)
  })

  it('throttling is retried until maxAttempts, with growing delays, each reported', async () => {
    const notices: RetryNotice[] = []
    const s = new BackoffRetryStrategy('ElastiCache', config, (n) => notices.push(n))
    let token = await s.acquireInitialRetryToken('')
    const info = { error: sdkError('Throttling', 'Rate exceeded', 400), errorType: 'THROTTLING' as const }
    const delays: number[] = []
    for (let i = 0; i < 4; i++) {
      token = await s.refreshRetryTokenForRetry(token, info)
      delays.push(token.getRetryDelay())
    }
    expect(delays).toEqual([100, 200, 400, 800])
    await expect(s.refreshRetryTokenForRetry(token, info)).rejects.toThrow()
    expect(notices.map((n) => n.attempt)).toEqual([2, 3, 4, 5])
    expect(notices[0]).toMatchObject({
      throttling: true,
      maxAttempts: 5,
      errorName: 'Throttling',
      service: 'ElastiCache',
    })
    expect(formatRetryNotice(notices[0])).toBe(
      'AWS ElastiCache throttled the request (Throttling); retrying in 0.1s (attempt 2 of 5)',
    )
  })

  it('ElastiCache APICallRateForCustomerExceeded counts as throttling', async () => {
    const s = new BackoffRetryStrategy('ElastiCache', config)
    const t = await s.refreshRetryTokenForRetry(await s.acquireInitialRetryToken(''), {
      error: sdkError('APICallRateForCustomerExceededFault', 'slow down', 400),
      errorType: 'CLIENT_ERROR',
    })
    expect(t.getRetryCount()).toBe(1)
  })

  it('client errors are not retried; transient ones a few times, faster', async () => {
    const s = new BackoffRetryStrategy('MemoryDB', config)
    const t0 = await s.acquireInitialRetryToken('')
    await expect(
      s.refreshRetryTokenForRetry(t0, {
        error: sdkError('ClusterNotFoundFault', 'x', 400),
        errorType: 'CLIENT_ERROR',
      }),
    ).rejects.toThrow()
    const transient = {
      error: Object.assign(new Error('reset'), { code: 'ECONNRESET' }),
      errorType: 'TRANSIENT' as const,
    }
    const t1 = await s.refreshRetryTokenForRetry(t0, transient)
    expect(t1.getRetryDelay()).toBe(20)
    const t2 = await s.refreshRetryTokenForRetry(t1, transient)
    await expect(s.refreshRetryTokenForRetry(t2, transient)).rejects.toThrow()
  })

  it('AWS_MAX_ATTEMPTS and KVTOP_AWS_RETRY_BASE_MS tune it', () => {
    expect(retryConfigFromEnv({})).toMatchObject({ maxAttempts: 8, baseDelayMs: 500 })
    expect(retryConfigFromEnv({ AWS_MAX_ATTEMPTS: '3', KVTOP_AWS_RETRY_BASE_MS: '20' })).toMatchObject({
      maxAttempts: 3,
      baseDelayMs: 20,
    })
    expect(retryConfigFromEnv({ AWS_MAX_ATTEMPTS: 'x' }).maxAttempts).toBe(8)
  })
})
