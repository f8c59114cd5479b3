import {
  DescribeReplicationGroupsCommand,
  DescribeCacheClustersCommand,
  ElastiCacheClient,
} from '@aws-sdk/client-elasticache'
import { mockClient } from 'aws-sdk-client-mock'
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { awsTargetFromFlags } from '../../../src/aws/target.js'
import { connectionInputWithAws, usesAws } from '../../../src/aws/flags.js'
import { resolveConnectionSpec } from '../../../src/connect/options.js'
import { noSources } from '../connect/no-sources.js'

const ec = mockClient(ElastiCacheClient)
afterAll(() => ec.restore())
beforeEach(() => {
  ec.reset()
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDUNITTEST')
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'unit/test/secret')
  vi.stubEnv('AWS_REGION', 'us-east-1')
  vi.stubEnv('AWS_PROFILE', '')
  vi.stubEnv('AWS_CONFIG_FILE', '/nonexistent/aws-config')
  vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', '/nonexistent/aws-credentials')
})
afterEach(() => vi.unstubAllEnvs())

describe('AWS flags', () => {
  it('one target at most; names are validated before they reach a URL', () => {
    expect(awsTargetFromFlags({ memorydb: 'sessions' })).toEqual({ kind: 'memorydb', name: 'sessions' })
    expect(awsTargetFromFlags({})).toBeUndefined()
    expect(() => awsTargetFromFlags({ elasticache: 'a', memorydb: 'b' })).toThrow(/both name a deployment/)
    expect(() => awsTargetFromFlags({ elasticache: 'a/b?c' })).toThrow(/invalid --elasticache/)
    expect(usesAws({ iam: true })).toBe(true)
    expect(usesAws({ region: 'us-east-1' })).toBe(false)
  })

  it('without AWS flags it is plain connectionInput(); --region alone is a usage error', async () => {
    const r = await connectionInputWithAws('redis://h:1', { user: 'u' })
    expect(r.input).toMatchObject({ url: 'redis://h:1', user: 'u' })
    expect(r.aws).toBeUndefined()
    await expect(connectionInputWithAws('redis://h:1', { region: 'us-east-1' })).rejects.toThrow(
      /--region and --aws-profile apply with/,
    )
  })
})

