import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Cluster, type Redis } from 'ioredis'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { openNode } from '../../../../src/connect/client.js'
import { ADMIN_USER } from '../../../../src/sandbox/flavors.js'
import { adminSpec } from '../../../../src/sandbox/sandbox.js'
import { keySlot } from '../../../../src/wire/routed-pipeline.js'
import { runCli, startCli, type CliResult } from '../../../helpers/cli.js'
import { binaryKey, digestsByKey, seedKeys } from '../../../helpers/dataset.js'
import { adminClusterClient, startSandbox, type TestSandbox } from '../../../helpers/sandbox.js'
import { MixedWriter } from './writer.js'

/**
 * What must stop a migration, or keep it from claiming it finished, against real servers: slots
 * being moved before or during the copy, writes the target refuses, partial keyspace notification
 * settings under --live, Ctrl-C with live changes pending, a checkpoint another run holds or that
 * records other options; and verify's own throttle and error replies.
 */
let ec: TestSandbox // standalone, CONFIG refused to the client (a managed service)
let rs: TestSandbox // standalone, CONFIG allowed
let ecCluster: TestSandbox // 2 shards
let mdb: TestSandbox // the target: 3 shards
let dir: string
const opened: (Redis | Cluster)[] = []

const primaries = (sb: TestSandbox) => sb.state.nodes.filter((n) => n.role === 'primary')
async function admin(sb: TestSandbox, port = sb.state.nodes[0].port): Promise<Redis> {
  const r = await openNode(adminSpec(sb.state), { host: '127.0.0.1', port })
  opened.push(r)
  return r
}
/** Commands the node has answered since it started (INFO commandstats, every command's calls). */
async function commandsServed(r: Redis): Promise<number> {
  let calls = 0
  for (const m of String(await r.info('commandstats')).matchAll(/calls=(\d+)/g)) calls += Number(m[1])
  return calls
}
const admins = (sb: TestSandbox) => Promise.all(primaries(sb).map((n) => admin(sb, n.port)))

function clusterClient(sb: TestSandbox): Cluster {
  const c = adminClusterClient(sb)
  opened.push(c)
  return c
}

const seed = (db: Redis | Cluster, prefix: string, count: number) =>
  seedKeys(db, prefix, count, ['bytes', 'hash', 'zset', 'expiring'])

async function sameData(a: TestSandbox, b: TestSandbox): Promise<number> {
  const [x, y] = await Promise.all([digestsByKey(await admins(a)), digestsByKey(await admins(b))])
  const diff = [...new Set([...x.keys(), ...y.keys()])].filter((k) => x.get(k) !== y.get(k))
  expect(diff.slice(0, 5), `${diff.length} keys differ`).toEqual([])
  return x.size
}

async function targetKeys(): Promise<number> {
  let n = 0
  for (const a of await admins(mdb)) n += await a.dbsize()
  return n
}

const pair = (source: TestSandbox) => ['--source', source.url, '--target', mdb.url]
const migrate = (args: string[], timeoutMs = 120_000) => runCli(['migrate', ...args], { timeoutMs })
const errorOf = (r: CliResult) => JSON.parse(r.stdout).error
const event = (line: string) => (line.startsWith('{') ? JSON.parse(line) : {})
const checkpointAt = (path: string) => JSON.parse(readFileSync(path, 'utf8'))

/** The target's client user may write only keys matching `pattern` (~* restores it). */
async function targetKeyPattern(pattern: string): Promise<void> {
  for (const a of await admins(mdb))
    await a.call('ACL', 'SETUSER', mdb.state.clientUser, 'resetkeys', pattern)
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kvtop-guards-'))
  ;[ec, rs, ecCluster, mdb] = await Promise.all([
    startSandbox({ shards: 0, replicas: 0, flavor: 'elasticache' }),
    startSandbox({ shards: 0, replicas: 0, flavor: 'redis' }),
    startSandbox({ shards: 2, replicas: 0, flavor: 'elasticache' }),
    startSandbox({ shards: 3, replicas: 0, flavor: 'memorydb' }),
  ])
})

