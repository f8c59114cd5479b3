import { describe, expect, it } from 'vitest'
import { compareKeys } from '../../../../src/ops/verify/compare-keys.js'
import type { Endpoints } from '../../../../src/ops/verify/logical.js'
import type { Side } from '../../../../src/ops/verify/side.js'
import { buildDumpPayload } from '../../../../src/data/rdb/dump.js'
import { RDB_TYPE } from '../../../../src/data/rdb/constants.js'
import { RespError, type Reply } from '../../../../src/wire/reply-parser.js'
import { scriptedSide } from './scripted-side.js'

/** A side answering every command from `answer`; every command it was sent is logged (name only). */
const side = (label: 'source' | 'target', answer: (args: Buffer[]) => Reply, log: string[] = []): Side =>
  scriptedSide(label, (args) => {
    log.push(`${label} ${args[0].toString()}`)
    return answer(args)
  })

const settings = { ttlToleranceMs: 1000, chunkElements: 1000, showValues: false }
const b = (s: string | number[]) => (typeof s === 'string' ? Buffer.from(s, 'latin1') : Buffer.from(s))

/** RDB length (6- or 14-bit forms: enough for these tests) and a length-prefixed string. */
const rdbLen = (n: number) => (n < 64 ? Buffer.from([n]) : Buffer.from([0x40 | (n >> 8), n & 0xff]))
const rdbString = (s: Buffer) => Buffer.concat([rdbLen(s.length), s])

/** A hashtable-encoded set's DUMP payload, members in the order given (each server has its own). */
const setPayload = (members: Buffer[]) =>
  buildDumpPayload(RDB_TYPE.SET, Buffer.concat([rdbLen(members.length), ...members.map(rdbString)]), 10)
/** A hashtable-encoded hash's DUMP payload, fields in the order given. */
const hashPayload = (fields: [Buffer, Buffer][]) =>
  buildDumpPayload(
    RDB_TYPE.HASH,
    Buffer.concat([rdbLen(fields.length), ...fields.flatMap(([f, v]) => [rdbString(f), rdbString(v)])]),
    10,
  )

/** Keys and members with every awkward byte: CR LF, NUL, invalid UTF-8. */
const KEY = b([0x6b, 0x0d, 0x0a, 0x00, 0xff])
const M = [b('alpha'), b([0x0d, 0x0a]), b([0x00]), b([0xc3, 0x28]), b('tag-1')]

/**
 * Both sides hold `key` as these members (a set) or fields (a hash), in each side's own order, with
 * payloads that differ; the whole reads answer from the same lists. Anything else is refused.
 */
function pair(source: Buffer[] | [Buffer, Buffer][], target: Buffer[] | [Buffer, Buffer][], log: string[]) {
  const answer = (items: Buffer[] | [Buffer, Buffer][], tag: number) => (args: Buffer[]) => {
    const hash = Array.isArray(items[0])
    switch (args[0].toString()) {
      case 'DUMP':
        return hash
          ? hashPayload(items as [Buffer, Buffer][])
          : setPayload([...(items as Buffer[]), b([tag])])
      case 'MGET':
        return [null]
      case 'PTTL':
        return -1
      case 'SMEMBERS':
        return hash ? new RespError('WRONGTYPE') : (items as Buffer[])
      case 'HGETALL':
        return hash ? (items as [Buffer, Buffer][]).flat() : new RespError('WRONGTYPE')
    }
    return new RespError(`ERR unexpected ${args[0].toString()}`)
  }
  return {
    source: side('source', answer(source, 1), log),
    target: side('target', answer(target, 2), log),
    sourceDb: 0,
    targetDb: 0,
  }
}

