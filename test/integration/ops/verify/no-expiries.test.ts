import { execFileSync } from 'node:child_process'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { VerifyOptions } from '../../../../src/ops/verify/types.js'
import type { verifyDatasets } from '../../../../src/ops/verify/verify.js'
import { verifySandboxes } from './verify-sandboxes.js'
import { startSandbox, type TestSandbox } from '../../../helpers/sandbox.js'

/**
 * A db pair where neither side holds a key with an expiry (INFO keyspace) is compared without
 * asking each key's expiry. Every way that could hide a TTL difference must still find it: an
 * expiry on one side only, an expiry set during the run, and the ordinary case of one TTL differing
 * among many keys with expiries.
 */
const BIN = Buffer.from([0x00, 0x0d, 0x0a, 0xff, 0xc3, 0x28])
const k = (i: number | string) => Buffer.concat([Buffer.from(`n:${i}:`), BIN])
const KEYS = 2000

async function fill(r: Redis): Promise<void> {
  const p = r.pipeline()
  for (let i = 0; i < KEYS; i++) {
    if (i % 10 === 0) p.rpush(k(i), BIN, String(i))
    else p.set(k(i), Buffer.concat([BIN, Buffer.from(String(i))]))
  }
  await p.exec()
}

/** Expiry commands (PEXPIRETIME, PTTL) a server answered since CONFIG RESETSTAT. */
async function expiryReads(r: Redis): Promise<number> {
  const stats = await r.info('commandstats')
  return [...stats.matchAll(/cmdstat_(?:pexpiretime|pttl):calls=(\d+)/g)].reduce(
    (n, m) => n + Number(m[1]),
    0,
  )
}

describe('verify: dbs without expiries', () => {
  let source: TestSandbox
  let target: TestSandbox
  let src: Redis
  let tgt: Redis

  const compare = (options: VerifyOptions = {}) => verifySandboxes(source, target, options)
  const ttlKeys = (r: Awaited<ReturnType<typeof verifyDatasets>>) =>
    r.examples.filter((d) => d.category === 'ttl').map((d) => d.keyHex)

  beforeAll(async () => {
    ;[source, target] = await Promise.all([startSandbox(), startSandbox()])
    src = await source.admin()
    tgt = await target.admin()
  }, 120_000)

  beforeEach(async () => {
    await Promise.all([src.flushall(), tgt.flushall()])
    await Promise.all([fill(src), fill(tgt)])
    await Promise.all([src.config('RESETSTAT'), tgt.config('RESETSTAT')])
  })

  afterAll(async () => {
    await Promise.all([source?.down(), target?.down()])
  })

  it('no expiry on either side: none asked for, values still compared', async () => {
    await tgt.set(k(3), 'changed')
    const r = await compare()
    expect(r.counts).toMatchObject({ value: 1, ttl: 0, 'missing-in-source': 0, 'missing-in-target': 0 })
    expect(r.examples.map((d) => d.keyHex)).toEqual([k(3).toString('hex')])
    // One each: verify's probe of whether the server has PEXPIRETIME, on a key that cannot exist.
    expect(await expiryReads(src)).toBe(1)
    expect(await expiryReads(tgt)).toBe(1)
  })

  it.each(['source', 'target'] as const)(
    'one key with an expiry on the %s only: exactly that key differs in TTL',
    async (side) => {
      await (side === 'source' ? src : tgt).pexpire(k(21), 3_600_000)
      const r = await compare()
      expect(r.counts).toMatchObject({ ttl: 1, value: 0 })
      expect(ttlKeys(r)).toEqual([k(21).toString('hex')])
      expect(r.examples[0][side === 'source' ? 'targetTtlMs' : 'sourceTtlMs']).toBe(-1)
    },
  )

  it('an expiry set on the target during the run: compared again with expiries, the key found', async () => {
    const port = target.summary.nodes[0].port
    let set = false
    const onEvent: VerifyOptions['onEvent'] = (event) => {
      // After the counts were read (no expiry anywhere), before any key is compared.
      if (event.type !== 'phase' || event.phase !== 'compare') return
      execFileSync('redis-cli', ['-p', String(port), 'PEXPIRE', 'n:w', '3600000'])
      set = true
    }
    await src.set('n:w', 'v')
    await tgt.set('n:w', 'v')
    const r = await compare({ onEvent })
    expect(set).toBe(true)
    expect(r.counts).toMatchObject({ ttl: 1, value: 0 })
    expect(ttlKeys(r)).toEqual([Buffer.from('n:w').toString('hex')])
    expect(r.sourceKeys).toBe(KEYS + 1)
  })

  it('expiries on both sides, one of many TTLs differing: exactly that key', async () => {
    for (let i = 0; i < KEYS; i += 7) {
      await src.pexpire(k(i), 3_600_000)
      await tgt.pexpire(k(i), i === 14 ? 7_200_000 : 3_600_000)
    }
    const r = await compare()
    expect(r.counts).toMatchObject({ ttl: 1, value: 0 })
    expect(ttlKeys(r)).toEqual([k(14).toString('hex')])
    expect(await expiryReads(src)).toBeGreaterThanOrEqual(KEYS)
  })
})