afterAll(async () => {
  for (const c of opened) c.disconnect()
  await Promise.all([ec?.down(), rs?.down(), ecCluster?.down(), mdb?.down()])
  if (dir) rmSync(dir, { recursive: true, force: true })
})

beforeEach(async () => {
  for (const sb of [ec, rs, ecCluster, mdb]) for (const a of await admins(sb)) await a.flushall()
  for (const sb of [ec, rs, ecCluster])
    for (const a of await admins(sb)) await a.config('SET', 'notify-keyspace-events', '')
})

describe('migrate run: the slot map, before and after the copy', () => {
  it('a source or target cluster with a slot being moved (MIGRATING / IMPORTING) is refused before copying: exit 2, the slot and nodes named', async () => {
    await seed(clusterClient(ecCluster), 'open', 300)
    const [a, b] = await admins(ecCluster)
    const [pa, pb] = primaries(ecCluster).map((n) => n.port)
    const idB = String(await b.call('CLUSTER', 'MYID'))
    // Only the migrating node shows it, in its own line of CLUSTER NODES.
    await a.call('CLUSTER', 'SETSLOT', '100', 'MIGRATING', idB)
    try {
      const r = await migrate(['run', ...pair(ecCluster), '--json'])
      expect(r.code, r.stderr).toBe(2)
      expect(errorOf(r)).toMatchObject({
        code: 'slots-moving',
        message: `the source cluster has slots being moved: slot 100 migrating from 127.0.0.1:${pa} to 127.0.0.1:${pb}`,
      })
      expect(errorOf(r).hint).toMatch(/resharding/)
    } finally {
      await a.call('CLUSTER', 'SETSLOT', '100', 'STABLE')
    }
    expect(await targetKeys()).toBe(0)

    const [q1, , q3] = primaries(mdb).map((n) => n.port)
    const id3 = String(await (await admin(mdb, q3)).call('CLUSTER', 'MYID'))
    const t1 = await admin(mdb, q1)
    const slot = 16000 // served by the last shard, being imported into the first
    await t1.call('CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', id3)
    try {
      const r = await migrate(['run', ...pair(ecCluster), '--json'])
      expect(r.code, r.stderr).toBe(2)
      expect(errorOf(r).message).toBe(
        `the target cluster has slots being moved: slot ${slot} importing into 127.0.0.1:${q1} from 127.0.0.1:${q3}`,
      )
    } finally {
      await t1.call('CLUSTER', 'SETSLOT', String(slot), 'STABLE')
    }
    expect(await targetKeys()).toBe(0)
    const ok = await migrate(['run', ...pair(ecCluster), '--json'])
    expect(ok.code, ok.stderr.slice(-2000)).toBe(0)
  })

  it('a slot moved to another shard during the copy: exit 5 "the source topology changed", checkpoint not finished, no "bulk-done"; the same command again finishes with no key missing', async () => {
    const moving = await startSandbox({ shards: 2, replicas: 0, flavor: 'elasticache' })
    try {
      const keys = 8000
      await seed(clusterClient(moving), 'mv', keys)
      const [from, to] = primaries(moving).map((n) => n.port)
      const [a, b] = [await admin(moving, from), await admin(moving, to)]
      // A slot of the first shard that holds keys.
      const slot = [...Array(keys).keys()]
        .map((i) => keySlot(binaryKey('mv', i)))
        .find((s) => s > 5000 && s < 8000)!
      expect(await a.call('CLUSTER', 'COUNTKEYSINSLOT', String(slot))).toBeGreaterThan(0)
      const checkpoint = join(dir, 'moving.ckpt')
      const args = [
        'migrate',
        'run',
        '--source',
        moving.url,
        '--target',
        mdb.url,
        '--checkpoint',
        checkpoint,
        '--max-ops',
        '1500',
        '--json',
      ]
      const run = startCli(args)
      await run.waitForStderr((l) => event(l).type === 'progress' && event(l).done > 500, 30_000)
      // A resharding of one slot, as redis-cli --cluster reshard does it.
      const [idA, idB] = [String(await a.call('CLUSTER', 'MYID')), String(await b.call('CLUSTER', 'MYID'))]
      await b.call('CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', idA)
      await a.call('CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', idB)
      for (;;) {
        const batch = (await a.callBuffer('CLUSTER', 'GETKEYSINSLOT', String(slot), '100')) as Buffer[]
        if (!batch.length) break
        await a.call(
          'MIGRATE',
          '127.0.0.1',
          String(to),
          '',
          '0',
          '5000',
          'AUTH2',
          ADMIN_USER,
          moving.state.adminPassword,
          'KEYS',
          ...batch,
        )
      }
      await b.call('CLUSTER', 'SETSLOT', String(slot), 'NODE', idB)
      await a.call('CLUSTER', 'SETSLOT', String(slot), 'NODE', idB)

      const r = await run.done
      expect(r.code, r.stderr.slice(-2000)).toBe(5)
      const error = errorOf(r)
      expect(error).toMatchObject({
        message: 'the source topology changed during the copy: run the same command again to finish',
        code: 'topology-changed',
        resumable: true,
      })
      expect(error.hint).toMatch(/slot owners changed/)
      expect(r.stderr).not.toMatch(/"phase":"bulk-done"/)
      const saved = checkpointAt(checkpoint)
      expect(saved.finished).toBe(false)
      // The checkpoint now records the new layout: the slot moved to the second shard.
      expect(Object.keys(saved.shards).sort()).toEqual(
        [`${slot},8192-16383`, `0-${slot - 1},${slot + 1}-8191`].sort(),
      )
      const status = await migrate(['status', '--checkpoint', checkpoint])
      expect(status.stdout).toMatch(/^in progress: /)

      const again = await runCli(args, { timeoutMs: 180_000 })
      expect(again.code, again.stderr.slice(-3000)).toBe(0)
      expect(JSON.parse(again.stdout)).toMatchObject({ resumed: true, verify: { identical: true } })
      expect(checkpointAt(checkpoint).finished).toBe(true)
      expect(await sameData(moving, mdb)).toBe(keys)
    } finally {
      await moving.down()
    }
  }, 240_000)
})

