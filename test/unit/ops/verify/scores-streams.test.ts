import { describe, expect, it } from 'vitest'
import { compareKeys } from '../../../../src/ops/verify/compare-keys.js'
import {
  compareStreamIds,
  nextStreamId,
  parseScore,
  sameScore,
  type Endpoints,
} from '../../../../src/ops/verify/logical.js'
import type { Side } from '../../../../src/ops/verify/side.js'
import { buildDumpPayload } from '../../../../src/data/rdb/dump.js'
import { RDB_TYPE } from '../../../../src/data/rdb/constants.js'
import type { CommandArg } from '../../../../src/wire/encode.js'
import type { Reply } from '../../../../src/wire/reply-parser.js'

/** A side answering every command from `answer`; every command it was sent is logged. */
function side(label: 'source' | 'target', answer: (args: string[]) => Reply, log: string[] = []): Side {
  return {
    label,
    perKey: async (_db: number, keys: Buffer[], build: (k: Buffer, i: number) => CommandArg[][]) =>
      keys.map((k, i) =>
        build(k, i).map((c) => {
          const args = c.map((a) => (Buffer.isBuffer(a) ? a.toString('latin1') : String(a)))
          log.push(args.slice(0, args[0] === 'XINFO' ? 2 : 1).join(' '))
          return answer(args)
        }),
      ),
  } as unknown as Side
}

const settings = { ttlToleranceMs: 1000, chunkElements: 1000, showValues: true }
const b = (s: string) => Buffer.from(s)
const key = Buffer.from([0x7a, 0x00, 0x0d, 0x0a, 0xff])
/** A DUMP payload of `rdbType` (its first byte, which verify reads the type from) whose value bytes are `tag`. */
const payloadOf = (rdbType: number, tag: string) => buildDumpPayload(rdbType, b(tag), 10)

/** A zset side: its scores as that server prints them, a DUMP payload of its own. */
function zsetSide(label: 'source' | 'target', scores: [string, string][], dump: string, log?: string[]) {
  return side(
    label,
    (args) => {
      switch (args[0]) {
        case 'TYPE':
          return 'zset'
        case 'PTTL':
          return -1
        case 'ZCARD':
          return scores.length
        case 'DUMP':
          return payloadOf(RDB_TYPE.ZSET_LISTPACK, dump)
        case 'ZRANGE':
          return scores.flatMap(([m, s]) => [b(m), b(s)])
        case 'ZSCAN':
          return [b('0'), scores.flatMap(([m, s]) => [b(m), b(s)])]
        case 'ZMSCORE': {
          const found = new Map(scores)
          return args.slice(2).map((m) => (found.has(m) ? b(found.get(m)!) : null))
        }
        default:
          throw new Error(`unexpected ${args[0]}`)
      }
    },
    log,
  )
}

// The same doubles as Redis 7.0 and Valkey 8 print them.
const REDIS: [string, string][] = [
  ['a', '1.1000000000000001'],
  ['b', '1.0000000000000001e+300'],
  ['c', '-0'],
  ['d', 'inf'],
  ['e', '0.30000000000000004'],
  ['f', '-inf'],
  ['g', '3.1415899999999999'],
]
const VALKEY: [string, string][] = [
  ['a', '1.1'],
  ['b', '1e+300'],
  ['c', '0'],
  ['d', 'inf'],
  ['e', '0.30000000000000004'],
  ['f', '-inf'],
  ['g', '3.14159'],
]

