import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Cluster, type Redis } from 'ioredis'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { escapeBytes } from '../../../src/data/escape.js'
import { parseScore } from '../../../src/ops/verify/logical.js'
import { runCli, startCli } from '../../helpers/cli.js'
import { adminClusterClient, startSandbox, type TestSandbox } from '../../helpers/sandbox.js'
import { noValkey, startValkeySandbox } from '../../helpers/valkey.js'

/**
 * Valkey as a first-class engine: Redis 7.0 (RDB 10) and Valkey 8 (RDB 11), a standalone server and
 * a 2-shard cluster of each, reused by every test. Redis -> Valkey copies with DUMP/RESTORE; Valkey
 * -> Redis cannot (Redis 7.0 refuses RDB 11 payloads) and copies logically. Each copy is checked
 * independently of kvtop: key by key, scores as numbers, streams by XINFO STREAM FULL (times out).
 */
let redis: TestSandbox
let redisCluster: TestSandbox
let valkey: TestSandbox
let valkeyCluster: TestSandbox
let dir: string
const opened: (Redis | Cluster)[] = []

const primaries = (sb: TestSandbox) => sb.summary.nodes.filter((n) => n.role === 'primary')
const admins = (sb: TestSandbox) => Promise.all(primaries(sb).map((n) => sb.admin(n.port)))
const isCluster = (sb: TestSandbox) => sb.summary.mode === 'cluster'

/** Commands routed by key: the admin connection of a standalone server, a cluster client otherwise. */
async function client(sb: TestSandbox): Promise<Redis | Cluster> {
  if (!isCluster(sb)) return sb.admin()
  const c = adminClusterClient(sb)
  opened.push(c)
  return c
}

/** Binary bytes in names: NUL, \r\n, invalid UTF-8. */
const BIN = Buffer.from([0x00, 0x0d, 0x0a, 0xff, 0xc3, 0x28])
const k = (prefix: string, name: string | number) => Buffer.concat([Buffer.from(`${prefix}:${name}:`), BIN])
/** Doubles each engine prints its own way (1.1: `1.1000000000000001` on Redis 7.0, `1.1` on Valkey 8). */
const SCORES = ['1.1', '1e300', '-0.0', '0', 'inf', '-inf', String(0.1 + 0.2), '3.14159', '-2.5e-300', '1e-5']

/** `count` keys of every type (a sixth binary-named) with special scores, TTLs and float counters. */
async function seedKeys(db: Redis | Cluster, prefix: string, count: number): Promise<void> {
  for (let start = 0; start < count; start += 500) {
    const sent: Promise<unknown>[] = []
    for (let i = start; i < Math.min(count, start + 500); i++) {
      const key = i % 6 === 0 ? k(prefix, i) : `${prefix}:${i}`
      switch (i % 6) {
        case 0:
          sent.push(db.set(key, Buffer.concat([BIN, Buffer.from(String(i))])))
          break
        case 1:
          sent.push(db.hset(key, 'a', String(i), Buffer.from('b\r\n'), BIN))
          sent.push(db.hincrbyfloat(key, 'float', '0.1'))
          break
        case 2:
          sent.push(db.rpush(key, 'x', BIN, String(i)))
          break
        case 3:
          sent.push(db.sadd(key, 'x', BIN, String(i)))
          break
        case 4:
          sent.push(db.zadd(key, SCORES[i % SCORES.length], BIN, String(i / 7), 'm', '1.1', 'n'))
          break
        default:
          sent.push(db.set(key, '1.5', 'EX', 3600))
          sent.push(db.incrbyfloat(key, '0.1'))
      }
    }
    await Promise.all(sent)
  }
  // Big enough to be read in chunks (over 1000 elements).
  const big: (string | Buffer)[] = []
  for (let i = 0; i < 1500; i++) big.push(i % 100 === 0 ? 'inf' : String(i / 7 + 0.1), `z${i}`)
  await db.zadd(k(prefix, 'bigzset'), ...big)
  const zset: (string | Buffer)[] = []
  SCORES.forEach((s, i) => zset.push(s, Buffer.concat([BIN, Buffer.from(String(i))])))
  await db.zadd(k(prefix, 'scores'), ...zset)
}

