import { describe, expect, it, vi } from 'vitest'
import { toAwsError } from '../../../src/aws/errors.js'
import {
  BackoffRetryStrategy,
  backoffDelay,
  formatRetryNotice,
  retryConfigFromEnv,
  type RetryNotice,
} from '../../../src/aws/retry.js'
import { formatElapsed, formatPhase, waitFor, type StatusChangeEvent } from '../../../src/aws/waiter.js'
import { ExitCode, OperationError } from '../../../src/errors.js'
import { redact } from '../../../src/redact.js'

const sdkError = (name: string, message: string, status?: number, extra: object = {}) =>
  Object.assign(new Error(message), {
    name,
    $metadata: { httpStatusCode: status, requestId: 'req-123' },
    ...extra,
  })

describe('AWS error mapping (exit 4, resource named, AWS message kept)', () => {
  const ctx = {
    service: 'ElastiCache' as const,
    operation: 'DescribeReplicationGroups',
    resource: "replication group 'orders'",
    region: 'us-east-1',
  }

  it('missing credentials', () => {
    const e = toAwsError(
      Object.assign(new Error('Could not load credentials from any providers'), {
        name: 'CredentialsProviderError',
      }),
      ctx,
    )
    expect(e.exitCode).toBe(ExitCode.aws)
    expect(e.code).toBe('aws-credentials')
    expect(e.message).toBe(
      "no AWS credentials found for ElastiCache DescribeReplicationGroups on replication group 'orders'",
    )
    expect(e.hint).toMatch(/AWS_ACCESS_KEY_ID.*--aws-profile.*aws sso login/)
  })

  it('access denied names the action to grant', () => {
    const e = toAwsError(
      sdkError(
        'AccessDenied',
        'User: arn:aws:iam::1:user/x is not authorized to perform: elasticache:DescribeReplicationGroups',
        403,
      ),
      ctx,
    )
    expect(e.code).toBe('aws-access-denied')
    expect(e.message).toBe(
      "access denied: ElastiCache DescribeReplicationGroups on replication group 'orders' in us-east-1: User: arn:aws:iam::1:user/x is not authorized to perform: elasticache:DescribeReplicationGroups",
    )
    expect(e.hint).toContain('elasticache:DescribeReplicationGroups')
    expect(e.hint).toContain('req-123')
  })

  it('not found', () => {
    const e = toAwsError(
      sdkError('ReplicationGroupNotFoundFault', 'ReplicationGroup orders not found.', 404),
      ctx,
    )
    expect(e.code).toBe('aws-not-found')
    expect(e.message).toBe(
      "replication group 'orders' not found in us-east-1: ReplicationGroup orders not found.",
    )
    expect(e.hint).toContain('--region')
  })

  it('rejected credentials, throttling after retries, unreachable endpoint, region', () => {
    expect(
      toAwsError(
        sdkError('InvalidClientTokenId', 'The security token included in the request is invalid.', 403),
        ctx,
      ).code,
    ).toBe('aws-credentials')
    const t = toAwsError(
      sdkError('Throttling', 'Rate exceeded', 400, { $metadata: { httpStatusCode: 400, attempts: 8 } }),
      ctx,
    )
    expect(t.code).toBe('aws-throttled')
    expect(t.message).toBe(
      'AWS ElastiCache kept throttling DescribeReplicationGroups after 8 attempts: Rate exceeded',
    )
    const net = toAwsError(
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }),
      ctx,
    )
    expect(net.code).toBe('aws-unreachable')
    expect(net.hint).toContain('AWS_ENDPOINT_URL_ELASTICACHE')
    expect(toAwsError(new Error('Region is missing'), ctx).code).toBe('aws-region')
  })

  it("any other service error keeps AWS's code and message", () => {
    const e = toAwsError(
      sdkError('InvalidParameterValue', 'The S3 bucket b is outside of the region.', 400),
      { ...ctx, operation: 'CopySnapshot' },
    )
    expect(e.exitCode).toBe(4)
    expect(e.message).toBe(
      "ElastiCache CopySnapshot failed for replication group 'orders': InvalidParameterValue: The S3 bucket b is outside of the region.",
    )
  })
})

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

describe('redaction of what the AWS layer handles', () => {
  it('masks presigned-URL signatures and credentials in any printed text', () => {
    const text =
      'token orders/?Action=connect&User=u&X-Amz-Credential=AKID%2F2024&X-Amz-Signature=abcdef0123&X-Amz-Security-Token=FwoG'
    const out = redact(text)
    expect(out).not.toContain('abcdef0123')
    expect(out).not.toContain('AKID%2F2024')
    expect(out).not.toContain('FwoG')
  })
})

describe('printed AWS text survives redaction intact', () => {
  it('discovery, export plans and IAM hints contain nothing the redactor would mask', async () => {
    const { formatAwsDeployment, formatExportPlan } = await import('../../../src/aws/format.js')
    const { explainGrant } = await import('../../../src/aws/export-check.js')
    const { explainIamFailure } = await import('../../../src/connect/iam.js')
    const { ConnectError } = await import('../../../src/errors.js')
    const texts = [
      formatAwsDeployment({
        service: 'elasticache',
        kind: 'replication-group',
        name: 'orders',
        region: 'us-east-1',
        clusterMode: false,
        tls: true,
        authTokenEnabled: true,
        userGroupIds: ['app-users'],
        url: 'rediss://master.orders.abc.use1.cache.amazonaws.com:6379',
        shards: [],
        cloudwatch: { namespace: 'AWS/ElastiCache', nodes: [] },
      }),
      formatAwsDeployment({
        service: 'memorydb',
        kind: 'cluster',
        name: 'sessions',
        region: 'us-east-1',
        clusterMode: true,
        tls: true,
        aclName: 'open-access',
        shards: [],
        cloudwatch: { namespace: 'AWS/MemoryDB', nodes: [] },
      }),
      formatExportPlan({
        snapshot: { service: 'elasticache', name: 's', status: 'available', shards: 2 },
        bucket: 'b',
        region: 'us-east-1',
        prefix: 's',
        keys: ['s-0001.rdb', 's-0002.rdb'],
      }),
      explainGrant('elasticache', 'b', 'us-east-1'),
      explainGrant('memorydb', 'b', 'eu-west-1'),
      explainIamFailure(new ConnectError('authentication failed at h:1', { code: 'auth-failed' })).message,
      explainIamFailure(new ConnectError('authentication failed at h:1', { code: 'auth-failed' })).hint!,
    ]
    for (const t of texts) expect(redact(t)).toBe(t)
    expect(texts[0]).toContain('Access:    password required (AuthToken); user groups app-users')
  })
})
