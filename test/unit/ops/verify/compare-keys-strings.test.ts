import { describe, expect, it } from 'vitest'
import { compareKeys } from '../../../../src/ops/verify/compare-keys.js'
import type { Endpoints } from '../../../../src/ops/verify/logical.js'
import { RDB_TYPE } from '../../../../src/data/rdb/constants.js'
import { RespError, type Reply } from '../../../../src/wire/reply-parser.js'
import { payloadOf, settings, side } from './scripted-side.js'

/** Keys with every awkward byte: CR LF, NUL, invalid UTF-8. */
const K1 = Buffer.from([0x6b, 0x0d, 0x0a, 0x00, 0xff])
const K2 = Buffer.from([0x00, 0xc3, 0x28])

/**
 * A scripted server holding `strings` (key as latin1 -> value) with `ttls` (PTTL, -1 when absent)
 * and, for every other key of `others`, a hash: MGET answers [nil] for it, as a server does.
 */
function server(
  label: 'source' | 'target',
  strings: Map<string, Buffer>,
  log: string[],
  options: { ttls?: Map<string, number>; others?: Set<string>; mget?: (key: string) => Reply } = {},
) {
  return side(
    label,
    (args) => {
      const k = args[1]
      const exists = strings.has(k) || !!options.others?.has(k)
      switch (args[0]) {
        case 'MGET':
          return options.mget ? options.mget(k) : [strings.get(k) ?? null]
        case 'PTTL':
          return exists ? (options.ttls?.get(k) ?? -1) : -2
        case 'DUMP':
          return strings.has(k)
            ? payloadOf(RDB_TYPE.STRING, strings.get(k)!.toString('latin1'))
            : options.others?.has(k)
              ? payloadOf(RDB_TYPE.HASH_LISTPACK, 'h')
              : null
        case 'GET':
          return strings.get(k) ?? null
        default:
          return new RespError(`ERR unexpected ${args[0]}`)
      }
    },
    log,
  )
}

const latin = (k: Buffer) => k.toString('latin1')
const values = (entries: [Buffer, Buffer][]) => new Map(entries.map(([k, v]) => [latin(k), v]))
const V = Buffer.from([0x0d, 0x0a, 0x00, 0xfe, 0x41])

describe('verify: strings settled by the first round (MGET and the expiry)', () => {
  it('equal strings with binary bytes cost MGET and PTTL only: no DUMP, no GET', async () => {
    const log: string[] = []
    const data = values([
      [K1, V],
      [K2, Buffer.from('')],
    ])
    const e: Endpoints = {
      source: server('source', data, log),
      target: server('target', new Map(data), log),
      sourceDb: 0,
      targetDb: 0,
    }
    expect(await compareKeys(e, [K1, K2], settings)).toEqual([])
    expect([...new Set(log)].sort()).toEqual(['MGET', 'PTTL'])
  })

  it('a byte changed, a length changed, a TTL beyond the tolerance: each reported as the DUMP path reported it', async () => {
    const log: string[] = []
    const e: Endpoints = {
      source: server(
        'source',
        values([
          [K1, V],
          [K2, Buffer.from('abc')],
        ]),
        log,
        { ttls: new Map([[latin(K2), 60_000]]) },
      ),
      target: server(
        'target',
        values([
          [K1, Buffer.from([0x0d, 0x0a, 0x01, 0xfe, 0x41])],
          [K2, Buffer.from('abcd')],
        ]),
        log,
      ),
      sourceDb: 0,
      targetDb: 0,
    }
    expect(await compareKeys(e, [K1, K2], settings)).toEqual([
      expect.objectContaining({
        category: 'value',
        keyHex: K1.toString('hex'),
        detail: 'string values differ from byte 2',
        sourceType: 'string',
        sourceValue: '\\r\\n\\x00\\xfeA',
        targetValue: '\\r\\n\\x01\\xfeA',
      }),
      expect.objectContaining({
        category: 'ttl',
        keyHex: K2.toString('hex'),
        detail: 'ttl 60000 ms in source, none in target',
        sourceType: 'string',
        sourceTtlMs: 60_000,
        targetTtlMs: -1,
      }),
      expect.objectContaining({
        category: 'value',
        keyHex: K2.toString('hex'),
        detail: 'string of 3 bytes in source, 4 in target',
      }),
    ])
    expect(log).not.toContain('DUMP')
  })

  it('a string on one side and a hash or nothing on the other go to the DUMP round: type and missing named', async () => {
    const log: string[] = []
    const e: Endpoints = {
      source: server(
        'source',
        values([
          [K1, V],
          [K2, V],
        ]),
        log,
      ),
      target: server('target', new Map(), log, { others: new Set([latin(K1)]) }),
      sourceDb: 0,
      targetDb: 0,
    }
    expect(await compareKeys(e, [K1, K2], settings)).toEqual([
      expect.objectContaining({
        category: 'type',
        keyHex: K1.toString('hex'),
        detail: 'string in source, hash in target',
      }),
      expect.objectContaining({
        category: 'missing-in-target',
        keyHex: K2.toString('hex'),
        detail: 'only in source (string)',
      }),
    ])
    expect(log.filter((l) => l === 'DUMP')).toHaveLength(4)
  })

  it('an error reply to MGET is never a value: the key goes to the DUMP round, whose refusal fails the comparison', async () => {
    const log: string[] = []
    const data = values([[K1, V]])
    const refusingMget = (k: string): Reply =>
      k === latin(K1)
        ? new RespError("NOPERM this user has no permissions to run the 'mget' command")
        : [null]
    // MGET refused, DUMP allowed: compared through the payloads, equal.
    const e: Endpoints = {
      source: server('source', data, log),
      target: server('target', new Map(data), log, { mget: refusingMget }),
      sourceDb: 0,
      targetDb: 0,
    }
    expect(await compareKeys(e, [K1], settings)).toEqual([])
    expect(log).toContain('DUMP')
    // MGET refused and DUMP refused: the comparison fails, naming DUMP and the side.
    const refusingBoth = side('target', (args) =>
      args[0] === 'PTTL' ? -1 : new RespError('NOPERM this user has no permissions'),
    )
    await expect(compareKeys({ ...e, target: refusingBoth }, [K1], settings)).rejects.toThrow(
      'DUMP refused on the target: NOPERM this user has no permissions',
    )
  })

  it('an error reply to the expiry of a string fails the comparison; never "no expiry"', async () => {
    const log: string[] = []
    const data = values([[K1, V]])
    const refusingTtl = side('target', (args) =>
      args[0] === 'MGET'
        ? [V]
        : new RespError("NOPERM this user has no permissions to run the 'pttl' command"),
    )
    const e: Endpoints = {
      source: server('source', data, log),
      target: refusingTtl,
      sourceDb: 0,
      targetDb: 0,
    }
    await expect(compareKeys(e, [K1], settings)).rejects.toThrow(
      "PTTL refused on the target: NOPERM this user has no permissions to run the 'pttl' command",
    )
  })
})
