import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Cluster, Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { keySlot } from '../../../../src/wire/routed-pipeline.js'
import { runCli, startCli, type CliResult } from '../../../helpers/cli.js'
import { binaryKey, digestsByKey, seedKeys } from '../../../helpers/dataset.js'
import {
  adminClusterClient,
  restartStandalone,
  startSandbox,
  type TestSandbox,
} from '../../../helpers/sandbox.js'
import { fillDataset } from '../../../helpers/snapshot-dataset.js'

/**
 * migrate run --read sync|auto: the bulk copy from every source primary's replication snapshot.
 * Each case ends with a key-by-key comparison (DEBUG DIGEST-VALUE and expiry state on every
 * primary), independently of kvtop's own verify.
 */
let dir: string
const sandboxes: TestSandbox[] = []
const opened: (Redis | Cluster)[] = []
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kvtop-sync-read-'))
})

afterAll(async () => {
  for (const c of opened) c.disconnect()
  await Promise.all(sandboxes.map((s) => s.down()))
  if (dir) rmSync(dir, { recursive: true, force: true })
})

async function up(...options: Parameters<typeof startSandbox>[0][]): Promise<TestSandbox[]> {
  const sbs = await Promise.all(options.map((o) => startSandbox(o)))
  sandboxes.push(...sbs)
  return sbs
}

const primaries = (sb: TestSandbox) => sb.summary.nodes.filter((n) => n.role === 'primary')
const admins = (sb: TestSandbox) => Promise.all(primaries(sb).map((n) => sb.admin(n.port)))

/** Every source key on the target with the same value and expiry state, and nothing else. */
async function sameData(a: TestSandbox, b: TestSandbox, db = 0, targetDb = db): Promise<number> {
  const side = async (sb: TestSandbox, n: number) => {
    const conns = await admins(sb)
    if (n) for (const c of conns) await c.select(n)
    return digestsByKey(conns)
  }
  const [x, y] = await Promise.all([side(a, db), side(b, targetDb)])
  const diff = [...new Set([...x.keys(), ...y.keys()])].filter((k) => x.get(k) !== y.get(k))
  expect(diff.slice(0, 5), `${diff.length} keys differ`).toEqual([])
  return x.size
}

const migrate = (args: string[], timeoutMs = 120_000) => runCli(['migrate', 'run', ...args], { timeoutMs })
const pair = (source: TestSandbox, target: TestSandbox) => [
  '--source',
  `sandbox:${source.name}`,
  '--target',
  `sandbox:${target.name}`,
]
const events = (r: CliResult) =>
  r.stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)

/** Diskless transfers start at once (no 5 s wait for more replicas); `usPerKey` slows the fork's writing. */
async function syncSettings(sb: TestSandbox, usPerKey = 0): Promise<void> {
  for (const a of await admins(sb)) {
    await a.config('SET', 'repl-diskless-sync-delay', '0')
    await a.config('SET', 'rdb-key-save-delay', String(usPerKey))
  }
}

/**
 * A standalone source of 8,000 keys whose snapshot streams slowly (`usPerKey` µs a key) and an empty
 * standalone target: `migrate run --read sync --json` (and `extra` flags) started, and past `after` keys.
 */
async function midSnapshot(prefix: string, o: { usPerKey: number; after: number; extra?: string[] }) {
  const [source, target] = await up({}, {})
  await seedKeys(await source.admin(), prefix, 8000)
  await syncSettings(source, o.usPerKey)
  const args = [...pair(source, target), '--read', 'sync', ...(o.extra ?? []), '--json']
  const run = startCli(['migrate', 'run', ...args])
  await run.waitForStderr((l) => /"type":"progress"/.test(l) && JSON.parse(l).done > o.after, 60_000)
  return { source, target, args, run }
}