describe('verify: values whose payloads differ are compared as values', () => {
  it('the same set in another order is equal: one whole read (SMEMBERS) after MGET (nil: not a string), PTTL and DUMP', async () => {
    const log: string[] = []
    expect(await compareKeys(pair(M, [...M].reverse(), log), [KEY], settings)).toEqual([])
    expect(log.map((l) => l.split(' ')[1]).sort()).toEqual(
      ['MGET', 'MGET', 'DUMP', 'DUMP', 'PTTL', 'PTTL', 'SMEMBERS', 'SMEMBERS'].sort(),
    )
  })

  it('a set with an extra member on the target, a member replaced, a hash field changed: each found, binary bytes named', async () => {
    const log: string[] = []
    const extra = await compareKeys(
      pair(M, [...M.slice(2), b([0x00, 0x0d, 0x0a]), ...M.slice(0, 2)], log),
      [KEY],
      settings,
    )
    expect(extra).toEqual([
      expect.objectContaining({
        category: 'value',
        keyHex: KEY.toString('hex'),
        detail: 'set of 5 elements in source, 6 in target',
      }),
    ])
    const replaced = await compareKeys(
      pair(M, [M[4], M[3], b([0x00, 0x01]), M[1], M[0]], log),
      [KEY],
      settings,
    )
    expect(replaced.map((d) => d.detail)).toEqual(['set member "\\x00" missing in target'])
    const fields: [Buffer, Buffer][] = M.map((m, i) => [m, b(`value ${i}`)])
    const changed = fields.map(([f, v]): [Buffer, Buffer] => [f, f === M[3] ? b([0xff, 0x0d, 0x0a]) : v])
    const hash = await compareKeys(pair(fields, [...changed].reverse(), log), [KEY], {
      ...settings,
      showValues: true,
    })
    expect(hash).toEqual([
      expect.objectContaining({
        category: 'value',
        detail: 'field "\\xc3(": values differ',
        sourceValue: 'value 3',
        targetValue: '\\xff\\r\\n',
      }),
    ])
  })

  it('an error reply in the middle of a batch fails the comparison, naming the side; the keys around it are never reported equal', async () => {
    const keys = [b('k1'), KEY, b('k3')]
    const payload = setPayload(M)
    const healthy = side('source', (args) => (args[0].toString() === 'DUMP' ? payload : -1))
    const refusing = side('target', (args) => {
      if (args[0].toString() !== 'DUMP') return -1
      return args[1].equals(KEY)
        ? new RespError('NOPERM this user has no permissions to run the dump command')
        : payload
    })
    await expect(
      compareKeys({ source: healthy, target: refusing, sourceDb: 0, targetDb: 0 }, keys, settings),
    ).rejects.toThrow(
      'DUMP refused on the target: NOPERM this user has no permissions to run the dump command',
    )
  })
})

describe('verify: big collections chunk by chunk', () => {
  /** A hash too big to compare whole: payloads differ, HLEN, then HSCAN on the source and HMGET on the target. */
  function bigHashPair(
    fields: number,
    target: (field: string, index: number) => Reply,
    log: string[],
  ): Endpoints {
    const names = Array.from({ length: fields }, (_, i) => `f${i}`)
    const big = (tag: number) => buildDumpPayload(RDB_TYPE.HASH, Buffer.alloc(600 * 1024, tag), 10)
    const common = (p: Buffer) => (args: Buffer[]) => {
      switch (args[0].toString()) {
        case 'DUMP':
          return p
        case 'PTTL':
          return -1
        case 'HLEN':
          return fields
      }
      return undefined
    }
    const source = side(
      'source',
      (args) => {
        const known = common(big(1))(args)
        if (known !== undefined) return known
        if (args[0].toString() !== 'HSCAN') return new RespError('ERR unexpected')
        // Three fields a chunk, the cursor the next index: a walk of several round trips.
        const at = Number(args[2].toString())
        const next = at + 3 >= fields ? '0' : String(at + 3)
        return [b(next), names.slice(at, at + 3).flatMap((f) => [b(f), b(`v-${f}`)])]
      },
      log,
    )
    const targetSide = side(
      'target',
      (args) => {
        const known = common(big(2))(args)
        if (known !== undefined) return known
        if (args[0].toString() !== 'HMGET') return new RespError('ERR unexpected')
        return args.slice(2).map((f) => target(f.toString(), names.indexOf(f.toString())))
      },
      log,
    )
    return { source, target: targetSide, sourceDb: 0, targetDb: 0 }
  }

  it('a field differing deep inside is found, and the first differing chunk is the one reported', async () => {
    const log: string[] = []
    const e = bigHashPair(30, (f, i) => (i === 22 ? b('changed') : i === 28 ? null : b(`v-${f}`)), log)
    const diffs = await compareKeys(e, [KEY], { ...settings, chunkElements: 3 })
    expect(diffs.map((d) => d.detail)).toEqual(['field "f22": values differ'])
    expect(log.filter((l) => l.endsWith('HSCAN')).length).toBeGreaterThanOrEqual(8)

    const equal = bigHashPair(30, (f) => b(`v-${f}`), [])
    expect(await compareKeys(equal, [KEY], { ...settings, chunkElements: 3 })).toEqual([])
  })

  it('an error reply to a lookup mid-walk is a difference ("could not compare"), never equal', async () => {
    const walk = bigHashPair(30, (f) => b(`v-${f}`), [])
    const failing: Endpoints = {
      ...walk,
      target: side('target', (args) => {
        const name = args[0].toString()
        if (name === 'DUMP') return buildDumpPayload(RDB_TYPE.HASH, Buffer.alloc(600 * 1024, 2), 10)
        if (name === 'PTTL') return -1
        if (name === 'HLEN') return 30
        if (name === 'HMGET')
          return args.slice(2).some((f) => f.toString() === 'f12')
            ? new RespError('LOADING Redis is loading the dataset in memory')
            : args.slice(2).map((f) => b(`v-${f.toString()}`))
        return new RespError('ERR unexpected')
      }),
    }
    const diffs = await compareKeys(failing, [KEY], { ...settings, chunkElements: 3 })
    expect(diffs).toEqual([
      expect.objectContaining({
        category: 'value',
        detail:
          'could not compare: HMGET refused on the target: LOADING Redis is loading the dataset in memory',
      }),
    ])
  })
})