/**
 * Streams with everything a stream keeps: groups at various positions (entries-read known or nil),
 * consumers with and without pending entries, pending entries whose entry was deleted or trimmed,
 * delivery counts above 1, a deleted last entry (max-deleted-entry-id), an empty stream with a
 * group, one emptied with entries still pending, and a big one (entries and PEL over 1000).
 */
async function seedStreams(db: Redis | Cluster, prefix: string): Promise<void> {
  const s1 = k(prefix, 'stream')
  for (let i = 1; i <= 30; i++) await db.xadd(s1, `${i}-1`, 'f', Buffer.concat([BIN, Buffer.from(String(i))]))
  const group = Buffer.concat([Buffer.from('grp'), BIN])
  const consumer = Buffer.concat([Buffer.from('who'), BIN])
  await db.xgroup('CREATE', s1, 'g1', '0')
  await db.xgroup('CREATE', s1, group, '0')
  await db.xreadgroup('GROUP', 'g1', 'alice', 'COUNT', 10, 'STREAMS', s1, '>')
  await db.xreadgroup('GROUP', 'g1', 'bob', 'COUNT', 10, 'STREAMS', s1, '>')
  await db.xack(s1, 'g1', '2-1', '3-1')
  await db.call('XCLAIM', s1, 'g1', 'carol', '0', '15-1', '16-1')
  await db.xreadgroup('GROUP', group, consumer, 'COUNT', 5, 'STREAMS', s1, '>')
  await db.call('XGROUP', 'CREATECONSUMER', s1, 'g1', 'idle-consumer')
  await db.xgroup('CREATE', s1, 'g2', '$')
  await db.call('XGROUP', 'CREATE', s1, 'g3', '12-1', 'ENTRIESREAD', '12')
  await db.xdel(s1, '5-1', '18-1') // pending, deleted
  await db.xtrim(s1, 'MINID', '4-1') // 1-1 pending, trimmed
  await db.xdel(s1, '30-1') // the last entry

  const empty = k(prefix, 'stream:empty')
  await db.xgroup('CREATE', empty, 'g', '$', 'MKSTREAM')
  await db.call('XGROUP', 'CREATECONSUMER', empty, 'g', 'c')

  const gone = k(prefix, 'stream:gone')
  for (let i = 1; i <= 3; i++) await db.xadd(gone, `${i}-0`, 'f', 'v')
  await db.xgroup('CREATE', gone, 'g', '0')
  await db.xreadgroup('GROUP', 'g', 'c', 'STREAMS', gone, '>')
  await db.xtrim(gone, 'MAXLEN', 0)

  const big = k(prefix, 'stream:big')
  const adds: Promise<unknown>[] = []
  for (let i = 1; i <= 1200; i++) adds.push(db.xadd(big, `${i}-0`, 'n', String(i)))
  await Promise.all(adds)
  await db.xgroup('CREATE', big, 'g', '0')
  await db.xreadgroup('GROUP', 'g', 'c', 'COUNT', 1100, 'STREAMS', big, '>')
  await db.xdel(big, '500-0', '1200-0')

  const ttl = k(prefix, 'stream:ttl')
  await db.xadd(ttl, '1-1', 'a', 'b')
  await db.pexpire(ttl, 3_600_000)
}

async function seed(sb: TestSandbox, prefix: string, count = 600): Promise<void> {
  const db = await client(sb)
  await seedKeys(db, prefix, count)
  await seedStreams(db, prefix)
}

const str = (r: unknown): unknown => (Buffer.isBuffer(r) ? escapeBytes(r) : r)
function pairs(reply: unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (let i = 0; i + 1 < reply.length; i += 2) out[String(str(reply[i]))] = reply[i + 1]
  return out
}

/**
 * A stream as XINFO STREAM FULL shows it, without what each server sets by itself: the times
 * (seen-time, active-time, delivery times: collected in `times` to be compared loosely) and the
 * radix tree's shape.
 */
