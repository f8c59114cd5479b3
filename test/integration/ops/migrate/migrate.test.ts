import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Cluster, type Redis } from 'ioredis'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { runCli, startCli } from '../../../helpers/cli.js'
import { digestsByKey, seedKeys } from '../../../helpers/dataset.js'
import { adminClusterClient, startSandbox, type TestSandbox } from '../../../helpers/sandbox.js'
import { MixedWriter } from './writer.js'

/**
 * kvtop migrate between flavors of real servers: elasticache-flavored sources (standalone, and a
 * 2-shard cluster) into a memorydb-flavored 3-shard cluster. The datasets are compared by
 * DEBUG DIGEST-VALUE on every primary (independently of kvtop verify) after each copy.
 */
let ec: TestSandbox
let ecCluster: TestSandbox
let mdb: TestSandbox
let dir: string
const opened: (Redis | Cluster)[] = []

const primaries = (sb: TestSandbox) => sb.summary.nodes.filter((n) => n.role === 'primary')
const admins = (sb: TestSandbox) => Promise.all(primaries(sb).map((n) => sb.admin(n.port)))

function clusterClient(sb: TestSandbox): Cluster {
  const c = adminClusterClient(sb)
  opened.push(c)
  return c
}

async function setNotifications(sb: TestSandbox, flags: string): Promise<void> {
  for (const a of await admins(sb)) await a.config('SET', 'notify-keyspace-events', flags)
}

async function flush(sb: TestSandbox): Promise<void> {
  for (const a of await admins(sb)) await a.flushall()
}

async function sameData(a: TestSandbox, b: TestSandbox): Promise<number> {
  const [x, y] = await Promise.all([digestsByKey(await admins(a)), digestsByKey(await admins(b))])
  const diff = [...new Set([...x.keys(), ...y.keys()])].filter((k) => x.get(k) !== y.get(k))
  expect(diff.slice(0, 5), `${diff.length} keys differ`).toEqual([])
  return x.size
}

/** 20k keys on `source`, a throttled `migrate run` into the memorydb sandbox, 2000 keys in. */
async function throttledRunUnderway(source: TestSandbox, checkpoint: string, extra: string[] = []) {
  await seedKeys(await source.admin(), 'x', 20_000)
  const run = startCli([
    'migrate',
    'run',
    '--source',
    `sandbox:${source.name}`,
    '--target',
    `sandbox:${mdb.name}`,
    '--checkpoint',
    checkpoint,
    '--max-ops',
    '4000',
    ...extra,
    '--json',
  ])
  await run.waitForStderr((l) => /"type":"progress"/.test(l) && JSON.parse(l).done > 2000, 30_000)
  return run
}

const pair = (source: TestSandbox) => [
  '--source',
  `sandbox:${source.name}`,
  '--target',
  `sandbox:${mdb.name}`,
]
const migrate = (args: string[], timeoutMs = 120_000) => runCli(['migrate', ...args], { timeoutMs })

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kvtop-migrate-'))
  ;[ec, ecCluster, mdb] = await Promise.all([
    startSandbox({ shards: 0, replicas: 0, flavor: 'elasticache' }),
    startSandbox({ shards: 2, replicas: 0, flavor: 'elasticache' }),
    startSandbox({ shards: 3, replicas: 0, flavor: 'memorydb' }),
  ])
})

afterAll(async () => {
  for (const c of opened) c.disconnect()
  await Promise.all([ec?.down(), ecCluster?.down(), mdb?.down()])
  if (dir) rmSync(dir, { recursive: true, force: true })
})

beforeEach(async () => {
  await Promise.all([flush(ec), flush(ecCluster), flush(mdb)])
})

