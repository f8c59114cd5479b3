import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { runCli, type CliResult } from '../../helpers/cli.js'
import { startFakeAws, type FakeAws } from '../../helpers/fake-aws/index.js'
import { EMPTY_SHA256, parseToken, referencePresign } from '../../helpers/sigv4-reference.js'

/**
 * Every AWS-facing command, end to end: the built CLI, the real SDK clients, the fake AWS
 * endpoint (test/helpers/fake-aws) standing in for ElastiCache, MemoryDB, CloudWatch and S3.
 * Independent runs go in parallel to keep the file fast.
 */
const EC_CANONICAL_ID = '540804c33a284a299d2547575ce1010f2312ef3da9b3a053c8bc45bf233e4353'

// CLI runs queue behind each other: a test may wait for its run longer than the default timeout.
vi.setConfig({ testTimeout: 150_000 })

let fake: FakeAws
let tmp: string
// Two cores shared with other test files: at most three CLI processes at a time (more only thrash).
let active = 0
const waiting: (() => void)[] = []
async function limited<T>(fn: () => Promise<T>): Promise<T> {
  while (active >= 3) await new Promise<void>((resolve) => waiting.push(resolve))
  active++
  try {
    return await fn()
  } finally {
    active--
    waiting.shift()?.()
  }
}
const cli = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  limited(() => runCli(args, { env: fake.env(env), timeoutMs: 120_000 }))
/** The NDJSON progress events a --json run wrote on stderr. */
const ndjson = (r: CliResult) =>
  r.stderr
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown> & { type: string })
const amzDate = (d: string) =>
  Date.parse(d.replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, '$1-$2-$3T$4:$5:$6Z'))

/**
 * Every CLI run is started at once in beforeAll (CLI start-up dominates; the runs do not depend
 * on each other, and injected errors match one resource each); each test awaits its own runs.
 */
const runs: Record<string, Promise<CliResult>> = {}

beforeAll(async () => {
  fake = await startFakeAws({ delays: { snapshot: 300, export: 300, modify: 300, create: 300 } })
  const s = fake.state
  s.addReplicationGroup({ id: 'orders', shards: 2, replicas: 1, clusterMode: true })
  s.addReplicationGroup({ id: 'legacy', clusterMode: false, replicas: 1, tls: false, authToken: true })
  s.addMemoryDBCluster({ name: 'sessions', shards: 2, replicas: 1 })
  s.addServerlessCache({ name: 'sless' })
  s.addBucket({ name: 'exports', grantCanonicalId: EC_CANONICAL_ID })
  s.addBucket({ name: 'noacl' })
  s.addBucket({
    name: 'mdb-exports',
    policy: {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Service: 'us-east-1.memorydb-snapshot.amazonaws.com' },
          Action: [
            's3:PutObject',
            's3:GetObject',
            's3:ListBucket',
            's3:GetBucketAcl',
            's3:ListMultipartUploadParts',
            's3:ListBucketMultipartUploads',
          ],
          Resource: ['arn:aws:s3:::mdb-exports', 'arn:aws:s3:::mdb-exports/*'],
        },
      ],
    },
  })
  const shards = (n: number) =>
    Array.from({ length: n }, (_, i) => ({
      id: String(i + 1).padStart(4, '0'),
      sizeBytes: 1 << 20,
      createdAt: new Date(),
    }))
  for (const name of ['ready-a', 'ready-b', 'ready-c']) {
    s.addSnapshot({
      service: 'elasticache',
      name,
      status: 'available',
      source: 'orders',
      sourceKind: 'replication-group',
      origin: 'manual',
      shards: shards(2),
    })
  }
  s.addSnapshot({
    service: 'memorydb',
    name: 'm-ready',
    status: 'available',
    source: 'sessions',
    sourceKind: 'cluster',
    origin: 'automated',
    shards: shards(2),
  })

  // Injected failures, each for one run only.
  fake.throttle('elasticache', 'CreateSnapshot', 2, (p) => p.SnapshotName === 'e2e-1')
  fake.inject({
    service: 'memorydb',
    operation: 'CreateSnapshot',
    code: 'InvalidParameterValueException',
    message: 'Snapshot name e2e-bad is reserved by a pending operation',
    match: (p) => p.SnapshotName === 'e2e-bad',
  })
  s.snapshotFailures.set('doomed', 'Not enough free memory on node legacy-002 for BGSAVE')
  s.exportFailures.set(
    'ready-c',
    'ElastiCache has not been granted WRITE permissions exports on the S3 Bucket.',
  )
  fake.deny('elasticache', 'DescribeServerlessCaches')

  tmp = mkdtempSync(join(tmpdir(), 'kvtop-aws-'))
  writeFileSync(
    join(tmp, 'credentials'),
    '[ops]\naws_access_key_id = AKIAPROFILEOPS000001\naws_secret_access_key = profile/secret/ops+000\n',
  )
  writeFileSync(join(tmp, 'config'), '[profile ops]\nregion = eu-west-1\n')
  const profileEnv = {
    AWS_ACCESS_KEY_ID: '',
    AWS_SECRET_ACCESS_KEY: '',
    AWS_REGION: '',
    AWS_SHARED_CREDENTIALS_FILE: join(tmp, 'credentials'),
    AWS_CONFIG_FILE: join(tmp, 'config'),
  }
  const wait = ['--poll-interval', '0.05']
  // discover first: the snapshot runs below turn 'orders' to 'snapshotting', which discover warns about.
  runs.discover = cli(['discover', '--elasticache', 'orders', '--aws-only', '--json'])
  await runs.discover
  runs.createText = cli(['snapshot', 'aws', 'create', '--elasticache', 'orders', '--name', 'e2e-1', ...wait])
  runs.createJson = cli([
    'snapshot',
    'aws',
    'create',
    '--memorydb',
    'sessions',
    '--name',
    'e2e-m',
    ...wait,
    '--json',
  ])
  runs.apiError = cli(['snapshot', 'aws', 'create', '--memorydb', 'sessions', '--name', 'e2e-bad', ...wait])
  runs.failed = cli(['snapshot', 'aws', 'create', '--elasticache', 'legacy', '--name', 'doomed', ...wait])
  runs.denied = cli(['discover', '--serverless', 'sless', '--aws-only'])
  runs.noCreds = cli(['snapshot', 'aws', 'list'], { AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' })
  runs.exportNoAcl = cli(['snapshot', 'aws', 'export', '--name', 'ready-a', '--bucket', 'noacl', ...wait])
  runs.exportJson = cli([
    'snapshot',
    'aws',
    'export',
    '--name',
    'ready-b',
    '--bucket',
    'exports',
    '--prefix',
    'orders-0601',
    ...wait,
    '--json',
  ])
  runs.exportMdb = cli(['snapshot', 'aws', 'export', '--name', 'm-ready', '--bucket', 'mdb-exports', ...wait])
  runs.exportFailed = cli([
    'snapshot',
    'aws',
    'export',
    '--name',
    'ready-c',
    '--bucket',
    'exports',
    '--skip-bucket-check',
    ...wait,
  ])
  runs.list = cli(['snapshot', 'aws', 'list', '--json'])
  runs.tokenText = cli(['auth', 'token', '--elasticache', 'orders', '--user', 'app'])
  runs.tokenProfile = cli(
    ['auth', 'token', '--serverless', 'sless', '--user', 'app', '--aws-profile', 'ops', '--json'],
    profileEnv,
  )
})

