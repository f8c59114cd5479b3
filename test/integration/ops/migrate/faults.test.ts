import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Cluster, type Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { adminSpec } from '../../../../src/sandbox/sandbox.js'
import { runCli, startCli } from '../../../helpers/cli.js'
import { digestsByKey } from '../../../helpers/dataset.js'
import { startSandbox, type TestSandbox } from '../../../helpers/sandbox.js'

/**
 * migrate run under the faults an engineer meets at 3 a.m.: a target out of memory, a source shard
 * failing over mid-copy. Each ends with a key-by-key comparison (DEBUG DIGEST-VALUE on every
 * primary), independently of kvtop's own verify.
 */
let dir: string
const sandboxes: TestSandbox[] = []
const opened: (Redis | Cluster)[] = []

const primaries = (sb: TestSandbox) => sb.summary.nodes.filter((n) => n.role === 'primary')
const admins = (sb: TestSandbox) => Promise.all(primaries(sb).map((n) => sb.admin(n.port)))

/** Binary keys (NUL, CR LF, invalid UTF-8) of several types, some with TTLs. */
async function seed(db: Redis | Cluster, prefix: string, count: number, valueBytes = 40): Promise<void> {
  for (let start = 0; start < count; start += 1000) {
    const sent: Promise<unknown>[] = []
    for (let i = start; i < Math.min(count, start + 1000); i++) {
      const key = Buffer.concat([Buffer.from(`${prefix}:${i}:`), Buffer.from([0x00, 0x0d, 0x0a, 0xff])])
      const value = Buffer.alloc(valueBytes, i & 0xff)
      if (i % 4 === 0) sent.push(db.hset(key, 'f\r\n', value, 'g', String(i)))
      else if (i % 4 === 1) sent.push(db.set(key, value, 'EX', 3600))
      else sent.push(db.set(key, value))
    }
    await Promise.all(sent)
  }
}

async function sameData(a: TestSandbox, b: TestSandbox): Promise<number> {
  const [x, y] = await Promise.all([digestsByKey(await admins(a)), digestsByKey(await admins(b))])
  const diff = [...new Set([...x.keys(), ...y.keys()])].filter((k) => x.get(k) !== y.get(k))
  expect(diff.slice(0, 5), `${diff.length} keys differ`).toEqual([])
  return x.size
}

const migrate = (args: string[], timeoutMs = 120_000) => runCli(['migrate', ...args], { timeoutMs })
const pair = (source: TestSandbox, target: TestSandbox) => [
  '--source',
  `sandbox:${source.name}`,
  '--target',
  `sandbox:${target.name}`,
]

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kvtop-faults-'))
})

afterAll(async () => {
  for (const c of opened) c.disconnect()
  await Promise.all(sandboxes.map((s) => s.down()))
  if (dir) rmSync(dir, { recursive: true, force: true })
})

