import { describe, expect, it } from 'vitest'
import { compareKeys } from '../../../../src/ops/verify/compare-keys.js'
import { RDB_TYPE } from '../../../../src/data/rdb/constants.js'
import type { Reply } from '../../../../src/wire/reply-parser.js'
import { b, key, payloadOf, settings, side } from './scripted-side.js'

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
        case 'MGET':
          return [null]
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
})
