import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Deployment } from '../../../../src/connect/deployment.js'
import { RDB_TYPE } from '../../../../src/data/rdb/constants.js'
import { buildDumpPayload, payloadType } from '../../../../src/data/rdb/dump.js'
import { compareKeys } from '../../../../src/ops/verify/compare-keys.js'
import type { Endpoints } from '../../../../src/ops/verify/logical.js'
import { Side } from '../../../../src/ops/verify/side.js'
import { startSandbox, type TestSandbox } from '../../../helpers/sandbox.js'
import { noValkey, startValkeySandbox } from '../../../helpers/valkey.js'

/**
 * verify reads a key's type from the first byte of its DUMP payload instead of asking TYPE: every
 * encoding a server writes (listpack, quicklist, intset, hashtable, skiplist, stream listpacks)
 * must name what TYPE names, on Redis 7.0 and on Valkey 8; module and unknown type numbers must say
 * what they are; and a key whose type changes between the DUMP round and the logical read is a
 * difference "could not compare", never equal.
 */
const BIN = Buffer.from([0xff, 0x00, 0x0d, 0x0a])
const k = (name: string) => Buffer.concat([Buffer.from(`t:${name}:`), BIN])

/** One key of every type in every encoding a server picks by size and content. */
async function seedEveryEncoding(r: Redis): Promise<Buffer[]> {
  await r.set(k('int'), '12345')
  await r.set(k('embstr'), Buffer.concat([BIN, Buffer.from('short')]))
  await r.set(k('raw'), Buffer.alloc(300, 0xfe))
  await r.rpush(k('list-small'), 'a', BIN)
  await r.rpush(k('list-big'), ...Array.from({ length: 600 }, (_, i) => `element-${i}-${'x'.repeat(40)}`))
  await r.sadd(k('set-int'), 1, 2, 3)
  await r.sadd(k('set-text'), 'a', 'b', BIN)
  await r.sadd(k('set-big'), ...Array.from({ length: 700 }, (_, i) => `member-${i}`))
  await r.hset(k('hash-small'), 'f', BIN)
  await r.hset(k('hash-big'), ...Array.from({ length: 700 }, (_, i) => [`f${i}`, `v${i}`]).flat())
  await r.zadd(k('zset-small'), 1, 'a', 2, BIN)
  await r.zadd(k('zset-big'), ...Array.from({ length: 300 }, (_, i) => [i, `m${i}`]).flat())
  await r.xadd(k('stream'), '*', 'f', BIN)
  await r.xgroup('CREATE', k('stream'), 'g', '0')
  return r.keysBuffer('t:*')
}

describe.each([
  ['redis', () => startSandbox({ shards: 0, replicas: 0 }), false],
  ['valkey', () => startValkeySandbox({ shards: 0, replicas: 0 }), noValkey()],
] as const)('the type in a DUMP payload (%s)', (engine, start, skip) => {
  let sandbox: TestSandbox
  let r: Redis
  let keys: Buffer[]
  beforeAll(async () => {
    if (skip) return
    sandbox = await start()
    r = await sandbox.admin()
    keys = await seedEveryEncoding(r)
  })
  afterAll(async () => {
    await sandbox?.down()
  })

  it.skipIf(skip)('names what TYPE names, for every encoding', async () => {
    expect(keys).toHaveLength(13)
    const typeBytes = new Set<number>()
    for (const key of keys) {
      const payload = (await r.dumpBuffer(key))!
      typeBytes.add(payload[0])
      expect(payloadType(payload), key.toString('latin1')).toEqual({ known: true, type: await r.type(key) })
    }
    // The encodings this test is about were all written.
    const expected: number[] = [
      RDB_TYPE.STRING,
      RDB_TYPE.LIST_QUICKLIST_2,
      RDB_TYPE.SET_INTSET,
      RDB_TYPE.SET,
      RDB_TYPE.HASH_LISTPACK,
      RDB_TYPE.HASH,
      RDB_TYPE.ZSET_LISTPACK,
      RDB_TYPE.ZSET_2,
    ]
    // Redis 7.0 writes streams as RDB type 19; Valkey 8 as 21, and small text sets as listpacks.
    if (engine === 'valkey') expected.push(RDB_TYPE.STREAM_LISTPACKS_3, RDB_TYPE.SET_LISTPACK)
    else expected.push(RDB_TYPE.STREAM_LISTPACKS_2)
    for (const t of expected) expect([...typeBytes], `RDB type ${t}`).toContain(t)
  })
})