describe('migrate run against a target that runs out of memory', () => {
  it('stops with exit 5, keeps the checkpoint before the refused keys, and the same command finishes once memory is raised', async () => {
    const [source, target] = await Promise.all([startSandbox(), startSandbox()])
    sandboxes.push(source, target)
    await seed(await source.admin(), 'oom', 20_000, 100)
    const t = await target.admin()
    const used = Number(/used_memory:(\d+)/.exec(await t.info('memory'))![1])
    await t.config('SET', 'maxmemory-policy', 'noeviction')
    await t.config('SET', 'maxmemory', String(used + 512 * 1024))
    const checkpoint = join(dir, 'oom.ckpt')

    const first = await migrate([
      'run',
      ...pair(source, target),
      '--checkpoint',
      checkpoint,
      '--stall-timeout',
      '2',
      '--json',
    ])
    expect(first.code, first.stderr.slice(-2000)).toBe(5)
    expect(first.stderr).toMatch(/refuses writes .* for now \(OOM /)
    expect(first.stderr).toMatch(/kept refusing writes for 2 s \(OOM /)
    expect(first.stderr).toMatch(/raise its maxmemory/)
    const saved = JSON.parse(readFileSync(checkpoint, 'utf8'))
    expect(saved.finished).toBe(false)
    const onTarget = Number(await t.dbsize())
    expect(onTarget).toBeLessThan(20_000)
    // Every key the checkpoint counts as copied is on the target.
    const counted = Object.values(saved.nodes as Record<string, { keys: number }>).reduce(
      (n, s) => n + s.keys,
      0,
    )
    expect(counted).toBeLessThanOrEqual(onTarget)

    await t.config('SET', 'maxmemory', '0')
    const second = await migrate(['run', ...pair(source, target), '--checkpoint', checkpoint, '--json'])
    expect(second.code, second.stderr.slice(-2000)).toBe(0)
    const report = JSON.parse(second.stdout)
    expect(report.resumed).toBe(true)
    expect(report.errors.total).toBe(0)
    expect(report.verify.identical).toBe(true)
    expect(await sameData(source, target)).toBe(20_000)
  }, 180_000)

  it('a write refused for good (a DUMP payload the target cannot read) stops at once with exit 5 and names --mode logical', async () => {
    const [source, target] = await Promise.all([startSandbox(), startSandbox()])
    sandboxes.push(source, target)
    await seed(await source.admin(), 'acl', 2000)
    // The client user of the target may not RESTORE: a refusal for good, never retried.
    const t = await target.admin()
    await t.call('ACL', 'SETUSER', 'default', '-restore')
    const checkpoint = join(dir, 'refused.ckpt')
    const r = await migrate(['run', ...pair(source, target), '--checkpoint', checkpoint, '--json'], 60_000)
    expect(r.code, r.stderr.slice(-2000)).toBe(5)
    // Under --json stderr is NDJSON: the error event's message.
    const failure = r.stderr
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .find((e) => e.type === 'error')
    expect(failure).toMatchObject({ exitCode: 5, resumable: true })
    expect(failure.message).toMatch(/the target refused ".*" \(copied from 127\.0\.0\.1:\d+\): NOPERM/)
    expect(r.ms).toBeLessThan(30_000) // not retried for the stall timeout
    const saved = JSON.parse(readFileSync(checkpoint, 'utf8'))
    expect(saved.finished).toBe(false)
    expect(Object.values(saved.nodes as Record<string, { cursor: string; done: boolean }>)).toEqual([
      expect.objectContaining({ cursor: '0', done: false }),
    ])
    await t.call('ACL', 'SETUSER', 'default', '+restore')
    const again = await migrate(['run', ...pair(source, target), '--checkpoint', checkpoint, '--json'])
    expect(again.code, again.stderr.slice(-2000)).toBe(0)
    expect(await sameData(source, target)).toBe(2000)
  }, 120_000)
})

describe('migrate run when the source refuses to tell the expiry of keys', () => {
  it('an error reply to PEXPIRETIME stops the copy (exit 5) instead of copying the key without its expiry', async () => {
    const [source, target] = await Promise.all([startSandbox(), startSandbox()])
    sandboxes.push(source, target)
    await seed(await source.admin(), 'ttl', 200)
    await (await source.admin()).call('ACL', 'SETUSER', 'default', '-pexpiretime')
    const r = await migrate(['run', ...pair(source, target), '--json'], 60_000)
    expect(r.code, r.stderr.slice(-1500)).toBe(5)
    expect(r.stderr).toMatch(/PEXPIRETIME refused on 127\.0\.0\.1:\d+: NOPERM/)
    // Nothing was written as if it had no expiry.
    const t = await target.admin()
    for (const k of (await t.keysBuffer('*')) as Buffer[]) expect(await t.pttl(k)).not.toBe(-1)
  }, 60_000)
})

describe('migrate run --replace onto a target that holds data', () => {
  it('is refused without --yes when not on a terminal (exit 2, nothing written), and goes ahead with it', async () => {
    const [source, target] = await Promise.all([startSandbox(), startSandbox()])
    sandboxes.push(source, target)
    await seed(await source.admin(), 'rep', 500)
    const t = await target.admin()
    await t.set('theirs', 'keep')
    await t.set(Buffer.concat([Buffer.from('rep:1:'), Buffer.from([0x00, 0x0d, 0x0a, 0xff])]), 'old')
    const refused = await migrate(['run', ...pair(source, target), '--replace'])
    expect(refused.code, refused.stderr).toBe(2)
    expect(refused.stderr).toMatch(/refusing to overwrite keys on a target that holds 2 without --yes/)
    expect(await t.dbsize()).toBe(2)
    // (--no-verify: the target keeps a key of its own, which verify would rightly report.)
    const r = await migrate(['run', ...pair(source, target), '--replace', '--yes', '--no-verify', '--json'])
    expect(r.code, r.stderr.slice(-1500)).toBe(0)
    expect(await t.dbsize()).toBe(501)
    expect(await t.get('theirs')).toBe('keep')
  }, 60_000)
})

describe('migrate run while a source shard fails over', () => {
  it('loses no key: keys answered MOVED are read from the new primary; the run asks for a re-run, which finishes', async () => {
    const [source, target] = await Promise.all([
      startSandbox({ shards: 2, replicas: 1 }),
      startSandbox({ shards: 2, replicas: 0 }),
    ])
    sandboxes.push(source, target)
    const admin = adminSpec(source.state).endpoint
    const cluster = new Cluster(
      primaries(source).map((n) => ({ host: '127.0.0.1', port: n.port })),
      { redisOptions: { username: admin.username, password: admin.password } },
    )
    cluster.on('error', () => {})
    opened.push(cluster)
    await seed(cluster, 'fo', 30_000)
    const checkpoint = join(dir, 'failover.ckpt')
    const run = startCli([
      'migrate',
      'run',
      ...pair(source, target),
      '--checkpoint',
      checkpoint,
      '--max-ops',
      '6000',
      '--json',
    ])
    await run.waitForStderr((l) => /"type":"progress"/.test(l) && JSON.parse(l).done > 3000, 60_000)
    // The replica of shard 0 takes over: the old primary answers MOVED from now on.
    const replica = source.summary.nodes.find((n) => n.role === 'replica' && n.shard === 0)!
    const promoted = await source.admin(replica.port)
    await promoted.call('CLUSTER', 'FAILOVER')
    for (let i = 0; i < 100; i++) {
      if (/role:master/.test(await promoted.info('replication'))) break
      await new Promise((r) => setTimeout(r, 100))
    }
    const first = await run.done
    // Either the run followed the new primary to the end, or it stopped asking for a re-run.
    expect([0, 5], first.stderr.slice(-2000)).toContain(first.code)
    if (first.code === 5) {
      expect(first.stderr).toMatch(/run the same command again/i)
      expect(JSON.parse(readFileSync(checkpoint, 'utf8')).finished).toBe(false)
      const again = await migrate(['run', ...pair(source, target), '--checkpoint', checkpoint, '--json'])
      expect(again.code, again.stderr.slice(-2000)).toBe(0)
    }
    expect(existsSync(checkpoint)).toBe(true)
    // The old primary is a replica now: compare the current primaries of both sides.
    const nowPrimaries: Redis[] = []
    for (const n of source.summary.nodes) {
      const a = await source.admin(n.port)
      if (/role:master/.test(await a.info('replication'))) nowPrimaries.push(a)
    }
    const [x, y] = await Promise.all([digestsByKey(nowPrimaries), digestsByKey(await admins(target))])
    const diff = [...new Set([...x.keys(), ...y.keys()])].filter((k) => x.get(k) !== y.get(k))
    expect(diff.slice(0, 5), `${diff.length} keys differ`).toEqual([])
    expect(x.size).toBe(30_000)
  }, 240_000)
})
