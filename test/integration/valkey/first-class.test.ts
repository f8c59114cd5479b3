import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Cluster, type Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openNode, closeQuietly } from '../../../src/connect/client.js'
import { parseEndpointUrl } from '../../../src/connect/endpoint.js'
import { escapeBytes } from '../../../src/data/escape.js'
import { adminSpec } from '../../../src/sandbox/sandbox.js'
import { readState } from '../../../src/sandbox/state.js'
import { runCli } from '../../helpers/cli.js'
import { startSandbox, sandboxEnv, type TestSandbox } from '../../helpers/sandbox.js'
import { BIN, bin, fillDataset, finalJson } from '../../helpers/snapshot-dataset.js'
import { noValkey, startValkeySandbox, valkeyServer } from '../../helpers/valkey.js'

/**
 * Valkey as a first-class engine: `sandbox up --engine valkey` with every flavor, the monitoring
 * commands on a Valkey cluster, and data moved both ways between Valkey 8 (RDB 11) and Redis 7.0
 * (RDB 10) with `snapshot create` + `snapshot restore` and with `replay` of an AOF directory. Redis
 * 7.0 cannot RESTORE Valkey's listpack sets and v3 streams: those are rebuilt with commands.
 *
 * Each copy is checked key by key, independently of kvtop: type, PEXPIRETIME, and DEBUG
 * DIGEST-VALUE — which both engines compute alike except for sorted sets (Redis 7.0 digests scores
 * as "%.17g", Valkey 8 as the shortest text: 1.1 digests differently), so sorted sets are compared
 * as members with their scores as numbers — and streams also by XINFO STREAM FULL (entries, ids,
 * counters, groups, pending entries with their delivery times and counts), less the consumers'
 * seen/active times that no command can set.
 */
const skip = noValkey()

let valkey: TestSandbox
let redis: TestSandbox
let redisCluster: TestSandbox
let dir: string
const opened: (Redis | Cluster)[] = []

const primaries = <N extends { role: string }>(sb: { nodes: N[] }) =>
  sb.nodes.filter((n) => n.role === 'primary')

const admins = new Map<string, Redis[]>()

/** Admin connections to every primary of a sandbox (started by the helper or by `sandbox up`). */
async function adminsOf(name: string): Promise<Redis[]> {
  const known = admins.get(name)
  if (known) return known
  const state = readState(name, sandboxEnv())!
  const out: Redis[] = []
  admins.set(name, out)
  for (const n of state.nodes.filter((x) => x.role === 'primary')) {
    const r = await openNode(adminSpec(state), { host: '127.0.0.1', port: n.port })
    opened.push(r)
    out.push(r)
  }
  return out
}

/** Key-routed admin commands: a cluster client for a cluster, the admin connection otherwise. */
async function writer(name: string): Promise<Redis | Cluster> {
  const state = readState(name, sandboxEnv())!
  if (state.shards === 0) return (await adminsOf(name))[0]
  const admin = adminSpec(state).endpoint
  const c = new Cluster(
    state.nodes.filter((n) => n.role === 'primary').map((n) => ({ host: '127.0.0.1', port: n.port })),
    { redisOptions: { username: admin.username, password: admin.password } },
  )
  c.on('error', () => {})
  opened.push(c)
  return c
}

/**
 * fillDataset (every type and encoding, binary keys and values with NUL, \r\n and invalid UTF-8,
 * TTLs, a stream with groups and pending entries) and what Valkey writes in RDB 11 encodings or
 * Redis and Valkey digest differently: sets of non-integer members, scores such as 1.1 and 1e300,
 * streams whose pending entries were deleted or trimmed, an empty stream with a group, hash tags.
 */