describe('migrate run: never finished while a write was refused', () => {
  it('the target refuses some keys (ACL): exit 5, checkpoint not finished; once allowed, the same command copies them, none missing', async () => {
    const src = await admin(ec)
    await seed(src, 'k', 3000)
    for (let i = 0; i < 20; i++) await src.set(binaryKey('deny', i), `v${i}`)
    const checkpoint = join(dir, 'refused.ckpt')
    const args = ['run', ...pair(ec), '--checkpoint', checkpoint, '--json']
    await targetKeyPattern('~k:*')
    try {
      const r = await migrate(args)
      expect(r.code, r.stderr.slice(-2000)).toBe(5)
      expect(errorOf(r).message).toMatch(
        /^the migration stopped: the target refused "deny:\d+:\\x00\\r\\n\\xff"/,
      )
      expect(errorOf(r).resumable).toBe(true)
      expect(checkpointAt(checkpoint)).toMatchObject({ finished: false })
    } finally {
      await targetKeyPattern('~*')
    }
    const again = await migrate(args)
    expect(again.code, again.stderr.slice(-2000)).toBe(0)
    expect(JSON.parse(again.stdout)).toMatchObject({ errors: { total: 0 }, verify: { identical: true } })
    expect(checkpointAt(checkpoint).finished).toBe(true)
    expect(await sameData(ec, mdb)).toBe(3020)
  })

  it('--live: a live re-copy the target refuses stops the run (exit 5), never in sync, checkpoint not finished', async () => {
    await (await admin(ec)).config('SET', 'notify-keyspace-events', 'KEA')
    const src = await admin(ec)
    await seed(src, 'k', 500)
    const checkpoint = join(dir, 'live-refused.ckpt')
    await targetKeyPattern('~k:*')
    try {
      const run = startCli(['migrate', 'run', ...pair(ec), '--live', '--checkpoint', checkpoint, '--json'])
      await run.waitForStderr(/"phase":"bulk-done"/, 30_000)
      await src.set(binaryKey('deny', 1), 'refused')
      const r = await run.done
      expect(r.code, r.stderr.slice(-2000)).toBe(5)
      expect(errorOf(r).message).toMatch(/the target refused "deny:1:\\x00\\r\\n\\xff"/)
      expect(checkpointAt(checkpoint)).toMatchObject({ finished: false, inSync: false })
    } finally {
      await targetKeyPattern('~*')
    }
  })
})

