import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Cluster, type Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../../../helpers/cli.js'
import { adminClusterClient, startSandbox, type TestSandbox } from '../../../helpers/sandbox.js'

/**
 * kvtop verify between shapes: an elasticache-flavored standalone source and a memorydb-flavored
 * 3-shard cluster target (neither allows DEBUG or CONFIG), keys with any bytes.
 */
let source: TestSandbox
let target: TestSandbox
let src: Redis
let tgt: Cluster
let dir: string

const BINARY = Buffer.from('bin\r\n\x00\xff\xfe key', 'latin1')
const FIELDS = 2500
const ELEMENTS = 2200

async function seed(db: Redis | Cluster, prefix: string): Promise<void> {
  const k = (name: string) => `{${prefix}}${name}`
  await db.set(Buffer.concat([Buffer.from(`{${prefix}}`), BINARY]), Buffer.from([0, 13, 10, 255]))
  await db.set(k('plain'), 'v')
  await db.set(k('ttl'), 'soon', 'PX', 3_600_000)
  await db.set(k('counter'), '42')
  const hash: (string | Buffer)[] = []
  for (let i = 0; i < FIELDS; i++) hash.push(`f${i}`, i === 7 ? Buffer.from([0xff, 0x00]) : `value-${i}`)
  await db.hset(k('bighash'), ...hash)
  await db.hset(k('smallhash'), 'a', '1', 'b', Buffer.from('\r\n'))
  const list: string[] = []
  for (let i = 0; i < ELEMENTS; i++) list.push(`e${i}`)
  await db.rpush(k('biglist'), ...list)
  await db.sadd(k('set'), 'x', 'y', Buffer.from([0xc3, 0x28]))
  await db.zadd(k('zset'), 1, 'one', 2.5, 'two')
  await db.xadd(k('stream'), '1-1', 'f', 'v')
  await db.xadd(k('stream'), '2-1', 'f', Buffer.from([0]))
  await db.xgroup('CREATE', k('stream'), 'readers', '0')
  for (let i = 0; i < 300; i++) await db.set(k(`bulk:${i}`), `value ${i}`)
}

const verify = (args: string[]) =>
  runCli(['verify', '--source', `sandbox:${source.name}`, '--target', `sandbox:${target.name}`, ...args], {
    timeoutMs: 90_000,
  })

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kvtop-verify-'))
  ;[source, target] = await Promise.all([
    startSandbox({ shards: 0, replicas: 0, flavor: 'elasticache' }),
    startSandbox({ shards: 3, replicas: 0, flavor: 'memorydb' }),
  ])
  src = await source.admin()
  tgt = adminClusterClient(target)
  await Promise.all([seed(src, 'a'), seed(tgt, 'a')])
})

afterAll(async () => {
  tgt?.disconnect()
  await Promise.all([source?.down(), target?.down()])
  if (dir) rmSync(dir, { recursive: true, force: true })
})