async function seed(db: Redis | Cluster, prefix = ''): Promise<void> {
  await fillDataset(db, { prefix, n: 60 })
  const p = (s: string) => `${prefix}${s}`
  await db.sadd(p('set:words'), 'alpha', 'beta', 'gamma delta', '1.5', BIN)
  await db.sadd(bin(p('set:bin:')), Buffer.from([0]), Buffer.from('\r\n'), Buffer.from([0xc3, 0x28]))
  await db.sadd(p('{tag}:set'), 'x', 'y')
  await db.set(p('brace}key'), 'whole key hashed, holds a brace')
  await db.zadd(p('zset:scores'), '1.1', 'a', '1e300', 'b', '-1e-300', 'c', String(1 / 3), 'd', '-inf', 'e')
  await db.zadd(bin(p('zset:bin:')), '0.1', BIN, '2.5e-7', 'x')
  await db.hset(p('hash:float'), 'f', '0.1')
  await db.hincrbyfloat(p('hash:float'), 'f', '0.2')
  const s = p('stream:edge')
  for (let i = 1; i <= 12; i++) await db.xadd(s, `${i}-1`, 'f', Buffer.concat([BIN, Buffer.from(String(i))]))
  await db.xgroup('CREATE', s, 'g', '0')
  await db.xreadgroup('GROUP', 'g', 'alice', 'COUNT', 6, 'STREAMS', s, '>')
  await db.call('XCLAIM', s, 'g', 'carol', '0', '5-1', 'RETRYCOUNT', '4')
  await db.call('XGROUP', 'CREATECONSUMER', s, 'g', 'idle')
  await db.xdel(s, '4-1', '12-1') // a pending entry deleted; the last entry deleted
  await db.xtrim(s, 'MINID', '3-1') // pending entries trimmed
  await db.xgroup('CREATE', p('stream:empty'), 'g', '$', 'MKSTREAM')
}

const text = (r: unknown) => (Buffer.isBuffer(r) ? escapeBytes(r) : r)
const score = (b: Buffer) => {
  const t = b.toString().toLowerCase()
  return t === 'inf' ? Infinity : t === '-inf' ? -Infinity : Number(t)
}

/**
 * XINFO STREAM FULL without the radix tree's shape and the consumers' seen/active times; with
 * `loose`, without the groups' entries-read (and the lag computed from it) either.
 */
function normalStream(reply: unknown, loose: boolean): unknown {
  const drop = ['seen-time', 'active-time', 'radix-tree-keys', 'radix-tree-nodes']
  if (loose) drop.push('entries-read', 'lag')
  const walk = (v: unknown): unknown => {
    if (!Array.isArray(v)) return text(v)
    const out: unknown[] = []
    for (let i = 0; i < v.length; i++) {
      const name = Buffer.isBuffer(v[i]) ? v[i].toString() : v[i]
      if (typeof name === 'string' && i % 2 === 0 && drop.includes(name)) {
        i++
        continue
      }
      out.push(walk(v[i]))
    }
    return out
  }
  return walk(reply)
}

/** Every key of a deployment (its primaries), as both engines can be compared. */
async function contents(name: string, loose = false): Promise<Map<string, string>> {
  const out = new Map<string, string>()
  for (const conn of await adminsOf(name)) {
    let cursor = '0'
    do {
      const [next, keys] = (await conn.scanBuffer(cursor, 'COUNT', '500')) as [Buffer, Buffer[]]
      cursor = next.toString()
      for (const key of keys) {
        const type = await conn.type(key)
        const expireAt = Number(await conn.call('PEXPIRETIME', key))
        let value: unknown
        if (type === 'zset') {
          const flat = (await conn.callBuffer('ZRANGE', key, '0', '-1', 'WITHSCORES')) as Buffer[]
          const pairs: unknown[] = []
          for (let i = 0; i < flat.length; i += 2) pairs.push([escapeBytes(flat[i]), score(flat[i + 1])])
          value = pairs
        } else {
          value = String(await conn.call('DEBUG', 'DIGEST-VALUE', key))
          if (type === 'stream')
            value = [value, normalStream(await conn.callBuffer('XINFO', 'STREAM', key, 'FULL'), loose)]
        }
        out.set(escapeBytes(key), JSON.stringify({ type, expireAt, value }))
      }
    } while (cursor !== '0')
  }
  return out
}

/**
 * The target holds what the source holds, key by key. `loose` (an AOF replayed): a group's
 * entries-read is not compared — an AOF carries XREADGROUP as XCLAIM ... LASTID, without it, so a
 * server loading its own AOF can differ from itself there (Redis 7.0 does: nil live, a number
 * after loading the AOF).
 */