describe('migrate run --live: keyspace notifications of every class', () => {
  it('CONFIG readable: a partial notify-keyspace-events is refused before copying (exit 2) naming the letters to add; plan --live says the same as a blocker', async () => {
    await seed(await admin(rs), 'n', 200)
    await (await admin(rs)).config('SET', 'notify-keyspace-events', 'Kg$')
    const r = await migrate(['run', ...pair(rs), '--live', '--json'])
    expect(r.code, r.stderr).toBe(2)
    expect(errorOf(r)).toMatchObject({ code: 'notifications-incomplete' })
    expect(errorOf(r).message).toMatch(
      /^keyspace notifications on 127\.0\.0\.1:\d+ lack what --live relies on \(notify-keyspace-events is "[gK$]{3}"\): l \(list\), s \(set\), h \(hash\), z \(sorted set\), t \(stream\), x \(expired\), e \(evicted\); add "lshztxe" \(or set KEA\)$/,
    )
    expect(errorOf(r).hint).toMatch(/CONFIG SET notify-keyspace-events KEA/)
    expect(await targetKeys()).toBe(0)

    const plan = await migrate(['plan', ...pair(rs), '--live', '--json'])
    expect(plan.code).toBe(1)
    const item = JSON.parse(plan.stdout).items.find((i: { check: string }) => i.check === 'notifications')
    expect(item).toMatchObject({ level: 'blocker', summary: expect.stringContaining('add "lshztxe"') })
    // Without --live it is only a warning.
    const plain = await migrate(['plan', ...pair(rs), '--json'])
    expect(JSON.parse(plain.stdout).items).toContainEqual(
      expect.objectContaining({ check: 'notifications', level: 'warning' }),
    )

    // Everything but evictions: still refused, for e alone.
    await (await admin(rs)).config('SET', 'notify-keyspace-events', 'Kg$lshzxt')
    const noE = await migrate(['run', ...pair(rs), '--live', '--json'])
    expect(noE.code).toBe(2)
    expect(errorOf(noE).message).toMatch(/: e \(evicted\); add "e" \(or set KEA\)$/)
  })

  it('CONFIG refused (managed service): a test write of each class shows which are off; refused naming them, the scratch key removed', async () => {
    const src = await admin(ec)
    await seed(src, 'n', 200)
    await src.config('SET', 'notify-keyspace-events', 'Kg$hx')
    const r = await migrate(['run', ...pair(ec), '--live', '--json'])
    expect(r.code, r.stderr).toBe(2)
    expect(errorOf(r).message).toMatch(
      /^keyspace notifications on 127\.0\.0\.1:\d+ lack what --live relies on: l \(list\), s \(set\), z \(sorted set\), t \(stream\); add "lszt" \(or set KEA\)$/,
    )
    expect(errorOf(r).hint).toMatch(/refuses CONFIG/)
    expect(await src.dbsize()).toBe(200) // the probe's scratch key is gone
    expect(await src.keys('__kvtop_probe__*')).toEqual([])
    expect(await targetKeys()).toBe(0)
    const plan = await migrate(['plan', ...pair(ec), '--live', '--json'])
    expect(plan.code).toBe(1)
    expect(JSON.parse(plan.stdout).items).toContainEqual(
      expect.objectContaining({
        level: 'blocker',
        check: 'notifications',
        summary: expect.stringContaining('add "lszt"'),
      }),
    )
    // Every class on (no eviction policy to worry about): it copies.
    await src.config('SET', 'notify-keyspace-events', 'KEA')
    const ok = await migrate(['run', ...pair(ec), '--live', '--until-synced', '--json'])
    expect(ok.code, ok.stderr.slice(-2000)).toBe(0)
  })

  it('E without K (keyevent channels only) is followed too: changes after the bulk copy reach the target', async () => {
    const src = await admin(rs)
    await seed(src, 'e', 500)
    await src.config('SET', 'notify-keyspace-events', 'Eg$lshzxet')
    const run = startCli(['migrate', 'run', ...pair(rs), '--live', '--json'])
    try {
      const first = event(await run.waitForStderr(/"type":"in-sync"/, 30_000))
      await src.set(binaryKey('e', 0), Buffer.from([0xff, 0x00, 0x0d, 0x0a]))
      await src.del(binaryKey('e', 1))
      await src.hset(binaryKey('e', 5), 'new\r\n', Buffer.from([0x00]))
      await src.set(binaryKey('late', 1), 'new key')
      await src.zadd(binaryKey('e', 2), 7, Buffer.from([0xfe]))
      const changed = Date.now()
      await run.waitForStderr(
        (l) => event(l).type === 'in-sync' && event(l).at > Math.max(first.at, changed),
        30_000,
      )
    } finally {
      run.kill('SIGINT')
    }
    const r = await run.done
    expect(r.code, r.stderr.slice(-2000)).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({ inSync: true, liveDeletes: 1, verify: { identical: true } })
    expect(await sameData(rs, mdb)).toBe(500)
  })

  it('Ctrl-C while live changes are still pending: exit 5, resumable, saying how many were pending; checkpoint not finished', async () => {
    const src = await admin(ec)
    await src.config('SET', 'notify-keyspace-events', 'KEA')
    await seed(src, 'c', 300)
    const checkpoint = join(dir, 'pending.ckpt')
    const run = startCli([
      'migrate',
      'run',
      ...pair(ec),
      '--live',
      '--checkpoint',
      checkpoint,
      '--max-ops',
      '200',
      '--json',
    ])
    const writer = new MixedWriter(await admin(ec), { prefix: 'w', keys: 3000, batch: 50, pauseMs: 5 })
    try {
      await run.waitForStderr(/"phase":"bulk-done"/, 30_000)
      writer.start()
      // Changes come far faster than 200 commands/s can copy them.
      await run.waitForStderr((l) => event(l).type === 'live' && event(l).pending > 500, 20_000)
      run.kill('SIGINT')
      const r = await run.done
      expect(r.code, r.stderr.slice(-2000)).toBe(5)
      const error = errorOf(r)
      expect(error.resumable).toBe(true)
      expect(error.code).toBe('changes-pending')
      const n = Number(
        /^interrupted with (\d+) live changes not yet copied to the target$/.exec(error.message)?.[1],
      )
      expect(n).toBeGreaterThan(0)
      expect(checkpointAt(checkpoint)).toMatchObject({ finished: false, inSync: false })
      expect(existsSync(`${checkpoint}.lock`)).toBe(false)
    } finally {
      await writer.stop()
      run.kill('SIGKILL')
    }
  })
})

