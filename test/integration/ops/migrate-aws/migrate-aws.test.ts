import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../../../helpers/cli.js'
import { hasScript, runCliInPty } from '../../../helpers/pty.js'
import { startFakeAws, type FakeAws } from '../../../helpers/fake-aws/index.js'
import { startSandbox, type TestSandbox } from '../../../helpers/sandbox.js'

/**
 * `kvtop migrate aws` end to end: the built CLI, the real SDK clients, the fake AWS endpoint for
 * ElastiCache, S3 and MemoryDB. The replication group's data plane is an elasticache-flavored
 * 2-shard sandbox; when CreateCluster is seeded from the exported objects, the fake "loads" the
 * snapshot into a memorydb-flavored 3-shard sandbox (DUMP/RESTORE of every key at that moment, as
 * AWS would from the .rdb files), which becomes the new cluster's endpoint.
 */
const EC_CANONICAL_ID = '540804c33a284a299d2547575ce1010f2312ef3da9b3a053c8bc45bf233e4353'
const KEYS = 3000

let fake: FakeAws
let source: TestSandbox
let target: TestSandbox
let dir: string

const primaries = (sb: TestSandbox) => sb.summary.nodes.filter((n) => n.role === 'primary')

/** What AWS does with the .rdb objects: every key of the source, as it is now, into the target. */
async function loadSnapshot(): Promise<void> {
  const from = await Promise.all(primaries(source).map((n) => source.admin(n.port)))
  const to = await Promise.all(primaries(target).map((n) => target.admin(n.port)))
  for (const conn of from) {
    let cursor = '0'
    do {
      const [next, keys] = (await conn.callBuffer('SCAN', cursor, 'COUNT', '500')) as [Buffer, Buffer[]]
      cursor = next.toString()
      for (const key of keys) {
        const [dump, ttl] = await Promise.all([conn.dumpBuffer(key), conn.pttl(key)])
        if (!dump) continue
        // The owner by trying: a MOVED reply names another node.
        for (const t of to) {
          try {
            await t.restore(key, Math.max(0, ttl), dump, 'REPLACE')
            break
          } catch (err) {
            if (!/^MOVED/.test((err as Error).message)) throw err
          }
        }
      }
    } while (cursor !== '0')
  }
}

async function seed(): Promise<void> {
  const conns = await Promise.all(primaries(source).map((n) => source.admin(n.port)))
  for (let i = 0; i < KEYS; i++) {
    const key = Buffer.concat([Buffer.from(`aws:${i}:`), Buffer.from([0x00, 0x0d, 0x0a, 0xff])])
    for (const c of conns) {
      try {
        await (i % 3 === 0 ? c.hset(key, 'f', Buffer.from([i & 0xff, 0])) : c.set(key, `v${i}`))
        break
      } catch (err) {
        if (!/^MOVED/.test((err as Error).message)) throw err
      }
    }
  }
}

const migrate = (args: string[]) =>
  runCli(['migrate', 'aws', ...args], { env: fake.env(), timeoutMs: 120_000 })
const requests = (operation: string) => fake.requests.filter((r) => r.operation === operation)

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kvtop-migrate-aws-'))
  ;[source, target] = await Promise.all([
    startSandbox({ shards: 2, replicas: 0, flavor: 'elasticache' }),
    startSandbox({ shards: 3, replicas: 0, flavor: 'memorydb' }),
  ])
  await seed()
  fake = await startFakeAws({ delays: { snapshot: 200, export: 200, create: 200 } })
  const s = fake.state
  const sourceNodes = primaries(source).map((n) => ({ host: '127.0.0.1', port: n.port }))
  s.addReplicationGroup({
    id: 'orders',
    shards: 2,
    replicas: 0,
    clusterMode: true,
    tls: false,
    endpoint: sourceNodes[0],
    nodeEndpoints: sourceNodes,
  })
  s.addBucket({ name: 'exports', grantCanonicalId: EC_CANONICAL_ID })
  const targetNodes = primaries(target).map((n) => ({ host: '127.0.0.1', port: n.port }))
  s.onMemoryDBSeed = () => ({
    endpoint: targetNodes[0],
    nodeEndpoints: targetNodes,
    tls: false,
    loaded: loadSnapshot(),
  })
})