describe('type numbers verify cannot compare', () => {
  it('a module value names its module (from the module id); an unknown number says so with its RDB version', () => {
    // Module id: 9 characters of 6 bits, then a 10-bit encoding version (Redis moduleTypeNameByID).
    const charset = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
    let id = 0n
    for (const ch of 'ReJSON-RL') id = (id << 6n) | BigInt(charset.indexOf(ch))
    id = (id << 10n) | 3n
    const idBytes = Buffer.alloc(9)
    idBytes[0] = 0x81
    idBytes.writeBigUInt64BE(id, 1)
    expect(
      payloadType(buildDumpPayload(RDB_TYPE.MODULE_2, Buffer.concat([idBytes, Buffer.from([0])]), 10)),
    ).toEqual({ known: true, type: 'ReJSON-RL' })
    expect(payloadType(buildDumpPayload(99, Buffer.from('x'), 11))).toEqual({
      known: false,
      rdbType: 99,
      version: 11,
      reason: 'RDB type 99 (RDB version 11), unknown to kvtop',
    })
    // 22 and up: Redis CE (RDB 12+) and Valkey (RDB 80+) give them different meanings; RDB 11 none.
    expect(payloadType(buildDumpPayload(25, Buffer.from('x'), 12))).toEqual({ known: true, type: 'hash' })
    expect(payloadType(buildDumpPayload(22, Buffer.from('x'), 80))).toEqual({ known: true, type: 'hash' })
    expect(payloadType(buildDumpPayload(25, Buffer.from('x'), 80)).known).toBe(false)
    expect(payloadType(buildDumpPayload(22, Buffer.from('x'), 11)).known).toBe(false)
    expect(payloadType(Buffer.from('short')).known).toBe(false)
  })
})

describe('a key whose type changes between the DUMP round and the logical read', () => {
  let source: TestSandbox
  let target: TestSandbox
  let src: Redis
  let tgt: Redis
  let e: Endpoints
  const deployments: Deployment[] = []
  beforeAll(async () => {
    ;[source, target] = await Promise.all([
      startSandbox({ shards: 0, replicas: 0 }),
      startSandbox({ shards: 0, replicas: 0 }),
    ])
    src = await source.admin()
    tgt = await target.admin()
    for (const url of [source.url, target.url])
      deployments.push(await Deployment.connect({ url }, { probe: true }))
    e = {
      source: new Side(deployments[0], 'source'),
      target: new Side(deployments[1], 'target'),
      sourceDb: 0,
      targetDb: 0,
    }
  })
  afterAll(async () => {
    await Promise.all([e?.source.close(), e?.target.close()])
    await Promise.all(deployments.map((d) => d.close()))
    await Promise.all([source?.down(), target?.down()])
  })

  it('is a difference "could not compare" (re-checked by the next pass), never equal', async () => {
    const key = k('changing')
    const steady = k('steady')
    // Equal sets whose payloads differ (hashtables iterate in each process's order) go to the logical read.
    const members = Array.from({ length: 40 }, (_, i) => Buffer.concat([Buffer.from(`member-${i}`), BIN]))
    for (const r of [src, tgt]) {
      await r.sadd(key, ...members)
      await r.sadd(steady, ...members)
    }
    // Between the DUMP round and the next round, the key becomes a list on the target.
    const readPayloads = e.target.readPayloads.bind(e.target)
    let rounds = 0
    e.target.readPayloads = async (...args: Parameters<Side['readPayloads']>) => {
      const payloads = await readPayloads(...args)
      rounds++
      await tgt.del(key)
      await tgt.rpush(key, ...members)
      return payloads
    }
    try {
      const diffs = await compareKeys(e, [key, steady], {
        ttlToleranceMs: 1000,
        chunkElements: 1000,
        showValues: false,
      })
      expect(rounds).toBe(1)
      expect(diffs).toHaveLength(1)
      expect(diffs[0]).toMatchObject({
        category: 'value',
        keyHex: key.toString('hex'),
        sourceType: 'set',
      })
      expect(diffs[0].detail).toMatch(/^could not compare: WRONGTYPE/)
    } finally {
      e.target.readPayloads = readPayloads
    }
    // The next pass sees it for what it now is.
    const again = await compareKeys(e, [key, steady], {
      ttlToleranceMs: 1000,
      chunkElements: 1000,
      showValues: false,
    })
    expect(again).toEqual([
      expect.objectContaining({
        category: 'type',
        detail: 'set in source, list in target',
        keyHex: key.toString('hex'),
      }),
    ])
  })
})