function normalStream(reply: unknown[], times: Map<string, number>, where: string): unknown {
  const s = pairs(reply)
  delete s['radix-tree-keys']
  delete s['radix-tree-nodes']
  s['last-generated-id'] = str(s['last-generated-id'])
  s['max-deleted-entry-id'] = str(s['max-deleted-entry-id'])
  s['recorded-first-entry-id'] = str(s['recorded-first-entry-id'])
  s.entries = (s.entries as [Buffer, Buffer[]][]).map(([id, f]) => [str(id), f.map(str)])
  s.groups = (s.groups as unknown[][]).map((raw) => {
    const g = pairs(raw)
    const name = String(str(g.name))
    g.name = name
    g['last-delivered-id'] = str(g['last-delivered-id'])
    g.pending = (g.pending as [Buffer, Buffer, number, number][]).map(([id, consumer, time, count]) => {
      times.set(`${where} ${name} ${String(str(id))}`, time)
      return [str(id), str(consumer), count]
    })
    g.consumers = (g.consumers as unknown[][]).map((rawConsumer) => {
      const c = pairs(rawConsumer)
      delete c['seen-time']
      delete c['active-time']
      c.name = str(c.name)
      c.pending = (c.pending as [Buffer, number, number][]).map(([id, , count]) => [str(id), count])
      return c
    })
    return g
  })
  return s
}

/**
 * Every key of a deployment in a form both engines give alike: type, whether it expires, and the
 * value (collections sorted, zset scores as numbers, streams normalised). Pending entries' delivery
 * times go to `times`.
 */
async function snapshot(sb: TestSandbox, times = new Map<string, number>()): Promise<Map<string, string>> {
  const out = new Map<string, string>()
  for (const conn of await admins(sb)) {
    let cursor = '0'
    do {
      const [next, keys] = (await conn.scanBuffer(cursor, 'COUNT', '500')) as [Buffer, Buffer[]]
      cursor = next.toString()
      for (const key of keys) {
        const name = escapeBytes(key)
        const type = await conn.type(key)
        const ttl = (await conn.pttl(key)) === -1 ? 'persist' : 'expires'
        let value: unknown
        switch (type) {
          case 'string':
            value = str(await conn.getBuffer(key))
            break
          case 'list':
            value = (await conn.lrangeBuffer(key, 0, -1)).map(str)
            break
          case 'set':
            value = (await conn.smembersBuffer(key)).map(str).sort()
            break
          case 'hash':
            value = Object.entries(pairs(await conn.hgetallBuffer(key).then((h) => Object.entries(h).flat())))
              .map(([f, v]) => [f, str(v)])
              .sort()
            break
          case 'zset': {
            const flat = (await conn.callBuffer('ZRANGE', key, '0', '-1', 'WITHSCORES')) as Buffer[]
            const members: [unknown, number][] = []
            for (let i = 0; i < flat.length; i += 2) members.push([str(flat[i]), parseScore(flat[i + 1])])
            value = members.map(([m, s]) => [m, Object.is(s, -0) ? 0 : s])
            break
          }
          case 'stream':
            value = normalStream(
              (await conn.callBuffer('XINFO', 'STREAM', key, 'FULL', 'COUNT', '0')) as unknown[],
              times,
              name,
            )
            break
          default:
            value = '?'
        }
        out.set(name, JSON.stringify({ type, ttl, value }))
      }
    } while (cursor !== '0')
  }
  return out
}

/** The target holds what the source holds, key by key; delivery times kept within 10 s. */
async function expectSame(source: TestSandbox, target: TestSandbox, keys: number): Promise<void> {
  const [st, tt] = [new Map<string, number>(), new Map<string, number>()]
  const [a, b] = await Promise.all([snapshot(source, st), snapshot(target, tt)])
  const differ = [...new Set([...a.keys(), ...b.keys()])]
    .filter((key) => a.get(key) !== b.get(key))
    .map((key) => `${key}\n  source: ${a.get(key)?.slice(0, 1500)}\n  target: ${b.get(key)?.slice(0, 1500)}`)
  expect(differ.slice(0, 3), `${differ.length} keys differ`).toEqual([])
  expect(a.size).toBe(keys)
  expect([...tt.keys()].sort()).toEqual([...st.keys()].sort())
  const late = [...st].filter(([id, t]) => Math.abs(t - tt.get(id)!) > 10_000)
  expect(late.slice(0, 3), 'pending entries whose delivery time moved').toEqual([])
}