afterAll(async () => {
  await fake?.close()
  await Promise.all([source?.down(), target?.down()])
  if (dir) rmSync(dir, { recursive: true, force: true })
})

describe('kvtop migrate aws', () => {
  const base = (state: string) => [
    '--from-elasticache',
    'orders',
    '--to-memorydb',
    'orders-mdb',
    '--bucket',
    'exports',
    '--shards',
    '3',
    '--node-type',
    'db.r6g.large',
    '--acl',
    'orders-acl',
    '--snapshot-name',
    'orders-move',
    '--state',
    join(dir, state),
    '--poll-interval',
    '0.05',
  ]

  it('--dry-run prints the exact API calls in order and creates nothing', async () => {
    const before = fake.requests.length
    const r = await migrate([...base('dry.json'), '--dry-run'])
    expect(r.code, r.stderr).toBe(0)
    const lines = r.stdout.split('\n').filter((l) => /^ *\d+\. /.test(l))
    expect(lines.map((l) => l.replace(/^ *\d+\. /, ''))).toEqual([
      '[snapshot] ElastiCache CreateSnapshot',
      '[snapshot] ElastiCache DescribeSnapshots until available',
      '[export] S3 GetBucketLocation, GetBucketAcl, GetBucketPolicy, HeadObject',
      '[export] ElastiCache CopySnapshot',
      '[export] ElastiCache DescribeSnapshots until available (export finished) and the objects in the bucket',
      '[create-cluster] MemoryDB CreateCluster',
      '[wait-cluster] MemoryDB DescribeClusters until available',
      '[compare] data plane DBSIZE on every primary of both, then kvtop verify',
    ])
    expect(r.stdout).toContain(
      '{"ClusterName":"orders-mdb","NodeType":"db.r6g.large","ACLName":"orders-acl","NumShards":3,"NumReplicasPerShard":0,"TLSEnabled":true,' +
        '"SnapshotArns":["arn:aws:s3:::exports/orders-move-0001.rdb","arn:aws:s3:::exports/orders-move-0002.rdb"]}',
    )
    expect(r.stdout).toMatch(/Dry run: nothing was created\.$/m)
    const made = fake.requests.slice(before).map((q) => q.operation)
    expect(made.every((op) => /^Describe/.test(op))).toBe(true)
    expect(existsSync(join(dir, 'dry.json'))).toBe(false)
  })

  it('end to end with an interruption between steps: the second run resumes at CreateCluster, counts and verify match', async () => {
    fake.inject({
      service: 'memorydb',
      operation: 'CreateCluster',
      code: 'AccessDeniedException',
      message: 'User is not authorized to perform: memorydb:CreateCluster',
      status: 400,
    })
    const statePath = join(dir, 'orders.json')
    const first = await migrate([...base('orders.json'), '--target', `sandbox:${target.name}`, '--yes'])
    expect(first.code, first.stderr).toBe(4)
    expect(first.stderr).toMatch(/memorydb:CreateCluster/)
    const saved = JSON.parse(readFileSync(statePath, 'utf8'))
    expect(statSync(statePath).mode & 0o777).toBe(0o600)
    expect(saved.steps.snapshot.done).toBe(true)
    expect(saved.steps.export.done).toBe(true)
    expect(saved.steps['create-cluster'].done).toBe(false)
    expect(requests('CreateSnapshot')).toHaveLength(1)
    expect(requests('CopySnapshot')).toHaveLength(1)

    const second = await migrate([
      ...base('orders.json'),
      '--target',
      `sandbox:${target.name}`,
      '--json',
      '--yes',
    ])
    expect(second.code, second.stderr.slice(-2000)).toBe(0)
    const report = JSON.parse(second.stdout)
    expect(report.resumedAt).toBe('create-cluster')
    expect(report.steps.map((s: { step: string; status: string }) => `${s.step}:${s.status}`)).toEqual([
      'snapshot:already done',
      'export:already done',
      'create-cluster:done',
      'wait-cluster:done',
      'compare:done',
    ])
    expect(report.snapshotArns).toEqual([
      'arn:aws:s3:::exports/orders-move-0001.rdb',
      'arn:aws:s3:::exports/orders-move-0002.rdb',
    ])
    expect(report.compare).toMatchObject({ sourceKeys: KEYS, targetKeys: KEYS, verify: { identical: true } })
    expect(report.matched).toBe(true)
    // Nothing was done twice.
    expect(requests('CreateSnapshot')).toHaveLength(1)
    expect(requests('CopySnapshot')).toHaveLength(1)
    const created = requests('CreateCluster').filter((q) => q.status === 200)
    expect(created).toHaveLength(1)
    expect(created[0].params).toMatchObject({
      ClusterName: 'orders-mdb',
      ACLName: 'orders-acl',
      NumShards: 3,
      SnapshotArns: report.snapshotArns,
    })
    // The NDJSON events name the steps; the state file says it is finished.
    expect(second.stderr).toMatch(/"type":"phase","phase":"resume"/)
    expect(second.stderr).toContain('MemoryDB cluster orders-mdb')
    const done = await migrate([...base('orders.json')])
    expect(done.code).toBe(2)
    expect(done.stderr).toMatch(/records a finished migration/)
  })

  it('a resume with other parameters, or an existing target, is refused before anything is created', async () => {
    const other = await migrate([...base('orders.json').map((a) => (a === '3' ? '4' : a))])
    expect(other.code).toBe(2)
    expect(other.stderr).toMatch(/records another migration \(shards: 3, not 4\)/)
    const exists = await migrate([...base('again.json')])
    expect(exists.code).toBe(2)
    expect(exists.stderr).toMatch(/MemoryDB cluster 'orders-mdb' already exists/)
    expect(existsSync(join(dir, 'again.json'))).toBe(false)
  })

  it('writes made to the source after the snapshot: key counts differ, exit 1 saying how to catch up', async () => {
    for (const n of primaries(target)) await (await target.admin(n.port)).flushall()
    const seedHook = fake.state.onMemoryDBSeed!
    const src = await source.admin(primaries(source)[0].port)
    fake.state.onMemoryDBSeed = (name, arns) => {
      const seeded = seedHook(name, arns)
      // A write lands on the source once the snapshot's data is in the new cluster.
      return {
        ...seeded,
        loaded: seeded.loaded.then(() => src.set('{late}write', 'after the snapshot').then(() => {})),
      }
    }
    const r = await migrate([
      ...base('late.json').map((a) =>
        a === 'orders-mdb' ? 'orders-mdb2' : a === 'orders-move' ? 'orders-late' : a,
      ),
      '--target',
      `sandbox:${target.name}`,
      '--no-verify',
      '--yes',
    ])
    fake.state.onMemoryDBSeed = seedHook
    expect(r.code, r.stderr.slice(-2000)).toBe(1)
    expect(r.stdout).toMatch(
      new RegExp(
        `^DIFFERENT: the source holds ${KEYS + 1} keys, the new cluster ${KEYS}\\. .*migrate run --live --replace`,
        'm',
      ),
    )
    expect(r.stdout).toMatch(/^ {2}compare +done in .*: source 3001 keys, target 3000 keys$/m)
  })
})

