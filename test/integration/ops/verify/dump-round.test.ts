import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Deployment } from '../../../../src/connect/deployment.js'
import { compareKeys } from '../../../../src/ops/verify/compare-keys.js'
import type { Endpoints } from '../../../../src/ops/verify/logical.js'
import { Side } from '../../../../src/ops/verify/side.js'
import { startSandbox, type TestSandbox } from '../../../helpers/sandbox.js'

/**
 * The DUMP round of a standalone side is read raw (the payloads compared where they lie in the
 * replies' bytes): equal payloads settle a key, differing ones (another encoding) go to the
 * logical comparison, a nil is a missing key, an error reply stops the comparison; payloads bigger
 * than a socket read and keys of any bytes must come out the same as one object per reply did.
 */
const BIN = Buffer.from([0xff, 0x00, 0x0d, 0x0a, 0xc3, 0x28])
const k = (name: string) => Buffer.concat([Buffer.from(`d:${name}:`), BIN])
const settings = { ttlToleranceMs: 1000, chunkElements: 1000, showValues: false }

describe('verify: the DUMP round read raw, standalone on both sides', () => {
  let source: TestSandbox
  let target: TestSandbox
  let src: Redis
  let tgt: Redis
  let e: Endpoints
  const deployments: Deployment[] = []
  const sides: Side[] = []

  beforeAll(async () => {
    ;[source, target] = await Promise.all([
      startSandbox({ shards: 0, replicas: 0 }),
      startSandbox({ shards: 0, replicas: 0 }),
    ])
    src = await source.admin()
    tgt = await target.admin()
    // Small hashes as a hashtable on the target, a listpack on the source: equal values, payloads differ.
    await tgt.config('SET', 'hash-max-listpack-entries', '0')
    for (const url of [source.url, target.url]) deployments.push(await Deployment.connect({ url }))
    sides.push(new Side(deployments[0], 'source'), new Side(deployments[1], 'target'))
    e = { source: sides[0], target: sides[1], sourceDb: 0, targetDb: 0 }
  }, 120_000)

  afterAll(async () => {
    await Promise.all(sides.map((s) => s.close()))
    await Promise.all(deployments.map((d) => d.close()))
    src?.disconnect()
    tgt?.disconnect()
    await Promise.all([source?.down(), target?.down()])
  })

  it('equal payloads, equal values in other encodings, missing keys and big payloads: exactly the differences there are', async () => {
    const big = Array.from({ length: 30_000 }, (_, i) => Buffer.concat([Buffer.from(`e${i}-`), BIN]))
    for (const r of [src, tgt]) {
      await r.rpush(k('list'), 'a', BIN, '\r\n')
      await r.hset(k('hash-equal'), 'f', BIN, Buffer.from([0x00]), 'v')
      await r.sadd(k('set'), 'x', BIN)
      // About 300 KB of payload: many socket reads on the way back.
      await r.rpush(k('big-equal'), ...big)
      await r.rpush(k('big-differs'), ...big)
    }
    await src.hset(k('hash-differs'), 'f', BIN)
    await tgt.hset(k('hash-differs'), 'f', Buffer.from([0xff, 0x00, 0x0d, 0x0b]))
    await src.rpush(k('big-differs'), 'last-source')
    await tgt.rpush(k('big-differs'), 'last-target')
    await src.zadd(k('only-source'), 1, BIN)
    await tgt.sadd(k('only-target'), BIN)
    // A string among them: settled by the MGET round, its neighbours by the DUMP round.
    for (const r of [src, tgt]) await r.set(k('string'), BIN)
    const [a, b] = await Promise.all([src.dumpBuffer(k('hash-equal')), tgt.dumpBuffer(k('hash-equal'))])
    expect(a!.equals(b!)).toBe(false)

    const keys = [
      'list',
      'hash-equal',
      'string',
      'set',
      'big-equal',
      'hash-differs',
      'big-differs',
      'only-source',
      'only-target',
      'gone',
    ].map(k)
    const diffs = await compareKeys(e, keys, settings)
    const name = (n: string) => k(n).toString('latin1')
    const byKey = Object.fromEntries(
      diffs.map((d) => [Buffer.from(d.keyHex, 'hex').toString('latin1'), [d.category, d.detail]]),
    )
    expect(diffs).toHaveLength(4)
    expect(byKey).toEqual({
      [name('only-target')]: ['missing-in-source', 'only in target (set)'],
      [name('only-source')]: ['missing-in-target', 'only in source (zset)'],
      [name('hash-differs')]: ['value', expect.any(String)],
      [name('big-differs')]: ['value', expect.any(String)],
    })
  })

  it('a DUMP answered with an error reply (NOPERM) fails the comparison, naming the side: never equal, never missing', async () => {
    await tgt.acl('SETUSER', 'nodump', 'on', '>pw', '~*', '+@all', '-dump')
    const url = target.url.replace('redis://', 'redis://nodump:pw@')
    const limited = await Deployment.connect({ url })
    const limitedSide = new Side(limited, 'target')
    try {
      for (const r of [src, tgt]) await r.sadd(k('refused'), BIN)
      await expect(
        compareKeys({ ...e, target: limitedSide }, [k('list'), k('refused'), k('set')], settings),
      ).rejects.toThrow(/^DUMP refused on the target: NOPERM/)
    } finally {
      await limitedSide.close()
      await limited.close()
    }
  })
})