async function setNotifications(sb: TestSandbox, flags: string): Promise<void> {
  for (const a of await admins(sb)) await a.config('SET', 'notify-keyspace-events', flags)
}

const pair = (source: TestSandbox, target: TestSandbox) => [
  '--source',
  `sandbox:${source.name}`,
  '--target',
  `sandbox:${target.name}`,
]
const migrate = (args: string[]) => runCli(['migrate', 'run', ...args, '--json'], { timeoutMs: 150_000 })
const event = (line: string) => (line.startsWith('{') ? JSON.parse(line) : {})
/** Keys seedKeys + seedStreams make besides the `count` small ones. */
const SPECIAL = 2 + 5

/** 4000 keys, a --live --until-synced run throttled so that changes land during the bulk copy. */
async function liveRun(source: TestSandbox, target: TestSandbox, extra: string[]): Promise<unknown> {
  await setNotifications(source, 'KEA')
  await seed(source, 'lv', 4000)
  const run = startCli(
    [
      'migrate',
      'run',
      ...pair(source, target),
      '--live',
      '--until-synced',
      '--max-ops',
      '1500',
      ...extra,
      '--json',
    ],
    { timeoutMs: 150_000 },
  )
  await run.waitForStderr((l) => event(l).type === 'progress' && event(l).done > 0, 60_000)
  // Changes while it copies: each one notified, so --live copies it.
  const db = await client(source)
  await db.zadd(k('lv', 'scores'), '1e-300', 'new member', '2.2', BIN)
  await db.xadd(k('lv', 'stream'), '40-1', 'f', 'live')
  await db.xdel(k('lv', 'stream:big'), '7-0')
  await db.call('XGROUP', 'CREATECONSUMER', k('lv', 'stream'), 'g2', 'late-consumer')
  await db.del('lv:1')
  await db.set(k('lv', 'new'), BIN)
  await db.hset('lv:7', 'float', '2.5')
  const r = await run.done
  expect(r.code, r.stderr.slice(-3000)).toBe(0)
  const report = JSON.parse(r.stdout)
  expect(report).toMatchObject({ inSync: true, errors: { total: 0 }, verify: { identical: true } })
  expect(report.liveCopies + report.liveDeletes).toBeGreaterThan(0)
  await expectSame(source, target, 4000 + SPECIAL)
  return report
}