describe('--elasticache in place of a URL, and --iam', () => {
  const rg = {
    ReplicationGroupId: 'orders',
    Status: 'available',
    ClusterEnabled: true,
    TransitEncryptionEnabled: true,
    ConfigurationEndpoint: { Address: 'clustercfg.orders.abc.use1.cache.amazonaws.com', Port: 6379 },
    MemberClusters: [],
    NodeGroups: [],
  }

  it('the endpoint AWS reports becomes the URL (rediss:// for TLS)', async () => {
    ec.on(DescribeReplicationGroupsCommand).resolves({ ReplicationGroups: [rg] })
    const r = await connectionInputWithAws(undefined, { elasticache: 'orders' })
    try {
      expect(r.input.url).toBe('rediss://clustercfg.orders.abc.use1.cache.amazonaws.com:6379')
      expect(r.aws?.name).toBe('orders')
      expect(r.input.iam).toBeUndefined()
    } finally {
      r.close()
    }
  })

  it('--iam: a token provider for the replication group and user, valid as the connection password', async () => {
    ec.on(DescribeReplicationGroupsCommand).resolves({ ReplicationGroups: [rg] })
    ec.on(DescribeCacheClustersCommand).resolves({ CacheClusters: [] })
    const r = await connectionInputWithAws(undefined, { elasticache: 'orders', iam: true, user: 'app' })
    try {
      const token = r.input.iam!.current()
      expect(token).toMatch(
        /^orders\/\?Action=connect&User=app&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDUNITTEST%2F\d{8}%2Fus-east-1%2Felasticache%2Faws4_request/,
      )
      const spec = resolveConnectionSpec(r.input, {}, noSources)
      expect(spec.endpoint).toMatchObject({ tls: true, username: 'app', password: token })
      expect(spec.iam).toBe(r.input.iam)
    } finally {
      r.close()
    }
  })

  it('--iam refuses a group without in-transit encryption, and needs a user', async () => {
    ec.on(DescribeReplicationGroupsCommand).resolves({
      ReplicationGroups: [{ ...rg, TransitEncryptionEnabled: false }],
    })
    await expect(
      connectionInputWithAws(undefined, { elasticache: 'orders', iam: true, user: 'app' }),
    ).rejects.toThrow(/in-transit encryption disabled: IAM authentication requires TLS/)
    await expect(
      connectionInputWithAws('rediss://master.orders.abc.use1.cache.amazonaws.com', { iam: true }),
    ).rejects.toThrow(/--iam needs the IAM-enabled user/)
  })

  it('a URL and --elasticache: connect to the URL; AWS is described when allowed, skipped with a notice when denied', async () => {
    ec.on(DescribeReplicationGroupsCommand).resolves({ ReplicationGroups: [rg] })
    ec.on(DescribeCacheClustersCommand).resolves({ CacheClusters: [] })
    const r = await connectionInputWithAws('rediss://10.0.0.5:6379', { elasticache: 'orders' })
    r.close()
    expect(r.input.url).toBe('rediss://10.0.0.5:6379')
    expect(r.aws?.cloudwatch.nodes).toEqual([])
    ec.reset()
    ec.on(DescribeReplicationGroupsCommand).rejects(
      Object.assign(new Error('not authorized'), {
        name: 'AccessDenied',
        $metadata: { httpStatusCode: 403 },
      }),
    )
    const notices: string[] = []
    const r2 = await connectionInputWithAws(
      'rediss://10.0.0.5:6379',
      { elasticache: 'orders', iam: true, user: 'app' },
      { onNotice: (m) => notices.push(m) },
    )
    r2.close()
    expect(r2.aws).toBeUndefined()
    expect(r2.input.iam!.current()).toMatch(/^orders\/\?Action=connect&User=app&/)
    expect(notices[0]).toMatch(/^not described at AWS \(access denied: ElastiCache DescribeReplicationGroups/)
  })

  it('--iam with a URL: the resource comes from the endpoint name, no AWS call', async () => {
    const r = await connectionInputWithAws(
      'rediss://app@clustercfg.sessions.xyz.memorydb.eu-west-1.amazonaws.com:6379',
      { iam: true },
    )
    try {
      expect(r.input.iam!.current()).toMatch(
        /^sessions\/\?Action=connect&User=app&.*%2Feu-west-1%2Fmemorydb%2Faws4_request/,
      )
      expect(ec.calls()).toHaveLength(0)
    } finally {
      r.close()
    }
    await expect(connectionInputWithAws('rediss://u@10.0.0.1:6379', { iam: true })).rejects.toThrow(
      /the endpoint's name does not say/,
    )
    await expect(
      connectionInputWithAws('redis://u@master.orders.abc.use1.cache.amazonaws.com', { iam: true }),
    ).rejects.toThrow(/requires TLS/)
  })
})

describe('a kvtop profile naming an AWS deployment', () => {
  it('--profile with elasticache and region (and no url) is looked up at AWS, keeping the profile user', async () => {
    const { mkdtempSync, mkdirSync, writeFileSync, rmSync } = await import('node:fs')
    const { tmpdir } = await import('node:os')
    const { join } = await import('node:path')
    const home = mkdtempSync(join(tmpdir(), 'kvtop-profile-'))
    try {
      mkdirSync(join(home, 'kvtop'))
      writeFileSync(
        join(home, 'kvtop', 'config.json'),
        JSON.stringify({ profiles: { prod: { elasticache: 'orders', region: 'eu-west-1', user: 'app' } } }),
      )
      vi.stubEnv('XDG_CONFIG_HOME', home)
      ec.on(DescribeReplicationGroupsCommand, { ReplicationGroupId: 'orders' }).resolves({
        ReplicationGroups: [
          {
            ReplicationGroupId: 'orders',
            ClusterEnabled: true,
            TransitEncryptionEnabled: true,
            ConfigurationEndpoint: { Address: 'clustercfg.orders.abc.euw1.cache.amazonaws.com', Port: 6379 },
          },
        ],
      })
      const r = await connectionInputWithAws(undefined, { profile: 'prod' })
      r.close()
      expect(r.aws).toMatchObject({ name: 'orders', region: 'eu-west-1' })
      expect(r.input).toMatchObject({
        url: 'rediss://clustercfg.orders.abc.euw1.cache.amazonaws.com:6379',
        profile: 'prod',
      })
      expect(
        resolveConnectionSpec(r.input, {}, { profile: () => ({ user: 'app' }), sandbox: () => undefined })
          .endpoint.username,
      ).toBe('app')
    } finally {
      rmSync(home, { recursive: true, force: true })
    }
  })
})