afterAll(async () => {
  // Let every started run finish before the fake goes away (runs resolve, never reject).
  await Promise.all(Object.values(runs))
  await fake?.close()
  if (tmp) rmSync(tmp, { recursive: true, force: true })
})

describe('kvtop discover --elasticache', () => {
  it('gives endpoints, TLS and auth settings, shards, nodes and CloudWatch identities from AWS', async () => {
    const r = await runs.discover
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const o = JSON.parse(r.stdout)
    expect(o.endpoint).toBe('rediss://clustercfg.orders.abc123.use1.cache.amazonaws.com:6379')
    expect(o.aws).toMatchObject({
      service: 'elasticache',
      kind: 'replication-group',
      clusterMode: true,
      tls: true,
      engine: 'valkey',
      engineVersion: '7.2.6',
    })
    expect(o.aws.shards.map((x: { id: string; slots: string }) => [x.id, x.slots])).toEqual([
      ['0001', '0-8191'],
      ['0002', '8192-16383'],
    ])
    expect(o.aws.cloudwatch.namespace).toBe('AWS/ElastiCache')
    expect(o.aws.cloudwatch.nodes.map((n: { dimensions: object }) => n.dimensions)).toEqual([
      { CacheClusterId: 'orders-0001-001', CacheNodeId: '0001' },
      { CacheClusterId: 'orders-0001-002', CacheNodeId: '0001' },
      { CacheClusterId: 'orders-0002-001', CacheNodeId: '0001' },
      { CacheClusterId: 'orders-0002-002', CacheNodeId: '0001' },
    ])
  })
})