describe('migrate run: one run per checkpoint, with the options it records', () => {
  it('a second run on a checkpoint in use is refused naming the pid; --mode and --db-map other than recorded are refused; a version-1 checkpoint too', async () => {
    await seed(await admin(ec), 'l', 20_000)
    const checkpoint = join(dir, 'locked.ckpt')
    const args = ['run', ...pair(ec), '--checkpoint', checkpoint, '--json']
    const first = startCli(['migrate', ...args, '--max-ops', '2000'])
    try {
      await first.waitForStderr((l) => event(l).type === 'progress' && event(l).done > 1000, 30_000)
      for (let i = 0; i < 100 && !existsSync(checkpoint); i++) await new Promise((r) => setTimeout(r, 100))
      const second = await migrate(args)
      expect(second.code).toBe(2)
      expect(errorOf(second)).toMatchObject({ code: 'state-locked' })
      expect(errorOf(second).message).toMatch(
        new RegExp(
          `^the kvtop migrate checkpoint ${checkpoint} is in use by another kvtop run \\(pid ${first.pid} on `,
        ),
      )
    } finally {
      first.kill('SIGKILL')
    }
    await first.done
    expect(existsSync(checkpoint)).toBe(true)
    expect(checkpointAt(checkpoint)).toMatchObject({ mode: 'dump', dbMap: '' })

    const logical = await migrate([...args, '--mode', 'logical'])
    expect(logical.code).toBe(2)
    expect(errorOf(logical).message).toBe(`the checkpoint ${checkpoint} records --mode dump, not logical`)
    // The dead run's lock was taken over, with a warning naming it.
    expect(logical.stderr).toContain(`locked by pid ${first.pid}`)
    const mapped = await migrate([...args, '--db-map', '1:0'])
    expect(mapped.code).toBe(2)
    expect(errorOf(mapped).message).toBe(`the checkpoint ${checkpoint} records no --db-map, not --db-map 1:0`)
    expect(existsSync(`${checkpoint}.lock`)).toBe(false)

    const old = join(dir, 'v1.ckpt')
    writeFileSync(
      old,
      JSON.stringify({
        kind: 'kvtop-migrate',
        version: 1,
        source: ['127.0.0.1:1'],
        target: ['127.0.0.1:2'],
        nodes: {},
      }),
    )
    const v1 = await migrate(['run', ...pair(ec), '--checkpoint', old, '--json'])
    expect(v1.code).toBe(2)
    expect(errorOf(v1).message).toMatch(
      /was written by an older kvtop \(format version 1.*\): start a new kvtop migrate checkpoint$/,
    )
    expect(await targetKeys()).toBeLessThan(20_000) // the killed run's part only
  })
})