describe('verify: scores are numbers', () => {
  it('parses what servers print: inf, -inf, long and short forms; not a number is NaN, compared as bytes', () => {
    expect(parseScore('inf')).toBe(Infinity)
    expect(parseScore('+inf')).toBe(Infinity)
    expect(parseScore('-inf')).toBe(-Infinity)
    expect(parseScore('1.1000000000000001')).toBe(1.1)
    expect(parseScore('')).toBeNaN()
    expect(sameScore(b('1.0000000000000001e+300'), b('1e+300'))).toBe(true)
    expect(sameScore(b('-0'), b('0'))).toBe(true)
    expect(sameScore(b('1.1'), b('1.1000000000000002'))).toBe(false) // the next double: another score
    expect(sameScore(b('x'), b('x'))).toBe(true)
    expect(sameScore(b('x'), b('y'))).toBe(false)
  })

  for (const [name, chunkElements] of [
    ['whole (ZRANGE)', 1000],
    ['chunked (ZSCAN + ZMSCORE)', 3],
  ] as const) {
    it(`${name}: the same zset printed by Redis 7.0 and Valkey 8 is equal in both directions; a real difference is not`, async () => {
      const s = { ...settings, chunkElements }
      const pair = (a: Side, t: Side): Endpoints => ({ source: a, target: t, sourceDb: 0, targetDb: 0 })
      expect(
        await compareKeys(
          pair(zsetSide('source', REDIS, 'v10'), zsetSide('target', VALKEY, 'v11')),
          [key],
          s,
        ),
      ).toEqual([])
      expect(
        await compareKeys(
          pair(zsetSide('source', VALKEY, 'v11'), zsetSide('target', REDIS, 'v10')),
          [key],
          s,
        ),
      ).toEqual([])
      const changed = VALKEY.map(([m, sc]): [string, string] => [m, m === 'g' ? '3.1415' : sc])
      for (const [a, t] of [
        [zsetSide('source', REDIS, 'v10'), zsetSide('target', changed, 'v11')],
        [zsetSide('source', changed, 'v11'), zsetSide('target', REDIS, 'v10')],
      ]) {
        const diffs = await compareKeys(pair(a, t), [key], s)
        expect(diffs).toHaveLength(1)
        expect(diffs[0]).toMatchObject({ category: 'value', detail: 'member "g": values differ' })
      }
    })
  }
})

/** A stream as XRANGE, XINFO and XPENDING show it; `times` shifts every idle time (another server's clock). */
interface StreamModel {
  entries: [string, string[]][]
  info: Record<string, string | number>
  groups: {
    name: string
    info: Record<string, string | number | null>
    consumers: [string, number][]
    pel: [string, string, number][]
  }[]
}

function streamSide(label: 'source' | 'target', m: StreamModel, idleShift: number, log?: string[]) {
  const flat = (o: Record<string, string | number | null>) =>
    Object.entries(o).flatMap(([k, v]) => [b(k), typeof v === 'string' ? b(v) : v])
  return side(
    label,
    (args) => {
      const group = m.groups.find((g) => g.name === args[3] || g.name === args[2])
      switch (args[0] === 'XINFO' ? `XINFO ${args[1]}` : args[0]) {
        case 'TYPE':
          return 'stream'
        case 'PTTL':
          return -1
        case 'XLEN':
          return m.entries.length
        case 'DUMP':
          return payloadOf(RDB_TYPE.STREAM_LISTPACKS_3, `${label} payload`)
        case 'XRANGE':
          return m.entries.map(([id, f]) => [b(id), f.map(b)])
        case 'XINFO STREAM':
          return flat(m.info)
        case 'XINFO GROUPS':
          return m.groups.map((g) => flat({ name: g.name, ...g.info }))
        case 'XINFO CONSUMERS':
          return group!.consumers.map(([name, pending]) =>
            flat({ name, pending, idle: 1000 + idleShift, inactive: 5 + idleShift }),
          )
        case 'XPENDING':
          return group!.pel.map(([id, consumer, count]) => [b(id), b(consumer), 77 + idleShift, count])
        default:
          throw new Error(`unexpected ${args.join(' ')}`)
      }
    },
    log,
  )
}

const STREAM: StreamModel = {
  entries: [
    ['3-0', ['f', 'v3']],
    ['5-0', ['f', 'v5']],
  ],
  info: { length: 2, 'last-generated-id': '6-0', 'max-deleted-entry-id': '6-0', 'entries-added': 6 },
  groups: [
    {
      name: 'g',
      info: { consumers: 3, pending: 3, 'last-delivered-id': '5-0', 'entries-read': 5, lag: 0 },
      consumers: [
        ['alice', 2],
        ['bob', 1],
        ['carol', 0],
      ],
      pel: [
        ['1-0', 'alice', 2],
        ['4-0', 'bob', 1],
        ['5-0', 'alice', 1],
      ],
    },
    {
      name: 'h',
      info: { consumers: 0, pending: 0, 'last-delivered-id': '0-0', 'entries-read': null, lag: 2 },
      consumers: [],
      pel: [],
    },
  ],
}

const clone = (m: StreamModel): StreamModel => JSON.parse(JSON.stringify(m))

