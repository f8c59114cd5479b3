import { describe, expect, it } from 'vitest'
import { toAwsError, unlessNotFound } from '../../../src/aws/errors.js'
import { ExitCode } from '../../../src/errors.js'
import { sdkError } from './sdk-error.js'

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

describe('unlessNotFound', () => {
  it('the answer, undefined when AWS says the resource does not exist (SDK fault or mapped), any other failure thrown', async () => {
    expect(await unlessNotFound(Promise.resolve({ Snapshots: [] }))).toEqual({ Snapshots: [] })
    const missing = sdkError('SnapshotNotFoundFault', 'Snapshot nightly not found.', 404)
    expect(await unlessNotFound(Promise.reject(missing))).toBeUndefined()
    const ctx = { service: 'ElastiCache' as const, operation: 'DescribeSnapshots', region: 'us-east-1' }
    expect(await unlessNotFound(Promise.reject(toAwsError(missing, ctx)))).toBeUndefined()
    const denied = sdkError('AccessDeniedException', 'not authorized', 403)
    await expect(unlessNotFound(Promise.reject(denied))).rejects.toBe(denied)
  })
})