describe('kvtop migrate plan', () => {
  it('flags keys in db 3 as a blocker for a MemoryDB target: exit 1, the db named, what to do', async () => {
    const src = await ec.admin()
    await seedKeys(src, 'p', 50)
    await src.select(3)
    await src.set('in-db-3', 'x')
    const r = await migrate(['plan', ...pair(ec), '--json'])
    expect(r.code, r.stderr).toBe(1)
    const plan = JSON.parse(r.stdout)
    expect(plan.go).toBe(false)
    const blockers = plan.items.filter((i: { level: string }) => i.level === 'blocker')
    expect(blockers).toHaveLength(1)
    expect(blockers[0].summary).toMatch(/db 3/)
    expect(blockers[0].action).toMatch(/--db-map 3:0/)

    const text = await migrate(['plan', ...pair(ec)])
    expect(text.code).toBe(1)
    expect(text.stdout).toMatch(/^NO-GO: /)
    expect(text.stdout).toMatch(/^BLOCKER +\S.*db 3/m)

    // Mapped, it is no longer a blocker.
    const mapped = await migrate(['plan', ...pair(ec), '--db-map', '3:0', '--json'])
    expect(mapped.code, mapped.stdout).toBe(0)
    expect(JSON.parse(mapped.stdout).go).toBe(true)
  })

  it('a sampled key bigger than what the target takes in one command is a blocker, naming the key and the way out', async () => {
    const src = await ec.admin()
    await seedKeys(src, 'k', 200)
    await src.set(Buffer.from('huge\r\n\x00', 'latin1'), Buffer.alloc(3 * 1024 * 1024, 0x61))
    const ok = await migrate(['plan', ...pair(ec), '--json'])
    expect(JSON.parse(ok.stdout).items).toContainEqual(
      expect.objectContaining({
        level: 'ok',
        check: 'key-size',
        summary: expect.stringMatching(/^largest sampled key 3\.\d MB \("huge\\r\\n\\x00"\)/),
      }),
    )
    // A self-managed target whose setting kvtop can read (managed ones refuse CONFIG: their default applies).
    const small = await startSandbox({ shards: 0, replicas: 0 })
    try {
      await (await small.admin()).config('SET', 'proto-max-bulk-len', String(1024 * 1024))
      const r = await migrate([
        'plan',
        '--source',
        `sandbox:${ec.name}`,
        '--target',
        `sandbox:${small.name}`,
        '--json',
      ])
      expect(r.code, r.stderr).toBe(1)
      const blocker = JSON.parse(r.stdout).items.find((i: { check: string }) => i.check === 'key-size')
      expect(blocker).toMatchObject({ level: 'blocker' })
      expect(blocker.summary).toMatch(
        /^key "huge\\r\\n\\x00" on 127\.0\.0\.1:\d+ uses 3\.\d MB; the target takes at most 1\.0 MB/,
      )
      expect(blocker.action).toMatch(/--mode logical/)
    } finally {
      await small.down()
    }
  })

  it('run --live without notifications on the source exits 2 before copying, saying how to enable them', async () => {
    await setNotifications(ec, '')
    await seedKeys(await ec.admin(), 'n', 200)
    const r = await migrate(['run', ...pair(ec), '--live', '--no-verify'])
    expect(r.code, r.stderr).toBe(2)
    expect(r.stderr).toMatch(/keyspace notifications do not reach kvtop/)
    expect(r.stderr).toMatch(/notify-keyspace-events/)
    expect(r.stderr).toMatch(/parameter group/i)
    for (const a of await admins(mdb)) expect(await a.dbsize()).toBe(0)

    const plan = await migrate(['plan', ...pair(ec), '--live', '--json'])
    expect(plan.code).toBe(1)
    expect(JSON.parse(plan.stdout).items).toContainEqual(
      expect.objectContaining({ level: 'blocker', check: expect.stringMatching(/notification/i) }),
    )
  })

  it('refuses a target that holds data unless --replace, and leaves it as it was', async () => {
    await seedKeys(await ec.admin(), 'r', 100)
    const tgt = clusterClient(mdb)
    await tgt.set('mine', 'precious')
    const r = await migrate(['run', ...pair(ec), '--no-verify'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/the target already holds 1 keys/)
    expect(r.stderr).toMatch(/--replace/)
    expect(await tgt.get('mine')).toBe('precious')
    let total = 0
    for (const a of await admins(mdb)) total += await a.dbsize()
    expect(total).toBe(1)
  })
})

describe('kvtop migrate run', () => {
  it.each(['standalone', '2-shard cluster'])(
    '--live from a %s under a concurrent writer (SET, HSET, DEL, EXPIRE, INCR) reaches sync; after the writer stops, no difference',
    async (shape) => {
      const source = shape === 'standalone' ? ec : ecCluster
      const client = async () => (source === ec ? ec.admin() : clusterClient(ecCluster))
      await setNotifications(source, 'KEA')
      await seedKeys(await client(), 'live', 30_000)
      const writer = new MixedWriter(await client(), { prefix: 'w', keys: 3000, batch: 50, pauseMs: 5 })
      writer.start()
      const checkpoint = join(dir, `live-${source.name}.ckpt`)
      const run = startCli(
        ['migrate', 'run', ...pair(source), '--live', '--checkpoint', checkpoint, '--json'],
        {
          timeoutMs: 180_000,
        },
      )
      const event = (line: string) => (line.startsWith('{') ? JSON.parse(line) : {})
      let stoppedAt = 0
      try {
        await run.waitForStderr(/"type":"phase","phase":"bulk-done"/, 90_000)
        const inSync = event(await run.waitForStderr(/"type":"in-sync"/, 60_000))
        expect(inSync.message).toMatch(/in sync/)
        // The lag is shown while the writer goes on.
        const lag = event(
          await run.waitForStderr((l) => /"type":"live"/.test(l) && event(l).at > inSync.at, 5000),
        )
        expect(lag).toMatchObject({ pending: expect.any(Number), oldestAgeMs: expect.any(Number) })
        // Drive the writer to a count, not for a time: on a loaded machine it is slower, not shorter.
        await writer.until(20_000, 120_000)
      } finally {
        await writer.stop()
        stoppedAt = Date.now()
      }
      expect(writer.ops).toBeGreaterThanOrEqual(20_000)
      expect(writer.errors).toBe(0)
      // Writes stopped; the writer's expiries (at most 4 s) pass; then wait for the lag to drain and stop the run.
      await new Promise((r) => setTimeout(r, 4500))
      await run.waitForStderr(
        (l) => event(l).type === 'live' && event(l).pending === 0 && event(l).at > stoppedAt + 4500,
        10_000,
      )
      run.kill('SIGINT')
      const r = await run.done
      expect(r.code, `${r.stdout.slice(0, 4000)}\n${r.stderr.slice(-1500)}`).toBe(0)
      const report = JSON.parse(r.stdout)
      expect(report).toMatchObject({ inSync: true, resumed: false, errors: { total: 0 } })
      expect(report.keys).toBeGreaterThanOrEqual(30_000)
      // What the run must guarantee is the equality below; here only that both kinds of change were followed.
      expect(report.liveCopies).toBeGreaterThan(0)
      expect(report.liveDeletes).toBeGreaterThan(0)
      expect(report.verify.identical).toBe(true)

      // Independently of kvtop: every key's digest and expiry state, then kvtop verify on its own.
      expect(await sameData(source, mdb)).toBeGreaterThan(30_000)
      const v = await runCli(['verify', ...pair(source), '--passes', '1'], { timeoutMs: 90_000 })
      expect(v.code, v.stdout + v.stderr).toBe(0)
      expect(JSON.parse(readFileSync(checkpoint, 'utf8'))).toMatchObject({ finished: true, inSync: true })
      expect(statSync(checkpoint).mode & 0o777).toBe(0o600)
    },
    240_000,
  )

  it('--until-synced stops by itself once nothing is pending', async () => {
    await setNotifications(ec, 'KEA')
    await seedKeys(await ec.admin(), 'u', 2000)
    const r = await migrate(['run', ...pair(ec), '--live', '--until-synced', '--json'])
    expect(r.code, r.stderr.slice(-2000)).toBe(0)
    expect(r.stderr).toMatch(/"type":"in-sync"/)
    expect(JSON.parse(r.stdout)).toMatchObject({ keys: 2000, inSync: true, verify: { identical: true } })
  })

  it('SIGKILL in the middle of the bulk copy, same command again: resumes, copies far fewer keys, no difference', async () => {
    const keys = 60_000
    await seedKeys(clusterClient(ecCluster), 'k', keys)

    // A fresh run: what a restart from zero copies.
    const fresh = await migrate(['run', ...pair(ecCluster), '--json', '--no-verify'])
    expect(fresh.code, fresh.stderr).toBe(0)
    expect(JSON.parse(fresh.stdout)).toMatchObject({ keys, copiedThisRun: keys, resumed: false })
    await flush(mdb)

    const checkpoint = join(dir, 'kill.ckpt')
    const args = ['run', ...pair(ecCluster), '--checkpoint', checkpoint, '--json']
    const first = startCli(['migrate', ...args, '--max-ops', '6000'])
    let saved = 0
    const deadline = Date.now() + 60_000
    while (saved < keys / 4 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200))
      if (existsSync(checkpoint)) {
        const c = JSON.parse(readFileSync(checkpoint, 'utf8'))
        saved = Object.values(c.nodes as Record<string, { keys: number }>).reduce((n, s) => n + s.keys, 0)
      }
    }
    first.kill('SIGKILL')
    const killed = await first.done
    expect(killed.code).toBe(null)
    expect(saved).toBeGreaterThanOrEqual(keys / 4)
    expect(saved).toBeLessThan(keys)

    const status = await migrate(['status', '--checkpoint', checkpoint])
    expect(status.code).toBe(0)
    expect(status.stdout).toMatch(/^in progress: 0 of 2 source nodes done/)

    const second = await migrate(args)
    expect(second.code, second.stderr.slice(-3000)).toBe(0)
    const report = JSON.parse(second.stdout)
    expect(report.resumed).toBe(true)
    expect(report.copiedThisRun).toBeLessThan(keys - saved + 2000)
    expect(report.copiedThisRun).toBeLessThan(keys * 0.8)
    expect(report.verify.identical).toBe(true)
    expect(await sameData(ecCluster, mdb)).toBe(keys)

    const after = await migrate(['status', '--checkpoint', checkpoint, '--json'])
    expect(JSON.parse(after.stdout)).toMatchObject({ finished: true })
    // Run again: the checkpoint says it is done, nothing is copied twice.
    const again = await migrate(args)
    expect(again.code).toBe(2)
    expect(again.stderr).toMatch(/records a finished migration/)
  }, 240_000)

  it('Ctrl-C in the middle of a --live bulk copy: exit 5 saying it can be resumed, checkpoint kept', async () => {
    await setNotifications(ec, 'KEA')
    await seedKeys(await ec.admin(), 'i', 20_000)
    const checkpoint = join(dir, 'interrupt.ckpt')
    const run = startCli([
      'migrate',
      'run',
      ...pair(ec),
      '--live',
      '--checkpoint',
      checkpoint,
      '--max-ops',
      '4000',
      '--json',
    ])
    await run.waitForStderr((l) => /"type":"progress"/.test(l) && JSON.parse(l).done > 1000, 30_000)
    run.kill('SIGINT')
    const r = await run.done
    expect(r.code, r.stderr.slice(-2000)).toBe(5)
    expect(JSON.parse(r.stdout).error).toMatchObject({ resumable: true })
    expect(JSON.parse(r.stdout).error.message).toMatch(/interrupted before the copy was complete/)
    const saved = JSON.parse(readFileSync(checkpoint, 'utf8'))
    const node = Object.values(
      saved.nodes as Record<string, { done: boolean; keys: number; cursor: string }>,
    )[0]
    expect(node.done).toBe(false)
    expect(node.cursor).not.toBe('0')
    expect(node.keys).toBeGreaterThan(0)
  })

  it('--live whose subscription is dropped stops with exit 5 instead of claiming a sync it cannot see', async () => {
    await setNotifications(ec, 'KEA')
    await seedKeys(await ec.admin(), 'd', 2000)
    const run = startCli([
      'migrate',
      'run',
      ...pair(ec),
      '--live',
      '--checkpoint',
      join(dir, 'dropped.ckpt'),
      '--json',
    ])
    await run.waitForStderr(/"type":"in-sync"/, 30_000)
    await (await ec.admin()).call('CLIENT', 'KILL', 'TYPE', 'pubsub')
    const r = await run.done
    expect(r.code, r.stderr.slice(-2000)).toBe(5)
    const error = JSON.parse(r.stdout).error
    expect(error.message).toMatch(
      /keyspace notifications of .* stopped .*changes made meanwhile may not have been seen/,
    )
    expect(error.resumable).toBe(true)
  })

  it('--mode logical rebuilds every type (big ones in chunks) byte-exactly, live changes included', async () => {
    await setNotifications(ec, 'KEA')
    const src = await ec.admin()
    await seedKeys(src, 'lg', 3000)
    const bin = Buffer.from([0x00, 0x0d, 0x0a, 0xff])
    const hash: (string | Buffer)[] = []
    for (let i = 0; i < 2500; i++) hash.push(Buffer.concat([Buffer.from(`f${i}`), bin]), `v${i}`)
    await src.hset('big:hash', ...hash)
    await src.rpush('big:list', ...Array.from({ length: 2200 }, (_, i) => `e${i}`))
    await src.sadd(
      'big:set',
      ...Array.from({ length: 1500 }, (_, i) => Buffer.concat([bin, Buffer.from(`m${i}`)])),
    )
    await src.zadd('big:zset', ...Array.from({ length: 1500 }, (_, i) => [i / 7, `z${i}`]).flat())
    await src.set('big:string', Buffer.alloc(2_500_000, 0xfe), 'PX', 3_600_000)
    for (let i = 0; i < 1500; i++) await src.xadd('big:stream', `${i + 1}-0`, 'f', Buffer.from([i & 0xff, 0]))
    await src.xgroup('CREATE', 'big:stream', 'readers', '700-0')
    await src.xadd('small:stream', '5-1', 'a', 'b')
    await src.xgroup('CREATE', 'small:stream', 'g', '$')
    await src.xadd('empty:stream', '9-9', 'a', 'b')
    await src.xdel('empty:stream', '9-9')
    await src.pfadd('hll', 'a', 'b', 'c')
    for (const a of await admins(mdb)) await a.config('RESETSTAT')
    const run = startCli(['migrate', 'run', ...pair(ec), '--mode', 'logical', '--live', '--json'])
    const event = (line: string) => (line.startsWith('{') ? JSON.parse(line) : {})
    const synced = event(await run.waitForStderr(/"type":"in-sync"/, 60_000))
    // Changes while it follows: a field, a deletion, a type change, a new big value.
    await src.hset('big:hash', 'f1', 'changed')
    await src.del(Buffer.concat([Buffer.from('lg:1:'), bin]))
    await src.del('big:list')
    await src.set('big:list', 'now a string')
    await src.rpush('new:list', ...Array.from({ length: 1200 }, (_, i) => `n${i}`))
    await run.waitForStderr((l) => event(l).type === 'in-sync' && event(l).at > synced.at, 30_000)
    run.kill('SIGINT')
    const r = await run.done
    expect(r.code, r.stderr.slice(-2000)).toBe(0)
    const report = JSON.parse(r.stdout)
    expect(report.verify.identical).toBe(true)
    expect(report.liveCopies).toBeGreaterThanOrEqual(3)
    expect(report.liveDeletes).toBeGreaterThanOrEqual(1)
    expect(await sameData(ec, mdb)).toBe(3000 + 9)
    // Rebuilt with type commands: no RESTORE reached the target.
    const stats = (await Promise.all((await admins(mdb)).map((a) => a.info('commandstats')))).join('\n')
    expect(stats).not.toMatch(/cmdstat_restore:calls=[1-9]/) // the capability probe only rejects one
    for (const cmd of ['hset', 'rpush', 'sadd', 'zadd', 'xadd', 'xgroup|create', 'pexpireat', 'append'])
      expect(stats).toContain(`cmdstat_${cmd}:`)
    const v = await runCli(['verify', ...pair(ec), '--passes', '1'], { timeoutMs: 90_000 })
    expect(v.code, v.stdout + v.stderr).toBe(0)
  }, 120_000)

  it('the source node dies mid-copy: exit 5 saying the run can be resumed, checkpoint kept', async () => {
    const victim = await startSandbox({ shards: 0, replicas: 0, flavor: 'elasticache' })
    try {
      const checkpoint = join(dir, 'victim.ckpt')
      const run = await throttledRunUnderway(victim, checkpoint)
      // Killed once the checkpoint on disk holds acknowledged keys (written every 2 s): progress
      // counts keys sent, the checkpoint only pages whose every write the target acknowledged.
      const savedKeys = () => {
        if (!existsSync(checkpoint)) return 0
        const nodes = JSON.parse(readFileSync(checkpoint, 'utf8')).nodes as Record<string, { keys: number }>
        return Object.values(nodes)[0]?.keys ?? 0
      }
      const deadline = Date.now() + 60_000
      while (savedKeys() === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
      process.kill(victim.summary.nodes[0].pid!, 'SIGKILL')
      const r = await run.done
      expect(r.code, r.stderr.slice(-2000)).toBe(5)
      const error = JSON.parse(r.stdout).error
      expect(error.message).toMatch(/^the migration stopped: /)
      expect(error.resumable).toBe(true)
      // Under --json stderr is NDJSON: one error event saying so.
      const failure = r.stderr
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
        .filter((e) => e.type === 'error')
      expect(failure).toEqual([expect.objectContaining({ exitCode: 5, resumable: true })])
      const saved = JSON.parse(readFileSync(checkpoint, 'utf8'))
      const node = Object.values(saved.nodes as Record<string, { done: boolean; keys: number }>)[0]
      expect(node).toMatchObject({ done: false })
      expect(node.keys).toBeGreaterThan(0)
    } finally {
      await victim.down()
    }
  })

  it('a hung source node (SIGSTOP): the run stops after --stall-timeout with exit 5, resumable', async () => {
    const hung = await startSandbox({ shards: 0, replicas: 0, flavor: 'elasticache' })
    const pid = hung.summary.nodes[0].pid!
    try {
      const run = await throttledRunUnderway(hung, join(dir, 'hung.ckpt'), ['--stall-timeout', '2'])
      process.kill(pid, 'SIGSTOP')
      const stoppedAt = Date.now()
      const r = await run.done
      expect(r.code, r.stderr.slice(-2000)).toBe(5)
      expect(Date.now() - stoppedAt).toBeLessThan(15_000)
      const error = JSON.parse(r.stdout).error
      expect(error.message).toMatch(
        /^the migration stopped: the source node 127\.0\.0\.1:\d+ has not answered for \d+ s$/,
      )
      expect(error.resumable).toBe(true)
    } finally {
      process.kill(pid, 'SIGCONT')
      await hung.down()
    }
  })

  it('--slots splits a cluster migration in two halves that together copy everything', async () => {
    await seedKeys(clusterClient(ecCluster), 's', 5000)
    const halfCheckpoint = join(dir, 'half.ckpt')
    const lower = await migrate([
      'run',
      ...pair(ecCluster),
      '--slots',
      '0-8191',
      '--checkpoint',
      halfCheckpoint,
      '--json',
    ])
    expect(lower.code, lower.stderr).toBe(0)
    // A checkpoint's cursors belong to its slot range: resuming it with another range is refused.
    const saved = JSON.parse(readFileSync(halfCheckpoint, 'utf8'))
    writeFileSync(halfCheckpoint, JSON.stringify({ ...saved, finished: false }))
    const other = await migrate([
      'run',
      ...pair(ecCluster),
      '--slots',
      '8192-16383',
      '--checkpoint',
      halfCheckpoint,
    ])
    expect(other.code).toBe(2)
    expect(other.stderr).toMatch(/records --slots 0-8191, not 8192-16383/)
    const upper = await migrate([
      'run',
      ...pair(ecCluster),
      '--slots',
      '8192-16383',
      '--replace',
      '--yes',
      '--json',
    ])
    expect(upper.code, upper.stderr).toBe(0)
    const [a, b] = [JSON.parse(lower.stdout), JSON.parse(upper.stdout)]
    expect(a.keys).toBeGreaterThan(2000)
    expect(b.keys).toBeGreaterThan(2000)
    expect(a.keys + b.keys).toBe(5000)
    expect(a.verify).toBeUndefined() // a half is not the whole dataset
    expect(await sameData(ecCluster, mdb)).toBe(5000)

    const bad = await migrate(['run', ...pair(ecCluster), '--slots', '9-2'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/invalid --slots '9-2'/)
  }, 120_000)
})