describe.skipIf(noValkey())('Valkey 8 and Redis 7.0', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kvtop-valkey-'))
    ;[redis, redisCluster, valkey, valkeyCluster] = await Promise.all([
      startSandbox({ shards: 0, replicas: 0 }),
      startSandbox({ shards: 2, replicas: 0 }),
      startValkeySandbox({ shards: 0, replicas: 0 }),
      startValkeySandbox({ shards: 2, replicas: 0 }),
    ])
    expect([redis.state.engine, valkey.state.engine, valkeyCluster.state.engine]).toEqual([
      'redis',
      'valkey',
      'valkey',
    ])
  })

  afterAll(async () => {
    for (const c of opened) c.disconnect()
    await Promise.all([redis?.down(), redisCluster?.down(), valkey?.down(), valkeyCluster?.down()])
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  beforeEach(async () => {
    for (const sb of [redis, redisCluster, valkey, valkeyCluster])
      for (const a of await admins(sb)) await a.flushall()
  })

  describe('kvtop verify', () => {
    it('the same data written to both engines is identical in both directions (scores as numbers, stream metadata); a real difference is not', async () => {
      await Promise.all([seed(redis, 'v'), seed(valkey, 'v')])
      const verify = (source: TestSandbox, target: TestSandbox) =>
        runCli(['verify', ...pair(source, target), '--passes', '1', '--json'], { timeoutMs: 90_000 })
      for (const [a, b] of [
        [redis, valkey],
        [valkey, redis],
      ]) {
        const r = await verify(a, b)
        expect(r.code, r.stdout.slice(0, 3000) + r.stderr.slice(-1000)).toBe(0)
        expect(JSON.parse(r.stdout)).toMatchObject({ identical: true, sourceKeys: 600 + SPECIAL })
      }

      // The next double after 1.1: a score that really differs.
      await (
        await valkey.admin()
      ).zadd(k('v', 'scores'), '1.1000000000000003', Buffer.concat([BIN, Buffer.from('0')]))
      await (await valkey.admin()).call('XSETID', k('v', 'stream'), '30-1', 'ENTRIESADDED', '31')
      for (const [a, b] of [
        [redis, valkey],
        [valkey, redis],
      ]) {
        const r = await verify(a, b)
        expect(r.code, r.stderr.slice(-1000)).toBe(1)
        const details = JSON.parse(r.stdout)
          .examples.map((d: { detail: string }) => d.detail)
          .sort()
        expect(details).toEqual([
          'member "\\x00\\r\\n\\xff\\xc3(0": values differ',
          `stream entries-added ${a === redis ? '30 in source, 31 in target' : '31 in source, 30 in target'}`,
        ])
      }
    }, 120_000)
  })

  describe('Redis 7.0 -> Valkey 8: DUMP/RESTORE', () => {
    it('standalone, bulk, --mode auto: chooses dump and says why; the target equals the source', async () => {
      await seed(redis, 'rv')
      const r = await migrate([...pair(redis, valkey), '--mode', 'auto'])
      expect(r.code, r.stderr.slice(-3000)).toBe(0)
      const report = JSON.parse(r.stdout)
      expect(report).toMatchObject({
        mode: 'dump',
        modeReason: expect.stringMatching(
          /^the target \(valkey 8\.\d+\.\d+\) reads the source's DUMP payloads \(RDB version 10\)$/,
        ),
        errors: { total: 0 },
        verify: { identical: true },
      })
      expect(r.stderr).toMatch(/"phase":"mode","detail":"--mode auto: dump/)
      await expectSame(redis, valkey, 600 + SPECIAL)
    }, 150_000)

    it('2-shard cluster, --live --until-synced, changes during the copy', async () => {
      const report = await liveRun(redisCluster, valkeyCluster, [])
      expect(report).toMatchObject({ mode: 'dump' })
    }, 180_000)
  })

  describe('Valkey 8 -> Redis 7.0: logical', () => {
    it('without --mode: exit 2 before copying, naming --mode logical; --mode auto chooses logical, records it, and copies every stream detail', async () => {
      await seed(valkey, 'vr')
      const refused = await migrate([...pair(valkey, redis)])
      expect(refused.code, refused.stderr.slice(-2000)).toBe(2)
      const error = JSON.parse(refused.stdout).error
      expect(error.message).toMatch(
        /^the target \(redis 7\.0\.\d+\) cannot read the source's DUMP payloads: the source writes RDB version 11, the target reads up to 10$/,
      )
      expect(error.hint).toMatch(/--mode logical/)
      expect(await (await redis.admin()).dbsize()).toBe(0)

      const checkpoint = join(dir, 'auto.ckpt')
      const r = await migrate([...pair(valkey, redis), '--mode', 'auto', '--checkpoint', checkpoint])
      expect(r.code, r.stderr.slice(-3000)).toBe(0)
      const report = JSON.parse(r.stdout)
      expect(report).toMatchObject({
        mode: 'logical',
        modeReason:
          'the target (redis 7.0.15) reads DUMP payloads up to RDB version 10, the source writes 11'.replace(
            '7.0.15',
            (await (await redis.admin()).info('server')).match(/redis_version:(\S+)/)![1],
          ),
        errors: { total: 0 },
        verify: { identical: true },
      })
      expect(r.stderr).not.toMatch(/pending entries/)
      expect(JSON.parse(readFileSync(checkpoint, 'utf8'))).toMatchObject({ mode: 'logical', finished: true })
      await expectSame(valkey, redis, 600 + SPECIAL)
    }, 150_000)

    it('2-shard cluster, --mode logical --live --until-synced, changes during the copy', async () => {
      const report = await liveRun(valkeyCluster, redisCluster, ['--mode', 'logical'])
      expect(report).toMatchObject({ mode: 'logical' })
    }, 180_000)
  })
})