async function expectSameData(source: string, target: string, loose = false): Promise<number> {
  const [a, b] = await Promise.all([contents(source, loose), contents(target, loose)])
  const differ = [...new Set([...a.keys(), ...b.keys()])]
    .filter((key) => a.get(key) !== b.get(key))
    .map((key) => `${key}\n  source: ${a.get(key)?.slice(0, 800)}\n  target: ${b.get(key)?.slice(0, 800)}`)
  expect(differ.slice(0, 3), `${differ.length} keys differ`).toEqual([])
  expect(b.size).toBe(a.size)
  return a.size
}

async function flush(name: string): Promise<void> {
  for (const a of await adminsOf(name)) await a.flushall()
}

async function rewriteDone(admin: Redis): Promise<boolean> {
  const info = await admin.info('persistence')
  return /aof_rewrite_in_progress:0/.test(info) && /aof_rewrite_scheduled:0/.test(info)
}

async function waitFor(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 20_000
  while (Date.now() < deadline) {
    if (await check()) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`timed out waiting for ${what}`)
}

/**
 * An appendonlydir as a server leaves it: AOF on, data written, BGREWRITEAOF (the base is an RDB
 * preamble file of the server's RDB version), more writes (the increment), then the directory copied.
 */
async function aofDirOf(sb: TestSandbox, into: string): Promise<string> {
  const admin = await sb.admin()
  await admin.config('SET', 'appendfsync', 'always')
  await admin.config('SET', 'appendonly', 'yes')
  await waitFor(() => rewriteDone(admin), 'the first AOF rewrite')
  await seed(admin)
  await admin.bgrewriteaof()
  await waitFor(() => rewriteDone(admin), 'BGREWRITEAOF')
  // The increment: new keys, a deletion, changes to a set, a sorted set and a stream.
  await admin.sadd('aof:set', 'after', 'the rewrite')
  await admin.zadd('zset:scores', '1e300', 'z', '1.1', 'a')
  await admin.del('str')
  await admin.xadd('stream:edge', '20-1', 'f', 'late')
  await admin.xreadgroup('GROUP', 'g', 'bob', 'COUNT', 1, 'STREAMS', 'stream:edge', '>')
  await admin.pexpire('set:words', 3_600_000)
  const out = join(dir, into)
  cpSync(join(sb.state.nodes[0].dir, 'appendonlydir'), out, { recursive: true })
  await admin.config('SET', 'appendonly', 'no')
  return out
}

/** `sandbox up`, run as a user would (the Valkey binary given explicitly, wherever it was found). */
const valkeyEnv = () => ({ KVTOP_VALKEY_SERVER: valkeyServer() ?? '' })