describe('verify --max-ops, and error replies in verify', () => {
  it('kvtop verify --max-ops N keeps every node to N commands per second (a lower bound on its time); so does migrate run --max-ops for its final verify', async () => {
    await seed(await admin(ec), 'v', 300)
    const copy = await migrate(['run', ...pair(ec), '--no-verify', '--json'])
    expect(copy.code, copy.stderr).toBe(0)
    // The lower bound follows from what the source node really answered (INFO commandstats): at
    // 200/s, at least (served - 100 for the last batch - 20 of burst) / 200 seconds.
    const source = await admin(ec)
    const before = await commandsServed(source)
    const v = await runCli(['verify', ...pair(ec), '--max-ops', '200', '--passes', '1', '--json'], {
      timeoutMs: 60_000,
    })
    const served = (await commandsServed(source)) - before - 1 // the first INFO itself
    expect(v.code, v.stderr.slice(-2000)).toBe(0)
    expect(JSON.parse(v.stdout)).toMatchObject({ identical: true, sourceKeys: 300 })
    // At least the expiry of every key and its value's read (one MGET for the strings of a batch).
    expect(served).toBeGreaterThanOrEqual(300 + 1)
    expect(v.ms).toBeGreaterThanOrEqual(((served - 100 - 20) / 200) * 1000)

    for (const a of await admins(mdb)) await a.flushall()
    const run = startCli(['migrate', 'run', ...pair(ec), '--max-ops', '300', '--json'])
    const verifyAt = event(await run.waitForStderr(/"phase":"verify"/, 30_000)).at
    const r = await run.done
    const verifyMs = Date.now() - verifyAt
    expect(r.code, r.stderr.slice(-2000)).toBe(0)
    expect(JSON.parse(r.stdout).verify.identical).toBe(true)
    // At least a value read and the expiry of each of the 300 keys at 300/s (an MGET counts a read per
    // key): (600 - 100 - 30) / 300 = 1.6 s.
    expect(verifyMs).toBeGreaterThanOrEqual(1500)
  }, 120_000)

  it('an error reply to PTTL / PEXPIRETIME fails verify (exit 5, the command named), never "no expiry"', async () => {
    const src = await admin(rs)
    await seed(src, 't', 50)
    // The same keys on another server (a server compared with itself is refused as such).
    const other = await admin(ec)
    await other.flushall()
    await seed(other, 't', 50)
    const user = rs.state.clientUser
    await src.call('ACL', 'SETUSER', user, '-pttl', '-pexpiretime')
    try {
      const r = await runCli(['verify', '--source', rs.url, '--target', ec.url, '--json'])
      expect(r.code, r.stderr.slice(-2000)).toBe(5)
      expect(errorOf(r).message).toMatch(/^PTTL refused on the (source|target): NOPERM/)
    } finally {
      await src.call('ACL', 'SETUSER', user, '+pttl', '+pexpiretime')
    }
  })
})
