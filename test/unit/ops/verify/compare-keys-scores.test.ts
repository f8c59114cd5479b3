import { describe, expect, it } from 'vitest'
import { compareKeys } from '../../../../src/ops/verify/compare-keys.js'
import type { Endpoints } from '../../../../src/ops/verify/logical.js'
import type { Side } from '../../../../src/ops/verify/side.js'
import { RDB_TYPE } from '../../../../src/data/rdb/constants.js'
import { b, key, payloadOf, settings, side } from './scripted-side.js'

/** A zset side: its scores as that server prints them, a DUMP payload of its own. */
function zsetSide(label: 'source' | 'target', scores: [string, string][], dump: string, log?: string[]) {
  return side(
    label,
    (args) => {
      switch (args[0]) {
        case 'TYPE':
          return 'zset'
        case 'MGET':
          return [null]
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