describe.skipIf(skip)('Valkey 8 as a first-class engine', () => {
  let valkeyVersion = ''

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kvtop-valkey-engine-'))
    ;[valkey, redis, redisCluster] = await Promise.all([
      startValkeySandbox({ shards: 0, replicas: 0 }),
      startSandbox({ shards: 0, replicas: 0 }),
      startSandbox({ shards: 2, replicas: 0 }),
    ])
    valkeyVersion = valkey.state.serverVersion
    expect(valkey.state.engine).toBe('valkey')
    expect(redis.state.engine).toBe('redis')
  })

  afterAll(async () => {
    for (const c of opened) {
      if (c instanceof Cluster) c.disconnect()
      else await closeQuietly(c)
    }
    await Promise.all([valkey?.down(), redis?.down(), redisCluster?.down()])
    for (const name of ['vk-redis', 'vk-ec', 'vk-mdb'])
      await runCli(['sandbox', 'down', '--name', name]).catch(() => {})
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('sandbox up --engine valkey with every flavor; discover reports the engine, its version and what the flavor refuses', async () => {
    const shapes: [string, string, string[]][] = [
      ['vk-redis', 'redis', ['--shards', '0', '--replicas', '1']],
      ['vk-ec', 'elasticache', ['--shards', '2', '--replicas', '1']],
      ['vk-mdb', 'memorydb', ['--shards', '1', '--replicas', '0']],
    ]
    for (const [name, flavor, shape] of shapes) {
      const up = await runCli(
        ['sandbox', 'up', '--engine', 'valkey', '--flavor', flavor, '--name', name, ...shape, '--json'],
        { env: valkeyEnv(), timeoutMs: 60_000 },
      )
      expect(up.code, up.stderr).toBe(0)
      expect(JSON.parse(up.stdout)).toMatchObject({ name, flavor, engine: 'valkey', version: valkeyVersion })
      const d = await runCli(['discover', '--profile', `sandbox:${name}`, '--json'])
      expect(d.code, d.stderr).toBe(0)
      const caps = JSON.parse(d.stdout).capabilities
      expect(caps).toMatchObject({ engine: 'valkey', version: valkeyVersion })
      if (flavor === 'redis') expect(caps.refused).toEqual([])
      if (flavor === 'elasticache')
        expect(caps.refused).toEqual(expect.arrayContaining(['config', 'sync', 'psync', 'bgsave', 'debug']))
      if (flavor === 'memorydb')
        expect(caps.refused).toEqual(expect.arrayContaining(['config', 'acl setuser', 'cluster setslot']))
    }
    // The ACL rules hold on Valkey 8: the client's user is refused, the admin is not.
    const ec = readState('vk-ec', sandboxEnv())!
    const endpoint = parseEndpointUrl(`redis://127.0.0.1:${ec.nodes[0].port}`)
    const client = await openNode(
      { endpoint, insecure: false, timeoutMs: 5000, natMap: new Map() },
      { host: '127.0.0.1', port: ec.nodes[0].port },
    )
    opened.push(client)
    await expect(client.config('GET', 'maxmemory')).rejects.toThrow(/NOPERM/)
    expect(await (await adminsOf('vk-ec'))[0].config('GET', 'maxmemory')).toEqual(['maxmemory', '0'])
    for (const name of ['vk-redis', 'vk-mdb']) {
      const down = await runCli(['sandbox', 'down', '--name', name])
      expect(down.code).toBe(0)
      for (const a of admins.get(name) ?? []) await closeQuietly(a)
      admins.delete(name)
    }
  }, 120_000)

  it('--engine names the binary it needs, and refuses a binary of the other engine (exit 2)', async () => {
    const none = await runCli(['sandbox', 'up', '--engine', 'valkey', '--name', 'nope', '--shards', '0'], {
      env: { KVTOP_VALKEY_SERVER: '', PATH: '/nonexistent', KVTOP_VALKEY_CACHE: join(dir, 'no-cache') },
    })
    expect(none.code).toBe(2)
    expect(none.stderr).toContain('no valkey-server binary found')
    expect(none.stderr).toMatch(/KVTOP_VALKEY_SERVER/)
    const wrong = await runCli(['sandbox', 'up', '--engine', 'redis', '--name', 'nope', '--shards', '0'], {
      env: { KVTOP_REDIS_SERVER: valkeyServer()! },
    })
    expect(wrong.code).toBe(2)
    expect(wrong.stderr).toMatch(/--engine redis: .* is valkey-server 8\.\d+\.\d+, not redis-server/)
  })

  it('status, slowlog, replication and triage on a Valkey cluster: exit 0, the engine shown, availability zone and I/O threads per node', async () => {
    const [a0, a1] = await adminsOf('vk-ec')
    await a0.config('SET', 'availability-zone', 'use1-az1')
    await a1.config('SET', 'availability-zone', 'use1-az2')
    for (const a of [a0, a1]) await a.config('SET', 'slowlog-log-slower-than', '0')
    const w = await writer('vk-ec')
    for (let i = 0; i < 20; i++) await w.set(`k${i}`, 'v')
    const profile = ['--profile', 'sandbox:vk-ec']
    const [status, table, slowlog, replication, triage] = await Promise.all([
      runCli(['status', ...profile, '--json']),
      runCli(['status', ...profile]),
      runCli(['slowlog', ...profile, '--json']),
      runCli(['replication', ...profile, '--json']),
      runCli(['triage', ...profile, '--duration', '1', '--json'], { timeoutMs: 60_000 }),
    ])
    for (const r of [status, table, slowlog, replication, triage]) expect(r.code, r.stderr).toBe(0)

    const s = JSON.parse(status.stdout)
    expect(s.deployment).toMatchObject({ engine: 'valkey', version: valkeyVersion, mode: 'cluster' })
    expect(s.nodes).toHaveLength(4)
    for (const n of s.nodes) {
      expect(n).toMatchObject({ engine: 'valkey', version: valkeyVersion })
      // Valkey 8 counts polls and prefetches on I/O threads too: rates of them, threads idle here.
      expect(n.ioThreads).toMatchObject({
        active: false,
        pollsPerSec: expect.any(Number),
        prefetchBatchesPerSec: expect.any(Number),
      })
    }
    const zones = Object.fromEntries(
      s.nodes.map((n: { port: number; availabilityZone?: string }) => [n.port, n.availabilityZone]),
    )
    const ports = primaries(readState('vk-ec', sandboxEnv())!)
    expect(zones[ports[0].port]).toBe('use1-az1')
    expect(zones[ports[1].port]).toBe('use1-az2')
    expect(s.nodes.filter((n: { availabilityZone?: string }) => n.availabilityZone)).toHaveLength(2)

    expect(table.stdout).toContain(`valkey ${valkeyVersion}`)
    expect(table.stdout).toMatch(/\bAZ\b/)
    expect(table.stdout).toContain('use1-az1')

    const slow = JSON.parse(slowlog.stdout)
    expect(slow).toMatchObject({ nodes: 4, nodesRead: 4, errors: [] })
    expect(slow.entries.length).toBeGreaterThan(0)
    expect(
      JSON.parse(replication.stdout).shards.map((x: { replicas: unknown[] }) => x.replicas.length),
    ).toEqual([1, 1])
    expect(JSON.parse(triage.stdout).deployment).toMatchObject({ engine: 'valkey', version: valkeyVersion })
  }, 90_000)

  it('snapshot create from Valkey 8, restore into Redis 7.0: RESTORE for what it reads, commands for the rest; --mode dump refused before writing', async () => {
    await flush(valkey.name)
    await flush(redis.name)
    await seed(await writer(valkey.name))
    const file = join(dir, 'valkey.rdb')
    const created = await runCli(['snapshot', 'create', valkey.url, '--out', file, '--json'])
    expect(created.code, created.stderr).toBe(0)
    expect(finalJson(created.stdout)).toMatchObject({ rdbVersion: 11, source: { engine: 'valkey' } })

    const dump = await runCli(['snapshot', 'restore', file, '--to', redis.url, '--mode', 'dump'])
    expect(dump.code).toBe(2)
    expect(dump.stderr).toMatch(
      /cannot read values of type (20|21) \(\d+ keys\), type (20|21) .* nothing was restored/,
    )
    expect(await (await redis.admin()).dbsize()).toBe(0)

    const r = await runCli(['snapshot', 'restore', file, '--to', redis.url, '--json'])
    expect(r.code, r.stderr.slice(-2000)).toBe(0)
    const report = finalJson(r.stdout)
    expect(report).toMatchObject({ mode: 'auto', failed: 0, existing: 0, rdbVersion: 11 })
    expect(report.restored).toBe(report.keys)
    // Listpack sets and every stream are RDB 11 encodings: rebuilt. The rest is RESTOREd, relabelled.
    expect(report.rebuilt).toBeGreaterThanOrEqual(7)
    expect(report.rebuilt).toBeLessThan(report.keys)
    expect(report.relabelled).toBe(report.keys - report.rebuilt)
    expect(r.stderr).toMatch(/"phase":"mode","detail":"--mode auto: RESTORE for \d+ keys, commands for \d+"/)
    // The types are listed in the order the file holds them.
    const rebuiltLine = report.warnings.find((w: string) =>
      /keys are rebuilt with commands \(--mode auto\)/.test(w),
    )
    expect(rebuiltLine).toMatch(/\d+ set \(listpack\)/)
    expect(rebuiltLine).toMatch(/\d+ stream/)
    expect(await expectSameData(valkey.name, redis.name)).toBe(report.keys)
  }, 90_000)

  it('snapshot create from Redis 7.0, restore into Valkey 8 (RESTORE of RDB 10 payloads): the same key by key', async () => {
    await flush(valkey.name)
    await flush(redis.name)
    await seed(await writer(redis.name))
    const file = join(dir, 'redis.rdb')
    const created = await runCli(['snapshot', 'create', redis.url, '--out', file, '--json'])
    expect(created.code, created.stderr).toBe(0)
    const r = await runCli(['snapshot', 'restore', file, '--to', valkey.url, '--json'])
    expect(r.code, r.stderr.slice(-2000)).toBe(0)
    const report = finalJson(r.stdout)
    expect(report).toMatchObject({ rdbVersion: 10, rebuilt: 0, relabelled: 0, failed: 0 })
    expect(await expectSameData(redis.name, valkey.name)).toBe(report.keys)
  }, 90_000)

  it('a Valkey cluster into a Redis 7.0 cluster with --mode logical: every key rebuilt on its slot (temporary keys on the same slot, none left)', async () => {
    await flush('vk-ec')
    await flush(redisCluster.name)
    await seed(await writer('vk-ec'))
    const file = join(dir, 'valkey-cluster.rdb')
    const created = await runCli([
      'snapshot',
      'create',
      `--profile`,
      'sandbox:vk-ec',
      '--out',
      file,
      '--json',
    ])
    expect(created.code, created.stderr).toBe(0)
    const r = await runCli([
      'snapshot',
      'restore',
      file,
      '--to',
      redisCluster.url,
      '--mode',
      'logical',
      '--json',
    ])
    expect(r.code, r.stderr.slice(-2000)).toBe(0)
    const report = finalJson(r.stdout)
    expect(report).toMatchObject({ mode: 'logical', failed: 0, existing: 0, relabelled: 0 })
    expect(report.rebuilt).toBe(report.keys)
    expect(await expectSameData('vk-ec', redisCluster.name)).toBe(report.keys)
    // No temporary key is left behind.
    for (const a of await adminsOf(redisCluster.name)) expect(await a.keys('*kvtop_restore*')).toEqual([])
  }, 90_000)

  it('replay of a Valkey appendonlydir (RDB 11 base) into Redis 7.0: the base rebuilt where needed, the same key by key', async () => {
    await flush(valkey.name)
    await flush(redis.name)
    const aof = await aofDirOf(valkey, 'valkey-aof')
    const manifest = readFileSync(join(aof, 'appendonly.aof.manifest'), 'utf8')
    const base = /file (\S+) seq \d+ type b/.exec(manifest)![1]
    expect(base).toMatch(/\.base\.rdb$/)
    expect(readFileSync(join(aof, base)).subarray(0, 9).toString()).toBe('REDIS0011')
    const r = await runCli(['replay', aof, '--to', redis.url, '--json'])
    expect(r.code, r.stderr.slice(-2000)).toBe(0)
    const report = JSON.parse(r.stdout)
    expect(report).toMatchObject({ format: 'aof-dir', errors: { total: 0 } })
    expect(report.rebuilt).toBeGreaterThanOrEqual(7)
    expect(r.stderr).toMatch(
      /RDB 11 values the target \(redis 7\.0\.\d+, RDB 10\) cannot RESTORE are rebuilt with commands/,
    )
    await expectSameData(valkey.name, redis.name, true)
  }, 90_000)

  it('replay of a Redis 7.0 appendonlydir (RDB 10 base) into Valkey 8: the same key by key', async () => {
    await flush(valkey.name)
    await flush(redis.name)
    const aof = await aofDirOf(redis, 'redis-aof')
    expect(existsSync(aof)).toBe(true)
    const r = await runCli(['replay', aof, '--to', valkey.url, '--json'])
    expect(r.code, r.stderr.slice(-2000)).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({ format: 'aof-dir', errors: { total: 0 }, rebuilt: 0 })
    await expectSameData(redis.name, valkey.name, true)
  }, 90_000)
})
