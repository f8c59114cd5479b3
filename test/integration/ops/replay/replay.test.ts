import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../../../helpers/cli.js'
import { digestsByKey } from '../../../helpers/dataset.js'
import { startSandbox, type TestSandbox } from '../../../helpers/sandbox.js'

const BIN = (s: string) => Buffer.concat([Buffer.from(s), Buffer.from([0x00, 0xff, 0x0d, 0x0a])])

async function waitFor(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 20_000
  while (Date.now() < deadline) {
    if (await check()) return
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`timed out waiting for ${what}`)
}

async function rewriteDone(admin: Redis): Promise<boolean> {
  const info = await admin.info('persistence')
  return /aof_rewrite_in_progress:0/.test(info) && /aof_rewrite_scheduled:0/.test(info)
}

async function writeWorkload(r: Redis, round: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    await r.set(BIN(`s:${i}`), Buffer.from([round, i & 0xff, 0x0d, 0x0a, 0x00, 0x80]))
    await r.hset(`h:${i % 20}`, BIN(`f${i}`), `v${round}-${i}`)
    await r.rpush(`l:${i % 10}`, BIN(`e${round}-${i}`))
    await r.sadd(`set:${i % 10}`, `m${i}`)
    await r.zadd(`z:${i % 10}`, String(i * round), BIN(`m${i}`))
    await r.incrby(`counter:${i % 5}`, i)
  }
  // Explicit IDs: MONITOR logs `XADD key *` as sent, so a replay would mint new IDs.
  await r.xadd('stream:1', `${round}-1`, 'round', String(round))
  await r.set(`ttl:${round}`, 'x', 'EX', 3600)
  await r.del(BIN(`s:${round}`))
  await r.multi().set(`{tx}:${round}`, 'a').incr(`{tx}:c:${round}`).exec()
  await r.select(2)
  await r.set(`db2:key:${round}`, BIN('db2'))
  await r.select(0)
}