describe('kvtop snapshot aws create', () => {
  it('waits creating -> available printing elapsed times, after retrying injected throttling', async () => {
    const r = await runs.createText
    expect(r.code).toBe(0)
    expect(
      r.stderr.match(
        /AWS ElastiCache throttled the request \(Throttling\); retrying in \d+\.\ds \(attempt [23] of 8\)/g,
      ),
    ).toHaveLength(2)
    expect(r.stderr).toMatch(/\[ 0:00\] snapshot e2e-1: creating\n/)
    expect(r.stderr).toMatch(/\[ 0:0\d\] snapshot e2e-1: creating -> available\n/)
    expect(r.stdout).toContain('Snapshot:  e2e-1 (ElastiCache), available')
    expect(r.stdout).toContain('Shards:    2')
    const creates = fake
      .calls('elasticache', 'CreateSnapshot')
      .filter((c) => c.params.SnapshotName === 'e2e-1')
    expect(creates.map((c) => c.status)).toEqual([400, 400, 200])
    expect(creates[2].params).toMatchObject({ ReplicationGroupId: 'orders', SnapshotName: 'e2e-1' })
    expect(fake.state.snapshots.get('e2e-1')!.status).toBe('available')
  })

  it('--json: a phase event per status change on stderr, one result document on stdout', async () => {
    const r = await runs.createJson
    expect(r.code).toBe(0)
    const events = ndjson(r)
    expect(events.map((e) => [e.type, e.status])).toEqual([
      ['phase', 'creating'],
      ['phase', 'available'],
    ])
    for (const e of events) expect(typeof e.at).toBe('number')
    expect(events[1]).toMatchObject({ from: 'creating', resource: 'snapshot e2e-m' })
    expect(events[1].elapsedMs as number).toBeGreaterThanOrEqual(100)
    expect(JSON.parse(r.stdout)).toMatchObject({
      snapshot: { service: 'memorydb', name: 'e2e-m', status: 'available', source: 'sessions', shards: 2 },
    })
  })

  it("an injected API error exits 4 with AWS's message", async () => {
    const r = await runs.apiError
    expect(r.code).toBe(4)
    expect(r.stderr).toContain(
      "Error: MemoryDB CreateSnapshot failed for MemoryDB cluster 'sessions': InvalidParameterValueException: Snapshot name e2e-bad is reserved by a pending operation",
    )
  })

  it("a snapshot that fails exits 4 with the reason from AWS's event log", async () => {
    const r = await runs.failed
    expect(r.code).toBe(4)
    expect(r.stderr).toMatch(/snapshot doomed: creating -> failed/)
    expect(r.stderr).toMatch(
      /Error: snapshot doomed of ElastiCache replication group 'legacy' failed after 0:0\d: Snapshot doomed failed: Not enough free memory on node legacy-002 for BGSAVE/,
    )
  })
})

describe('AWS errors at the CLI', () => {
  it('access denied: exit 4 with the IAM message and the action to grant', async () => {
    const r = await runs.denied
    expect(r.code).toBe(4)
    expect(r.stderr).toContain(
      "Error: access denied: ElastiCache DescribeServerlessCaches on serverless cache 'sless' in us-east-1: User: arn:aws:iam::123456789012:user/kvtop-test is not authorized to perform: elasticache:DescribeServerlessCaches",
    )
    expect(r.stderr).toContain('needs elasticache:DescribeServerlessCaches')
  })

  it('no credentials: exit 4 saying where credentials come from', async () => {
    const r = await runs.noCreds
    expect(r.code).toBe(4)
    expect(r.stderr).toContain('Error: no AWS credentials found for ElastiCache DescribeSnapshots')
    expect(r.stderr).toContain('--aws-profile')
  })
})