describe('verify: stream metadata', () => {
  const compare = (target: StreamModel) =>
    compareKeys(
      {
        source: streamSide('source', STREAM, 0),
        target: streamSide('target', target, 5000),
        sourceDb: 0,
        targetDb: 0,
      },
      [key],
      settings,
    )

  it('equal streams are equal although every idle time differs', async () => {
    expect(await compare(clone(STREAM))).toEqual([])
  })

  it('finds a different entries-added, max-deleted-entry-id, last id, entries-read, consumer, pending entry or delivery count', async () => {
    const cases: [string, (m: StreamModel) => void, string][] = [
      [
        'entries-added',
        (m) => (m.info['entries-added'] = 2),
        'stream entries-added 6 in source, 2 in target',
      ],
      [
        'max-deleted-entry-id',
        (m) => (m.info['max-deleted-entry-id'] = '0-0'),
        'stream max-deleted-entry-id 6-0 in source, 0-0 in target',
      ],
      [
        'last id',
        (m) => (m.info['last-generated-id'] = '5-0'),
        'stream last-generated-id 6-0 in source, 5-0 in target',
      ],
      [
        'entries-read',
        (m) => (m.groups[1].info['entries-read'] = 0),
        'stream consumer group "h": entries-read nil in source, 0 in target',
      ],
      ['group', (m) => m.groups.pop(), 'stream consumer group "h" missing in target'],
      [
        'consumer with nothing pending',
        (m) => m.groups[0].consumers.pop(),
        'stream consumer group "g": consumer "carol" missing in target',
      ],
      [
        'pending entry of a deleted entry',
        (m) => {
          m.groups[0].pel.shift()
          m.groups[0].pel.push(['5-1', 'alice', 2])
        },
        'stream consumer group "g": pending entry 1-0 missing or different in target',
      ],
      [
        'owner',
        (m) => (m.groups[0].pel[1][1] = 'alice'),
        'stream consumer group "g": pending entry 4-0: consumer "bob" in source, "alice" in target',
      ],
      [
        'delivery count',
        (m) => (m.groups[0].pel[2][2] = 9),
        'stream consumer group "g": pending entry 5-0: delivered 1 times in source, 9 in target',
      ],
    ]
    for (const [what, change, detail] of cases) {
      const target = clone(STREAM)
      change(target)
      const diffs = await compare(target)
      expect(
        diffs.map((d) => d.detail),
        what,
      ).toEqual([detail])
    }
  })

  it('a field one server does not report (older than 7.0) is not compared', async () => {
    const old = clone(STREAM)
    delete old.info['entries-added']
    delete old.info['max-deleted-entry-id']
    for (const g of old.groups) delete g.info['entries-read']
    expect(await compare(old)).toEqual([])
  })

  it('keys that are not streams cost no stream command; equal DUMP payloads settle a stream', async () => {
    const log: string[] = []
    const strings = (label: 'source' | 'target') =>
      side(
        label,
        (args) =>
          ({
            TYPE: 'hash',
            PTTL: -1,
            HLEN: 2,
            DUMP: payloadOf(RDB_TYPE.HASH_LISTPACK, `${label} payload`),
            HGETALL: [b('a'), b('1')],
          })[args[0]] as Reply,
        log,
      )
    expect(
      await compareKeys(
        { source: strings('source'), target: strings('target'), sourceDb: 0, targetDb: 0 },
        [key, b('k2'), b('k3')],
        settings,
      ),
    ).toEqual([])
    expect(log.filter((c) => /^X/.test(c))).toEqual([])

    const same = (label: 'source' | 'target') =>
      side(
        label,
        (args) =>
          ({
            TYPE: 'stream',
            PTTL: -1,
            XLEN: 2,
            DUMP: payloadOf(RDB_TYPE.STREAM_LISTPACKS_3, 'one payload'),
          })[args[0]] as Reply,
        log,
      )
    log.length = 0
    expect(
      await compareKeys(
        { source: same('source'), target: same('target'), sourceDb: 0, targetDb: 0 },
        [key],
        settings,
      ),
    ).toEqual([])
    expect(log.filter((c) => /^X(?!LEN)/.test(c))).toEqual([])
  })

  it('stream ids order as numbers and page on without exclusive ranges', () => {
    expect(compareStreamIds('10-0', '9-5')).toBe(1)
    expect(compareStreamIds('9-5', '9-10')).toBe(-1)
    expect(compareStreamIds('7-7', '7-7')).toBe(0)
    expect(nextStreamId('5-1')).toBe('5-2')
    expect(nextStreamId('5-18446744073709551615')).toBe('6-0')
  })
})