describe('kvtop replay', () => {
  let source: TestSandbox
  let standalone: TestSandbox
  let cluster: TestSandbox
  let dir: string
  let aofDir: string
  let sourceDigest: string
  let sourceKeys: Map<string, string>

  beforeAll(async () => {
    ;[source, standalone, cluster] = await Promise.all([
      startSandbox({ shards: 0, replicas: 0 }),
      startSandbox({ shards: 0, replicas: 0 }),
      startSandbox({ shards: 3, replicas: 0 }),
    ])
    dir = mkdtempSync(join(tmpdir(), 'kvtop-replay-'))
    const admin = await source.admin()
    await admin.config('SET', 'appendfsync', 'always')
    await admin.config('SET', 'appendonly', 'yes')
    await waitFor(() => rewriteDone(admin), 'the first AOF rewrite')
    const client = await source.client()
    await writeWorkload(client, 1)
    await admin.bgrewriteaof()
    await waitFor(() => rewriteDone(admin), 'BGREWRITEAOF')
    await writeWorkload(client, 2)
    aofDir = join(dir, 'appendonlydir')
    cpSync(join(source.state.nodes[0].dir, 'appendonlydir'), aofDir, { recursive: true })
    sourceDigest = String(await admin.call('DEBUG', 'DIGEST'))
    const db0 = await digestsByKey([admin])
    await admin.select(2)
    const db2 = await digestsByKey([admin])
    await admin.select(0)
    sourceKeys = new Map([...db0, ...db2])
  })
  afterAll(async () => Promise.all([source, standalone, cluster].map((s) => s?.down())))

  it('an AOF directory from a real server (RDB preamble base + increments) replays to the same dataset', async () => {
    const manifest = readFileSync(join(aofDir, 'appendonly.aof.manifest'), 'utf8')
    expect(manifest).toMatch(/type b/)
    expect(manifest).toMatch(/type i/)
    const r = await runCli(['replay', aofDir, '--to', standalone.url, '--json'])
    expect(r.code).toBe(0)
    const report = JSON.parse(r.stdout)
    expect(report).toMatchObject({ format: 'aof-dir', mode: 'standalone', errors: { total: 0 } })
    expect(String(await (await standalone.admin()).call('DEBUG', 'DIGEST'))).toBe(sourceDigest)
    const verified = await runCli(['verify', '--source', source.url, '--target', standalone.url, '--json'])
    expect(verified.code, verified.stdout).toBe(0)
    expect(JSON.parse(verified.stdout)).toMatchObject({ identical: true, sourceKeys: sourceKeys.size })
  })

  it('the same log into a cluster: db 2 refused without --db-map, identical key by key with it', async () => {
    const refused = await runCli(['replay', aofDir, '--to', cluster.url])
    expect(refused.code).toBe(2)
    expect(refused.stderr).toMatch(/in db 2, and a cluster holds only db 0/)
    expect(refused.stderr).toContain('--db-map 2:0')
    // Refused by the pre-pass: nothing was sent, not even the db 0 commands before it.
    for (const node of cluster.summary.nodes) expect(await (await cluster.admin(node.port)).dbsize()).toBe(0)

    const r = await runCli(['replay', aofDir, '--to', cluster.url, '--db-map', '2:0', '--json'])
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout).errors.total).toBe(0)
    const admins = await Promise.all(cluster.summary.nodes.map((n) => cluster.admin(n.port)))
    expect(await digestsByKey(admins)).toEqual(sourceKeys)
    const verified = await runCli([
      'verify',
      '--source',
      source.url,
      '--target',
      cluster.url,
      '--db-map',
      '2:0',
      '--json',
    ])
    expect(verified.code, verified.stdout).toBe(0)
    expect(JSON.parse(verified.stdout)).toMatchObject({ identical: true, sourceKeys: sourceKeys.size })
  })

  it('a MONITOR capture with binary values replays to an identical dataset', async () => {
    const capSource = await startSandbox({ shards: 0, replicas: 0 })
    const target = await startSandbox({ shards: 0, replicas: 0 })
    try {
      const out = join(dir, 'capture.log')
      const cap = runCli(['capture', capSource.url, '--out', out, '--duration', '6'])
      const admin = await capSource.admin()
      await waitFor(
        async () => String(await admin.call('CLIENT', 'LIST')).includes('cmd=monitor'),
        'MONITOR to attach',
      )
      await writeWorkload(await capSource.client(), 3)
      expect((await cap).code).toBe(0)
      const r = await runCli(['replay', out, '--to', target.url, '--json'])
      expect(r.stderr).not.toContain('Error')
      expect(r.code).toBe(0)
      expect(JSON.parse(r.stdout)).toMatchObject({ format: 'monitor', errors: { total: 0 } })
      // Relative TTLs (SET EX) are logged as sent and restart at replay: compare values and TTL presence.
      for (const db of [0, 2]) {
        const [a, b] = [await capSource.admin(), await target.admin()]
        await Promise.all([a.select(db), b.select(db)])
        const expected = await digestsByKey([a])
        expect(expected.size).toBeGreaterThan(db === 0 ? 100 : 0)
        expect(await digestsByKey([b])).toEqual(expected)
      }
      const verified = await runCli([
        'verify',
        '--source',
        capSource.url,
        '--target',
        target.url,
        '--ttl-tolerance',
        '60',
      ])
      expect(verified.code, verified.stdout).toBe(0)
    } finally {
      await Promise.all([capSource.down(), target.down()])
    }
  })

  it('a log cut inside a command: applies what came before, exits 2 naming the offset; --skip-truncated-tail accepts it', async () => {
    const complete = '*3\r\n$3\r\nSET\r\n$2\r\nk1\r\n$2\r\nv1\r\n*3\r\n$3\r\nSET\r\n$2\r\nk2\r\n$2\r\nv2\r\n'
    const cut = complete + '*3\r\n$3\r\nSET\r\n$2\r\nk3\r\n$10\r\nonly'
    const file = join(dir, 'cut.resp')
    writeFileSync(file, cut)
    const target = await startSandbox({ shards: 0, replicas: 0 })
    try {
      const r = await runCli(['replay', file, '--to', target.url])
      expect(r.code).toBe(2)
      expect(r.stderr).toContain(
        `the log ends inside the command that starts at byte offset ${complete.length}`,
      )
      const client = await target.client()
      expect(await client.mget('k1', 'k2', 'k3')).toEqual(['v1', 'v2', null])
      await client.flushall()
      const ok = await runCli(['replay', file, '--to', target.url, '--skip-truncated-tail', '--json'])
      expect(ok.code).toBe(0)
      expect(JSON.parse(ok.stdout)).toMatchObject({ commands: 2, truncatedTail: { offset: complete.length } })
      expect(await client.mget('k1', 'k2')).toEqual(['v1', 'v2'])
    } finally {
      await target.down()
    }
  })

  it('splits multi-key commands by slot on a cluster and refuses cross-slot ones with their position', async () => {
    const file = join(dir, 'multi.resp')
    const enc = (...args: string[]) =>
      `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`
    const head =
      enc('MSET', 'a', '1', 'b', '2', 'c', '3', 'd', '4') +
      enc('DEL', 'a', 'c') +
      enc('FLUSHALL') +
      enc('MSET', 'x', '1', 'y', '2')
    writeFileSync(file, head + enc('RENAME', 'x', 'y-other'))
    // The cluster holds keys, and the log has a FLUSHALL: both refused, and named, before anything
    // is sent.
    await (await cluster.admin()).set('{held}', 'v')
    const refused = await runCli(['replay', file, '--to', cluster.url])
    expect(refused.code, refused.stderr).toBe(2)
    expect(refused.stderr).toContain('1 dataset-wide command (FLUSHALL 1;')
    expect(refused.stderr).toMatch(/the target is not empty: it holds \d+ keys/)
    const r = await runCli(['replay', file, '--to', cluster.url, '--replace', '--allow-flush', '--yes'])
    expect(r.code, r.stderr).toBe(2)
    expect(r.stderr).toContain(`RENAME at ${file} at byte offset ${head.length} has keys in different slots`)
    const { Cluster } = await import('ioredis')
    const c = new Cluster(
      cluster.summary.nodes.map((n) => ({ host: '127.0.0.1', port: n.port })),
      { redisOptions: { protocol: 2 } },
    )
    try {
      // FLUSHALL reached every primary (a, b, c, d gone everywhere); the split MSET after it landed.
      expect(await Promise.all(['x', 'y', 'a', 'b', 'c', 'd'].map((k) => c.get(k)))).toEqual([
        '1',
        '2',
        null,
        null,
        null,
        null,
      ])
    } finally {
      c.disconnect()
    }
  })

  it('a cluster holding keys on primaries other than the one in the URL is refused without --replace', async () => {
    const admins = await Promise.all(cluster.summary.nodes.map((n) => cluster.admin(n.port)))
    await Promise.all(admins.map((a) => a.flushall()))
    // One key on each primary but the first (the seed of the URL).
    const { Cluster } = await import('ioredis')
    const c = new Cluster(
      cluster.summary.nodes.map((n) => ({ host: '127.0.0.1', port: n.port })),
      { redisOptions: { protocol: 2 } },
    )
    const counts = () => Promise.all(admins.map((a) => a.dbsize()))
    try {
      for (let i = 0; ; i++) {
        const now = await counts()
        if (now[0] === 0 && now.slice(1).every((n) => n > 0)) break
        const key = Buffer.concat([Buffer.from(`k${i}`), Buffer.from([0xff, 0x0d, 0x0a, 0x00])])
        await c.set(key, 'v')
        if ((await counts())[0] > 0) await c.del(key)
      }
    } finally {
      c.disconnect()
    }
    const total = (await counts()).reduce((a, b) => a + b, 0)
    const file = join(dir, 'one.resp')
    writeFileSync(file, '*3\r\n$3\r\nSET\r\n$1\r\nz\r\n$1\r\n1\r\n')
    const r = await runCli(['replay', file, '--to', cluster.url])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain(`the target is not empty: it holds ${total} keys`)
    expect(await admins[0].dbsize()).toBe(0)
  })

  it('unknown formats are refused with exit 2', async () => {
    const file = join(dir, 'notes.txt')
    writeFileSync(file, 'hello')
    const r = await runCli(['replay', file, '--to', standalone.url])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('cannot tell the format')
  })
})