describe('kvtop snapshot aws export', () => {
  it('refuses a bucket without the grant, explaining it and naming the keys; ElastiCache is not called', async () => {
    const r = await runs.exportNoAcl
    expect(r.code).toBe(4)
    expect(r.stderr).toContain(
      'Objects ElastiCache will write (one .rdb per shard):\n  s3://noacl/ready-a-0001.rdb\n  s3://noacl/ready-a-0002.rdb',
    )
    expect(r.stderr).toContain(
      "Error: ElastiCache cannot export to S3 bucket 'noacl': its ACL does not grant ElastiCache's canonical user List objects (READ), Write objects (WRITE), Read bucket permissions (READ_ACP)",
    )
    expect(r.stderr).toContain(`grantee canonical ID ${EC_CANONICAL_ID}`)
    expect(r.stderr).toContain(`--grant-read-acp id=${EC_CANONICAL_ID}`)
    expect(fake.calls('elasticache', 'CopySnapshot').map((c) => c.params.TargetBucket)).not.toContain('noacl')
  })

  it('exports with --json: plan and check events and phases on stderr; the verified object URIs on stdout', async () => {
    const r = await runs.exportJson
    expect(r.code).toBe(0)
    const events = ndjson(r)
    expect(events[0]).toMatchObject({
      type: 'plan',
      bucket: 'exports',
      snapshot: 'ready-b',
      keys: ['orders-0601-0001.rdb', 'orders-0601-0002.rdb'],
    })
    expect(events[1]).toMatchObject({
      type: 'check',
      permission: 'verified',
      grant: { kind: 'acl', canonicalId: EC_CANONICAL_ID },
    })
    expect(events.filter((e) => e.type === 'phase').map((e) => e.status)).toEqual(['exporting', 'available'])
    expect(JSON.parse(r.stdout)).toMatchObject({
      verified: true,
      uris: ['s3://exports/orders-0601-0001.rdb', 's3://exports/orders-0601-0002.rdb'],
    })
    expect([...fake.state.buckets.get('exports')!.objects.keys()]).toEqual(
      expect.arrayContaining(['orders-0601-0001.rdb', 'orders-0601-0002.rdb']),
    )
    expect(
      fake.calls('elasticache', 'CopySnapshot').find((c) => c.params.SourceSnapshotName === 'ready-b')!
        .params,
    ).toMatchObject({
      TargetSnapshotName: 'orders-0601',
      TargetBucket: 'exports',
    })
  })

  it('exports a MemoryDB snapshot to a bucket whose policy allows the MemoryDB principal', async () => {
    const r = await runs.exportMdb
    expect(r.code).toBe(0)
    expect(r.stderr).toContain(
      'Bucket permission: verified (policy allows us-east-1.memorydb-snapshot.amazonaws.com)',
    )
    expect(r.stderr).toContain('export of m-ready to s3://mdb-exports: copying -> available')
    expect(r.stdout).toContain('s3://mdb-exports/m-ready-0002.rdb')
    expect([...fake.state.buckets.get('mdb-exports')!.objects.keys()]).toEqual([
      'm-ready-0001.rdb',
      'm-ready-0002.rdb',
    ])
  })

  it('an export that fails at AWS exits 4 with the message from the event log', async () => {
    const r = await runs.exportFailed
    expect(r.code).toBe(4)
    expect(r.stderr).toContain('Bucket check skipped. What ElastiCache needs:')
    expect(r.stderr).toContain(
      'Error: ElastiCache could not export snapshot ready-c to s3://exports: Failed to export snapshot ready-c to S3 bucket exports: ElastiCache has not been granted WRITE permissions exports on the S3 Bucket.',
    )
  })
})

describe('kvtop snapshot aws list', () => {
  it('lists both services', async () => {
    const r = await runs.list
    expect(r.code).toBe(0)
    const doc = JSON.parse(r.stdout) as {
      snapshots: { service: string; name: string; status: string; origin: string }[]
      skipped: unknown[]
    }
    expect(doc.skipped).toEqual([])
    expect(doc.snapshots).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          service: 'memorydb',
          name: 'm-ready',
          origin: 'automated',
          source: 'sessions',
        }),
        expect.objectContaining({
          service: 'elasticache',
          name: 'ready-a',
          origin: 'manual',
          source: 'orders',
        }),
      ]),
    )
  })
})

describe('kvtop auth token', () => {
  it('prints a token that verifies as SigV4 for the credentials in use', async () => {
    const r = await runs.tokenText
    expect(r.code).toBe(0)
    expect(r.stderr).toBe('')
    const t = parseToken(r.stdout.trim())
    expect(t.host).toBe('orders')
    const ref = referencePresign({
      host: 'orders',
      path: '/',
      query: { Action: 'connect', User: 'app' },
      service: 'elasticache',
      region: 'us-east-1',
      accessKeyId: fake.accessKeyId,
      secretAccessKey: fake.secretAccessKey,
      date: t.query['X-Amz-Date'],
      expires: 900,
      payloadHash: EMPTY_SHA256,
    })
    expect(t.query).toEqual({ ...ref.query, 'X-Amz-Signature': ref.signature })
    expect(Math.abs(Date.now() - amzDate(t.query['X-Amz-Date']))).toBeLessThan(120_000)
  })

  it("--aws-profile takes that profile's credentials and region; --json prints the token unredacted", async () => {
    const r = await runs.tokenProfile
    expect(r.code).toBe(0)
    const doc = JSON.parse(r.stdout)
    expect(doc).toMatchObject({
      user: 'app',
      resource: 'sless',
      service: 'elasticache',
      serverless: true,
      region: 'eu-west-1',
    })
    const t = parseToken(doc.token)
    expect(t.query.ResourceType).toBe('ServerlessCache')
    expect(t.query['X-Amz-Credential']).toMatch(
      /^AKIAPROFILEOPS000001\/\d{8}\/eu-west-1\/elasticache\/aws4_request$/,
    )
    expect(t.query['X-Amz-Signature']).toMatch(/^[0-9a-f]{64}$/)
    expect(doc.expiresAt - amzDate(t.query['X-Amz-Date'])).toBe(900_000)
    expect(r.stdout + r.stderr).not.toContain('profile/secret/ops')
  })
})
