import { describe, expect, it } from 'vitest'
import { redact } from '../../src/redact.js'

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
    const { formatAwsDeployment, formatExportPlan } = await import('../../src/aws/format.js')
    const { explainGrant } = await import('../../src/aws/export-check.js')
    const { explainIamFailure } = await import('../../src/connect/iam.js')
    const { ConnectError } = await import('../../src/errors.js')
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
