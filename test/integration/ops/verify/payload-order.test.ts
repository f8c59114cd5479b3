import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../../../helpers/cli.js'
import { startSandbox, type TestSandbox } from '../../../helpers/sandbox.js'

/**
 * Equal values whose DUMP payloads differ: sets with non-integer members are hashtables on Redis
 * 7.0, and a hashtable iterates in an order of its own process (a random hash seed), so the same
 * set copied by DUMP/RESTORE to another server dumps differently there. verify must compare those
 * values as sets (the batched whole-value path), find a real difference among them, and nothing
 * else.
 */
const SETS = 400
const BINARY = Buffer.from([0xff, 0x00, 0x0d, 0x0a])

let source: TestSandbox
let target: TestSandbox
let src: Redis
let tgt: Redis
let dir: string

const setKey = (i: number) => Buffer.concat([Buffer.from(`tags:${i}:`), BINARY])

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kvtop-verify-order-'))
  ;[source, target] = await Promise.all([
    startSandbox({ shards: 0, replicas: 0 }),
    startSandbox({ shards: 0, replicas: 0 }),
  ])
  src = await source.admin()
  tgt = await target.admin()
  for (let i = 0; i < SETS; i++) {
    const members = Array.from({ length: 8 + (i % 12) }, (_, m) =>
      m === 3 ? Buffer.concat([Buffer.from(`m${m}-`), BINARY]) : `member-${i}-${m}`,
    )
    await src.sadd(setKey(i), ...members)
    await src.hset(`h:${i}`, 'a', `${i}`, 'b', 'bee')
    await src.zadd(`z:${i}`, 1.1, 'a', 1e300, `b${i}`)
  }
  // The copy: each value's DUMP payload restored on the other server.
  for (const key of await src.keysBuffer('*')) {
    const payload = await src.dumpBuffer(key)
    await tgt.restore(key, 0, payload!)
  }
})

afterAll(async () => {
  await Promise.all([source?.down(), target?.down()])
  if (dir) rmSync(dir, { recursive: true, force: true })
})

const verify = (extra: string[] = []) =>
  runCli(['verify', '--source', source.url, '--target', target.url, '--json', '--passes', '1', ...extra], {
    timeoutMs: 90_000,
  })

describe('verify where equal values have different DUMP payloads', () => {
  it('the copies dump differently on the target (what this test is about)', async () => {
    let differing = 0
    for (let i = 0; i < SETS; i++) {
      const [a, b] = await Promise.all([src.dumpBuffer(setKey(i)), tgt.dumpBuffer(setKey(i))])
      if (!a!.equals(b!)) differing++
    }
    expect(differing).toBeGreaterThan(SETS / 4)
  })

  it('equal values: exit 0', async () => {
    const r = await verify()
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({
      identical: true,
      sourceKeys: 3 * SETS,
      targetKeys: 3 * SETS,
    })
  })

  it('one member changed in one of the sets: exactly that key, with the member named', async () => {
    const key = setKey(217)
    await tgt.srem(key, 'member-217-5')
    await tgt.sadd(key, 'member-217-X')
    try {
      const reportPath = join(dir, 'differences.jsonl')
      const r = await verify(['--report', reportPath])
      expect(r.code, r.stderr).toBe(1)
      const report = JSON.parse(r.stdout)
      expect(report).toMatchObject({ identical: false, counts: expect.objectContaining({ value: 1 }) })
      expect(Object.values(report.counts as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(1)
      const lines = readFileSync(reportPath, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
      expect(lines).toEqual([
        expect.objectContaining({
          category: 'value',
          keyHex: key.toString('hex'),
          detail: 'set member "member-217-5" missing in target',
        }),
      ])
    } finally {
      await tgt.srem(key, 'member-217-X')
      await tgt.sadd(key, 'member-217-5')
    }
  })
})