describe('kvtop verify', () => {
  it('identical datasets, standalone vs 3-shard cluster, binary keys, big collections: exit 0', async () => {
    const r = await verify(['--json', '--passes', '1'])
    expect(r.code, r.stderr).toBe(0)
    const report = JSON.parse(r.stdout)
    expect(report).toMatchObject({ identical: true, sourceKeys: 310, targetKeys: 310 })
    expect(Object.values(report.counts).every((n) => n === 0)).toBe(true)

    const text = await verify(['--passes', '1'])
    expect(text.code).toBe(0)
    expect(text.stdout).toMatch(
      /^IDENTICAL: compared keys, types, TTLs and values of 310 source keys and 310 target keys/,
    )
  })

  it('finds exactly the planted differences, one of each category, and nothing else', async () => {
    await seed(src, 'b')
    await seed(tgt, 'b')
    const k = (name: string) => `{b}${name}`
    await tgt.del(k('plain')) // missing in target
    await tgt.set(Buffer.from('{b}only-target\x00', 'latin1'), 'x') // only in target
    await tgt.del(k('counter'))
    await tgt.rpush(k('counter'), '42') // type
    await tgt.hset(k('bighash'), 'f1999', 'changed') // one field of a big hash (chunked path)
    await tgt.lset(k('biglist'), 1500, 'changed') // one list element
    await src.pexpire(k('ttl'), 60_000) // TTL far from the target's hour
    const reportPath = join(dir, 'diff.jsonl')
    const r = await verify(['--json', '--pass-interval', '0.1', '--report', reportPath, '--show-values'])
    expect(r.code, r.stderr).toBe(1)
    const report = JSON.parse(r.stdout)
    expect(report.identical).toBe(false)
    expect(report.counts).toEqual({
      'missing-in-target': 1,
      'missing-in-source': 1,
      type: 1,
      value: 2,
      ttl: 1,
      count: 0,
    })
    const lines = readFileSync(reportPath, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    const byKey = Object.fromEntries(lines.map((d) => [d.key, d]))
    expect(Object.keys(byKey).sort()).toEqual(
      ['{b}plain', '{b}only-target\\x00', '{b}counter', '{b}bighash', '{b}biglist', '{b}ttl'].sort(),
    )
    expect(byKey['{b}plain'].category).toBe('missing-in-target')
    expect(byKey['{b}only-target\\x00']).toMatchObject({
      category: 'missing-in-source',
      keyHex: Buffer.from('{b}only-target\x00', 'latin1').toString('hex'),
    })
    expect(byKey['{b}counter']).toMatchObject({ category: 'type', sourceType: 'string', targetType: 'list' })
    expect(byKey['{b}bighash']).toMatchObject({
      category: 'value',
      detail: 'field "f1999": values differ',
      sourceValue: 'value-1999',
      targetValue: 'changed',
    })
    expect(byKey['{b}biglist']).toMatchObject({ category: 'value', detail: 'list element 1500 differs' })
    expect(byKey['{b}ttl'].category).toBe('ttl')
    expect(byKey['{b}ttl'].sourceTtlMs).toBeLessThanOrEqual(60_000)
    expect(byKey['{b}ttl'].targetTtlMs).toBeGreaterThan(3_500_000)
    expect(statSync(reportPath).mode & 0o777).toBe(0o600)

    // Text: a verdict, counts by category, examples with keys escaped.
    const text = await verify(['--pass-interval', '0.1', '--passes', '1'])
    expect(text.code).toBe(1)
    expect(text.stdout).toContain('DIFFERENT')
    expect(text.stdout).toContain('only in target: "{b}only-target\\x00": only in target')
    expect(text.stdout).not.toContain('value-1999') // values only with --show-values

    // Quick mode: counts and types only.
    const quick = await verify(['--mode', 'quick', '--passes', '1', '--json'])
    expect(quick.code).toBe(1)
    const q = JSON.parse(quick.stdout)
    expect(q.counts).toMatchObject({ 'missing-in-target': 1, type: 1, value: 0, ttl: 0 })

    // Put the source and target back in step for the next test.
    for (const key of await src.keysBuffer('{b}*')) await src.del(key)
    // KEYS on a cluster client reaches one node: ask every primary.
    for (const node of tgt.nodes('master'))
      for (const key of await node.keysBuffer('{b}*')) await tgt.del(key)
  })

  it('exits 0 under concurrent writes that stop before the last pass (a lagging copy converges)', async () => {
    let writing = true
    const copies: Promise<unknown>[] = []
    const writer = (async () => {
      for (let i = 0; writing; i++) {
        const key = `{c}w:${i % 200}`
        const value = `v${i}`
        await src.set(key, value)
        // The target gets each write 300 ms later, like an asynchronous replica.
        copies.push(new Promise((r) => setTimeout(r, 300)).then(() => tgt.set(key, value)))
        await new Promise((r) => setTimeout(r, 2))
      }
    })()
    const run = verify(['--json', '--passes', '4', '--pass-interval', '1'])
    await new Promise((r) => setTimeout(r, 1200))
    writing = false
    await writer
    await Promise.all(copies)
    const r = await run
    expect(r.code, r.stdout + r.stderr).toBe(0)
    expect(JSON.parse(r.stdout).identical).toBe(true)
  })

  it('bad input: an unreachable target exits 3; a db the cluster cannot hold exits 2 naming --db-map', async () => {
    const down = await runCli([
      'verify',
      '--source',
      `sandbox:${source.name}`,
      '--target',
      'redis://127.0.0.1:1',
    ])
    expect(down.code).toBe(3)
    expect(down.stderr).toMatch(/Error: .*127\.0\.0\.1:1/)

    await src.select(2)
    await src.set('in-db-2', 'x')
    const refused = await verify([])
    expect(refused.code).toBe(2)
    expect(refused.stderr).toContain('the source has keys in db 2')
    expect(refused.stderr).toContain('--db-map 2:0')
    const mapped = await verify(['--db-map', '2:0', '--passes', '1', '--json'])
    expect(mapped.code).toBe(1)
    expect(JSON.parse(mapped.stdout).counts['missing-in-target']).toBe(1)
    await src.del('in-db-2')
    await src.select(0)

    const badMap = await verify(['--db-map', 'two'])
    expect(badMap.code).toBe(2)
    expect(badMap.stderr).toContain("invalid --db-map 'two'")
    const badReport = await verify(['--report', join(dir, 'missing-dir', 'r.jsonl')])
    expect(badReport.code).toBe(2)
    expect(existsSync(join(dir, 'missing-dir'))).toBe(false)
  })
})