describe('kvtop migrate aws: the ACL, and asking before creating billable resources', () => {
  const fresh = (name: string, extra: string[] = []) => [
    '--from-elasticache',
    'orders',
    '--to-memorydb',
    name,
    '--bucket',
    'exports',
    '--shards',
    '3',
    '--node-type',
    'db.r6g.large',
    '--snapshot-name',
    `${name}-snap`,
    '--state',
    join(dir, `${name}.json`),
    '--poll-interval',
    '0.05',
    ...extra,
  ]
  /** How many create calls the fake has seen. */
  const creates = () => ['CreateSnapshot', 'CopySnapshot', 'CreateCluster'].map((op) => requests(op).length)

  it('--acl is required, and open-access is refused without --allow-open-access: exit 2, nothing created', async () => {
    const before = creates()
    const none = await migrate(fresh('acl-none', ['--yes']))
    expect(none.code, none.stderr).toBe(2)
    expect(none.stderr).toContain('--acl NAME is required')
    const open = await migrate(fresh('acl-open', ['--acl', 'open-access', '--yes']))
    expect(open.code, open.stderr).toBe(2)
    expect(open.stderr).toContain(
      '--acl open-access lets any client connect to the new cluster without authentication: refused without --allow-open-access',
    )
    const dry = await migrate(fresh('acl-open', ['--acl', 'open-access', '--allow-open-access', '--dry-run']))
    expect(dry.code, dry.stderr).toBe(0)
    expect(dry.stdout).toContain('"ACLName":"open-access"')
    expect(creates()).toEqual(before)
    expect(existsSync(join(dir, 'acl-none.json'))).toBe(false)
    expect(existsSync(join(dir, 'acl-open.json'))).toBe(false)
  })

  it('not on a terminal without --yes: exit 2 naming --yes, nothing created; under --json too', async () => {
    const before = creates()
    const r = await migrate(fresh('orders-ask', ['--acl', 'orders-acl']))
    expect(r.code, r.stderr).toBe(2)
    expect(r.stderr).toContain(
      "refusing to create MemoryDB cluster 'orders-ask' and its snapshot without --yes (not on a terminal to ask): nothing was created",
    )
    const json = await migrate(fresh('orders-ask', ['--acl', 'orders-acl', '--json']))
    expect(json.code, json.stderr).toBe(2)
    expect(JSON.parse(json.stdout).error).toMatchObject({ code: 'needs-confirmation', exitCode: 2 })
    expect(creates()).toEqual(before)
    expect(fake.state.mdbClusters.has('orders-ask')).toBe(false)
    expect(existsSync(join(dir, 'orders-ask.json'))).toBe(false)
  })

  it.skipIf(!hasScript())(
    'on a terminal: answered n, exit 2 and nothing created; answered y, the cluster is created',
    async () => {
      const before = creates()
      const args = [
        'migrate',
        'aws',
        ...fresh('orders-tty', ['--acl', 'orders-acl', '--target', `sandbox:${target.name}`, '--no-verify']),
      ]
      const no = await runCliInPty(args, 'n', { env: fake.env(), timeoutMs: 120_000 })
      expect(no.asked, no.output).toBe(true)
      expect(no.output).toMatch(
        /Create billable AWS resources: an ElastiCache snapshot of 'orders', its export to s3:\/\/exports\/, MemoryDB cluster 'orders-tty' \(3 shard\(s\) x 0 replica\(s\), db\.r6g\.large, ACL orders-acl, [a-z0-9-]+\)\? \[y\/N\]/,
      )
      expect(no.code, no.output).toBe(2)
      expect(no.output).toContain('not confirmed: nothing was created')
      expect(creates()).toEqual(before)
      expect(existsSync(join(dir, 'orders-tty.json'))).toBe(false)

      const yes = await runCliInPty(args, 'y', { env: fake.env(), timeoutMs: 120_000 })
      expect(yes.asked, yes.output).toBe(true)
      expect(yes.code, yes.output.slice(-2000)).toBe(0)
      const made = requests('CreateCluster').filter(
        (q) => q.status === 200 && q.params.ClusterName === 'orders-tty',
      )
      expect(made).toHaveLength(1)
      expect(made[0].params).toMatchObject({ ACLName: 'orders-acl' })
    },
  )
})