describe('migrate run --read sync', () => {
  it('copies every type (binary keys and values, TTLs, a stream with groups) from the replication snapshot, with --db-map', async () => {
    const [source, target] = await up({}, {})
    const s = await source.admin()
    await fillDataset(s, { n: 3000 })
    await s.select(3)
    await seedKeys(s, 'db3', 500)
    await s.select(0)
    await syncSettings(source)
    const r = await migrate([...pair(source, target), '--read', 'sync', '--db-map', '3:5', '--json'])
    expect(r.code, r.stderr.slice(-2000)).toBe(0)
    const report = JSON.parse(r.stdout)
    expect(report).toMatchObject({ read: 'sync', errors: { total: 0 }, vanished: 0 })
    expect(report.readReason).toBeUndefined()
    expect(report.keys).toBe(3021 + 500)
    expect(report.verify.identical).toBe(true)
    expect(await sameData(source, target, 0)).toBe(3021)
    expect(await sameData(source, target, 3, 5)).toBe(500)
    // Expiry times are the source's to the millisecond (ABSTTL from the RDB).
    const t = await target.admin()
    expect(await t.call('PEXPIRETIME', 'str:ttl')).toBe(await s.call('PEXPIRETIME', 'str:ttl'))
  }, 120_000)

  it('refuses up front what a snapshot cannot honour: --max-ops, --mode logical (exit 2, nothing written)', async () => {
    const [source, target] = await up({}, {})
    await seedKeys(await source.admin(), 'k', 50)
    const paced = await migrate([...pair(source, target), '--read', 'sync', '--max-ops', '100'])
    expect(paced.code).toBe(2)
    expect(paced.stderr).toMatch(/--read sync cannot be paced by --max-ops/)
    const logical = await migrate([...pair(source, target), '--read', 'sync', '--mode', 'logical'])
    expect(logical.code).toBe(2)
    expect(logical.stderr).toMatch(/cannot be combined with --mode logical/)
    expect(await (await target.admin()).dbsize()).toBe(0)
  }, 60_000)

  it('a source that refuses SYNC (ElastiCache): --read sync is exit 2 naming --read scan; --read auto reads with scan and says why', async () => {
    const [source, target] = await up({ flavor: 'elasticache' }, {})
    await seedKeys(await source.admin(), 'ec', 300)
    const refused = await migrate([...pair(source, target), '--read', 'sync', '--json'])
    expect(refused.code, refused.stderr.slice(-1500)).toBe(2)
    const error = events(refused).find((e) => e.type === 'error')!
    expect(error.message).toMatch(/127\.0\.0\.1:\d+ refuses SYNC for this user: NOPERM/)
    expect(error.hint).toMatch(/use --read scan/)
    expect(await (await target.admin()).dbsize()).toBe(0)

    const checkpoint = join(dir, 'auto-ec.ckpt')
    const auto = await migrate([
      ...pair(source, target),
      '--read',
      'auto',
      '--checkpoint',
      checkpoint,
      '--json',
    ])
    expect(auto.code, auto.stderr.slice(-1500)).toBe(0)
    expect(JSON.parse(auto.stdout)).toMatchObject({
      read: 'scan',
      readReason: expect.stringMatching(/refuses SYNC/),
    })
    expect(events(auto)).toContainEqual(
      expect.objectContaining({
        type: 'phase',
        phase: 'read',
        detail: expect.stringMatching(/^--read auto: scan \(/),
      }),
    )
    expect(JSON.parse(readFileSync(checkpoint, 'utf8')).read).toBe('scan')
    expect(await sameData(source, target)).toBe(300)
  }, 90_000)
})

describe('migrate run --read auto between 3-shard clusters', () => {
  it('chooses sync, streams every primary in parallel, routes by slot; --slots keeps to its range', async () => {
    const [source, target, half] = await up({ shards: 3 }, { shards: 3 }, { shards: 3 })
    const c = adminClusterClient(source)
    opened.push(c)
    await seedKeys(c, 'cl', 6000)
    await syncSettings(source)
    const checkpoint = join(dir, 'cluster.ckpt')
    const r = await migrate([...pair(source, target), '--read', 'auto', '--checkpoint', checkpoint, '--json'])
    expect(r.code, r.stderr.slice(-2000)).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({ read: 'sync', readReason: 'the source permits SYNC' })
    expect(events(r)).toContainEqual(
      expect.objectContaining({ phase: 'read', detail: '--read auto: sync (the source permits SYNC)' }),
    )
    const saved = JSON.parse(readFileSync(checkpoint, 'utf8'))
    expect(saved).toMatchObject({ read: 'sync', finished: true })
    expect(Object.keys(saved.nodes)).toHaveLength(3)
    expect(await sameData(source, target)).toBe(6000)

    const s = await migrate([...pair(source, half), '--read', 'sync', '--slots', '0-8000', '--json'])
    expect(s.code, s.stderr.slice(-2000)).toBe(0)
    const inRange = Array.from({ length: 6000 }, (_, i) => binaryKey('cl', i)).filter(
      (k) => keySlot(k) <= 8000,
    )
    expect(JSON.parse(s.stdout).keys).toBe(inRange.length)
    const h = adminClusterClient(half)
    opened.push(h)
    let present = 0
    for (const k of inRange.slice(0, 200)) present += await h.exists(k)
    expect(present).toBe(200)
    const total = (await Promise.all((await admins(half)).map((a) => a.dbsize()))).reduce((x, y) => x + y, 0)
    expect(total).toBe(inRange.length)
  }, 180_000)
})

/** Keys the checkpoint counts as copied. */
const savedKeys = (path: string): number => {
  if (!existsSync(path)) return 0
  const c = JSON.parse(readFileSync(path, 'utf8'))
  return Object.values(c.nodes as Record<string, { keys: number }>).reduce((n, s) => n + s.keys, 0)
}

describe('migrate run --read sync under faults', () => {
  it('a target out of memory: exit 5, the shard not checkpointed; the same command finishes once memory is raised', async () => {
    const [source, target] = await up({}, {})
    await seedKeys(await source.admin(), 'oom', 20_000)
    await syncSettings(source)
    const t = await target.admin()
    const used = Number(/used_memory:(\d+)/.exec(await t.info('memory'))![1])
    await t.config('SET', 'maxmemory-policy', 'noeviction')
    await t.config('SET', 'maxmemory', String(used + 512 * 1024))
    const checkpoint = join(dir, 'oom.ckpt')
    const args = [...pair(source, target), '--read', 'sync', '--checkpoint', checkpoint, '--json']
    const first = await migrate([...args, '--stall-timeout', '2'])
    expect(first.code, first.stderr.slice(-2000)).toBe(5)
    expect(first.stderr).toMatch(/kept refusing writes for 2 s \(OOM /)
    const saved = JSON.parse(readFileSync(checkpoint, 'utf8'))
    expect(saved).toMatchObject({ read: 'sync', finished: false })
    expect(Object.values(saved.nodes)).toEqual([expect.objectContaining({ done: false, keys: 0 })])
    await t.config('SET', 'maxmemory', '0')
    const second = await migrate(args)
    expect(second.code, second.stderr.slice(-2000)).toBe(0)
    expect(JSON.parse(second.stdout)).toMatchObject({ resumed: true, read: 'sync', errors: { total: 0 } })
    expect(await sameData(source, target)).toBe(20_000)
  }, 180_000)

  it('writes refused for now (OOM) until memory is raised mid-copy: retried by key, every binary key lands byte for byte', async () => {
    const [source, target] = await up({}, {})
    // Keys over many chunks of the stream: the reader has reused its buffers long before the retry.
    await seedKeys(await source.admin(), 'later', 20_000)
    await syncSettings(source)
    const t = await target.admin()
    const used = Number(/used_memory:(\d+)/.exec(await t.info('memory'))![1])
    await t.config('SET', 'maxmemory-policy', 'noeviction')
    await t.config('SET', 'maxmemory', String(used + 256 * 1024))
    const run = startCli(['migrate', 'run', ...pair(source, target), '--read', 'sync', '--json'])
    await run.waitForStderr(/refuses writes from .* for now \(OOM /)
    await t.config('SET', 'maxmemory', '0')
    const r = await run.done
    expect(r.code, r.stderr.slice(-2000)).toBe(0)
    expect(r.stderr).toMatch(/accepts writes from .* again/)
    // A key read back wrong would be gone from the source: counted vanished, missing on the target.
    expect(JSON.parse(r.stdout)).toMatchObject({
      read: 'sync',
      keys: 20_000,
      vanished: 0,
      errors: { total: 0 },
    })
    expect(await sameData(source, target)).toBe(20_000)
  }, 180_000)

  it('a write refused for good mid-snapshot (NOPERM) stops the read at once: exit 5 naming the key and the refusal, long before the snapshot would end', async () => {
    const checkpoint = join(dir, 'noperm.ckpt')
    // 1.5 ms a key: the source takes about 12 s to stream its snapshot.
    const { source, target, args, run } = await midSnapshot('perm', {
      usPerKey: 1500,
      after: 300,
      extra: ['--checkpoint', checkpoint],
    })
    const t = await target.admin()
    await t.call('ACL', 'SETUSER', 'default', '-restore')
    const refusedAt = Date.now()
    const r = await run.done
    const afterRefusal = Date.now() - refusedAt
    await t.call('ACL', 'SETUSER', 'default', '+restore')
    expect(r.code, r.stderr.slice(-2000)).toBe(5)
    const error = events(r).find((e) => e.type === 'error')!
    // The key is read back from its RESTORE in the batch: every byte of it, escaped.
    expect(error.message).toMatch(
      /^the migration stopped: the target refused "perm:\d+:\\x00\\r\\n\\xff" \(copied from 127\.0\.0\.1:\d+\): NOPERM/,
    )
    // Before, the read went on to the snapshot's end (about 12 s) and failed only then.
    expect(afterRefusal).toBeLessThan(5000)
    expect(await target.admin().then((c) => c.dbsize())).toBeLessThan(8000)
    const saved = JSON.parse(readFileSync(checkpoint, 'utf8'))
    expect(Object.values(saved.nodes)).toEqual([expect.objectContaining({ done: false, keys: 0 })])
    // With the right restored, the same command copies everything.
    await syncSettings(source)
    const again = await migrate(args)
    expect(again.code, again.stderr.slice(-2000)).toBe(0)
    expect(await sameData(source, target)).toBe(8000)
  }, 180_000)

  it("the target's connection cut mid-snapshot: exit 5 naming the connection, not blamed on the source's snapshot", async () => {
    const { target, run } = await midSnapshot('cut', { usPerKey: 500, after: 500 })
    const t = await target.admin()
    const writers = String(await t.call('CLIENT', 'LIST'))
      .split('\n')
      .filter((l) => / name=kvtop-restore /.test(l))
      .map((l) => /^id=(\d+)/.exec(l)![1])
    expect(writers.length).toBeGreaterThan(0)
    for (const id of writers) await t.call('CLIENT', 'KILL', 'ID', id)
    const r = await run.done
    expect(r.code, r.stderr.slice(-2000)).toBe(5)
    const error = events(r).find((e) => e.type === 'error')!
    expect(error.message).toMatch(/Connection is closed/)
    expect(error.message).not.toMatch(/replication snapshot|source/)
  }, 120_000)

  it('kill -9 mid-snapshot, then the same command: finished shards are skipped, the others read from a new SYNC; the target is identical', async () => {
    const [source, target] = await up({ shards: 3 }, { shards: 3 })
    const c = adminClusterClient(source)
    opened.push(c)
    await seedKeys(c, 'kill', 9000)
    await syncSettings(source)
    // Two shards stream slowly (~6 s each): the third finishes first and is checkpointed.
    const nodes = await admins(source)
    for (const a of nodes.slice(1)) await a.config('SET', 'rdb-key-save-delay', '2000')
    const fastKeys = Number(await nodes[0].dbsize())
    const checkpoint = join(dir, 'kill.ckpt')
    const args = [...pair(source, target), '--read', 'sync', '--checkpoint', checkpoint, '--json']
    const run = startCli(['migrate', 'run', ...args])
    const deadline = Date.now() + 60_000
    while (savedKeys(checkpoint) < fastKeys && Date.now() < deadline) await sleep(100)
    run.kill('SIGKILL')
    expect((await run.done).code).toBe(null)
    const killed = JSON.parse(readFileSync(checkpoint, 'utf8'))
    expect(savedKeys(checkpoint)).toBe(fastKeys)
    expect(
      Object.values(killed.nodes as Record<string, { done: boolean }>).filter((n) => n.done),
    ).toHaveLength(1)
    for (const a of nodes) await a.config('SET', 'rdb-key-save-delay', '0')
    const again = await migrate(args)
    expect(again.code, again.stderr.slice(-2000)).toBe(0)
    expect(JSON.parse(again.stdout)).toMatchObject({
      resumed: true,
      copiedThisRun: 9000 - fastKeys,
      keys: 9000,
    })
    expect(await sameData(source, target)).toBe(9000)
  }, 180_000)

  it('the source restarted mid-snapshot: exit 5 naming it, the checkpoint saved; the same command completes', async () => {
    const checkpoint = join(dir, 'restart.ckpt')
    const { source, target, args, run } = await midSnapshot('rs', {
      usPerKey: 500,
      after: 500,
      extra: ['--checkpoint', checkpoint],
    })
    await restartStandalone(source)
    const first = await run.done
    expect(first.code, first.stderr.slice(-2000)).toBe(5)
    const error = events(first).find((e) => e.type === 'error')!
    expect(error).toMatchObject({ exitCode: 5, resumable: true })
    expect(error.message).toMatch(/replication snapshot of 127\.0\.0\.1:\d+ ended before its RDB did/)
    expect(JSON.parse(readFileSync(checkpoint, 'utf8'))).toMatchObject({ finished: false })
    await syncSettings(source)
    const again = await migrate(args)
    expect(again.code, again.stderr.slice(-2000)).toBe(0)
    expect(JSON.parse(again.stdout)).toMatchObject({
      resumed: true,
      read: 'sync',
      restarted: [expect.any(String)],
    })
    expect(await sameData(source, target)).toBe(8000)
  }, 180_000)
})

describe('migrate run --read sync against a hung source', () => {
  it('a source that stops sending its snapshot (SIGSTOP): exit 5 after --stall-timeout, naming the node', async () => {
    const { source, run } = await midSnapshot('hung', {
      usPerKey: 500,
      after: 300,
      extra: ['--stall-timeout', '2'],
    })
    const pid = source.summary.nodes[0].pid!
    try {
      process.kill(pid, 'SIGSTOP')
      const r = await run.done
      expect(r.code, r.stderr.slice(-2000)).toBe(5)
      const error = events(r).find((e) => e.type === 'error')!
      expect(error.message).toMatch(/the source node 127\.0\.0\.1:\d+ has not answered for \d+ s/)
    } finally {
      process.kill(pid, 'SIGCONT')
    }
  }, 120_000)
})

describe('migrate run --read sync --live', () => {
  it('changes and deletions made during the snapshot reach the target, none resurrected by the older snapshot value', async () => {
    const [source, target] = await up({}, {})
    const s = await source.admin()
    await s.config('SET', 'notify-keyspace-events', 'KEA')
    await seedKeys(s, 'live', 6000, ['bytes', 'hash', 'expiring'])
    await syncSettings(source, 500)
    const args = [...pair(source, target), '--read', 'sync', '--live', '--until-synced', '--json']
    const run = startCli(['migrate', 'run', ...args])
    await run.waitForStderr((l) => /"type":"progress"/.test(l) && JSON.parse(l).done > 300, 60_000)
    // During the snapshot: keys already written and keys still to come, changed and deleted.
    for (let i = 0; i < 6000; i += 40) {
      await s.del(binaryKey('live', i))
      await s.set(binaryKey('live', i + 1), Buffer.from([0xff, 0x00, 0x0d, 0x0a, i & 0xff]))
      await s.set(binaryKey('live', i + 2), Buffer.from([0xfe, 0]), 'PX', 3_600_000)
      await s.persist(binaryKey('live', i + 3))
      await s.set(binaryKey('fresh', i), 'created during the snapshot')
    }
    await syncSettings(source)
    const r = await run.done
    expect(r.code, r.stderr.slice(-2000)).toBe(0)
    const report = JSON.parse(r.stdout)
    expect(report).toMatchObject({ read: 'sync', inSync: true, errors: { total: 0 } })
    expect(report.liveDeletes).toBeGreaterThan(0)
    expect(await sameData(source, target)).toBe(6000) // 150 deleted, 150 created
  }, 180_000)
})
