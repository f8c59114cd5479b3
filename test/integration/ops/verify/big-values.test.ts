import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../../../helpers/cli.js'
import { startSandbox, type TestSandbox } from '../../../helpers/sandbox.js'

/**
 * Values whose DUMP payloads differ between two real servers (hashtables iterate in each process's
 * own order): a hash too big to compare whole (chunked: HSCAN on the source, HMGET on the target,
 * the next chunk scanned while the last is looked up) and a set small enough to read whole. A
 * difference deep inside either is found, named, and nothing else is reported.
 */
const BINARY = Buffer.from([0xff, 0x00, 0x0d, 0x0a])
const FIELDS = 40_000
const DEEP = 31_337
const bigHash = Buffer.concat([Buffer.from('big:hash:'), BINARY])
const bigSet = Buffer.concat([Buffer.from('tags:'), BINARY])

let source: TestSandbox
let target: TestSandbox
let src: Redis
let tgt: Redis
let dir: string

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kvtop-verify-big-'))
  ;[source, target] = await Promise.all([
    startSandbox({ shards: 0, replicas: 0 }),
    startSandbox({ shards: 0, replicas: 0 }),
  ])
  src = await source.admin()
  tgt = await target.admin()
  for (let start = 0; start < FIELDS; start += 1000) {
    const args: (string | Buffer)[] = []
    for (let f = start; f < start + 1000; f++) args.push(`f${f}`, `value-${f}-${'x'.repeat(f % 17)}`)
    await src.hset(bigHash, ...args)
  }
  await src.sadd(bigSet, ...Array.from({ length: 300 }, (_, m) => `member-${m}`), BINARY)
  for (let i = 0; i < 50; i++) await src.set(Buffer.concat([Buffer.from(`s:${i}:`), BINARY]), BINARY)
  for (const key of await src.keysBuffer('*')) await tgt.restore(key, 0, (await src.dumpBuffer(key))!)
})

afterAll(async () => {
  await Promise.all([source?.down(), target?.down()])
  if (dir) rmSync(dir, { recursive: true, force: true })
})

const verify = (extra: string[] = []) =>
  runCli(['verify', '--source', source.url, '--target', target.url, '--json', '--passes', '1', ...extra], {
    timeoutMs: 120_000,
  })

/** The report file's differences. */
async function differences(): Promise<{ code: number | null; lines: Record<string, unknown>[] }> {
  const reportPath = join(dir, `differences-${Date.now()}.jsonl`)
  const r = await verify(['--report', reportPath])
  const text = readFileSync(reportPath, 'utf8').trim()
  return { code: r.code, lines: text ? text.split('\n').map((l) => JSON.parse(l)) : [] }
}

describe('verify: big and hashtable-encoded values whose payloads differ', () => {
  it('the copies dump differently on the target (what this test is about), and are equal', async () => {
    const [a, b] = await Promise.all([src.dumpBuffer(bigHash), tgt.dumpBuffer(bigHash)])
    expect(a!.length).toBeGreaterThan(512 * 1024)
    expect(a!.equals(b!)).toBe(false)
    const r = await verify()
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({ identical: true, sourceKeys: 52, targetKeys: 52 })
  })

  it('one field changed deep inside the big hash: exactly that key and field', async () => {
    await tgt.hset(bigHash, `f${DEEP}`, 'changed')
    try {
      const { code, lines } = await differences()
      expect(code).toBe(1)
      expect(lines).toEqual([
        expect.objectContaining({
          category: 'value',
          keyHex: bigHash.toString('hex'),
          detail: `field "f${DEEP}": values differ`,
        }),
      ])
    } finally {
      await tgt.hset(bigHash, `f${DEEP}`, `value-${DEEP}-${'x'.repeat(DEEP % 17)}`)
    }
  })

  it('a set with one member more on the target, then one member replaced: each found by the whole read', async () => {
    await tgt.sadd(bigSet, 'extra')
    try {
      const { code, lines } = await differences()
      expect(code).toBe(1)
      expect(lines).toEqual([
        expect.objectContaining({
          category: 'value',
          keyHex: bigSet.toString('hex'),
          detail: 'set of 301 elements in source, 302 in target',
        }),
      ])
      await tgt.srem(bigSet, BINARY)
      const replaced = await differences()
      expect(replaced.lines).toEqual([
        expect.objectContaining({
          category: 'value',
          keyHex: bigSet.toString('hex'),
          detail: 'set member "\\xff\\x00\\r\\n" missing in target',
        }),
      ])
    } finally {
      await tgt.srem(bigSet, 'extra')
      await tgt.sadd(bigSet, BINARY)
    }
  })
})
