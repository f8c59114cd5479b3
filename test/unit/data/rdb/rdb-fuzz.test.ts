/**
 * The fuzzer (`../fuzz.ts`) over RDB files: the redis-server fixtures and crafted files of every
 * version and encoding, with hostile length fields, read with each reader option; the values the
 * reader lets through go on to the decoders and DUMP payloads.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { lzfCompress } from '../../../../src/data/lzf.js'
import { dialectFor } from '../../../../src/data/rdb/constants.js'
import { buildDumpPayload, describeDumpPayload } from '../../../../src/data/rdb/dump.js'
import { RdbReader, type RdbReaderOptions } from '../../../../src/data/rdb/reader.js'
import { decodeValue } from '../../../../src/data/rdb/value.js'
import {
  intset,
  intStr,
  len,
  listpack,
  lzfStr,
  rdbFile,
  str,
  ziplist,
  zipmap,
} from '../../../helpers/rdb-craft.js'
import {
  chunked,
  deleteSlice,
  expectCleanOutcome,
  flipBits,
  insert,
  mutate,
  overwrite,
  repeatSlice,
  Rng,
  SEEDS,
  setByte,
  truncate,
  type Case,
  type Mutator,
} from '../fuzz.js'

/** Values that break length checks: zero, one-off, sign bits, "almost 4 GB", beyond 2^53. */
const HOSTILE_32 = [0, 1, 0x7f, 0xff, 0x3fff, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffff0, 0xffffffff]

function be32(n: number): Buffer {
  const b = Buffer.alloc(4)
  b.writeUInt32BE(n >>> 0)
  return b
}
function le32(n: number): Buffer {
  const b = Buffer.alloc(4)
  b.writeUInt32LE(n >>> 0)
  return b
}

/** An RDB length field with a hostile value, in one of its encodings. */
function hostileRdbLength(rng: Rng, room: number): Buffer {
  switch (rng.int(6)) {
    case 0:
      return Buffer.concat([Buffer.from([0x80]), be32(rng.pick(HOSTILE_32))])
    case 1: {
      const b = Buffer.alloc(9)
      b[0] = 0x81
      b.writeBigUInt64BE(rng.pick([0n, 1n << 32n, 1n << 40n, 1n << 53n, (1n << 64n) - 1n]), 1)
      return b
    }
    case 2:
      return Buffer.from([0x40 | rng.int(64), rng.int(256)])
    case 3:
      return Buffer.concat([Buffer.from([0x80]), be32(room + rng.int(3) - 1)])
    case 4: // an LZF string header with a declared length far beyond its data
      return Buffer.concat([
        Buffer.from([0xc3]),
        len(rng.int(40)),
        Buffer.from([0x80]),
        be32(rng.pick(HOSTILE_32)),
      ])
    default:
      return Buffer.from([rng.pick([0x3f, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xff, 0xfe])])
  }
}

const fixtures = fileURLToPath(new URL('../../../fixtures/rdb/', import.meta.url))
const k = (s: string) => Buffer.from(s)

function craftedRdbs(): Buffer[] {
  const lz = (blob: Buffer) => {
    const c = lzfCompress(blob)!
    return Buffer.concat([Buffer.from([0xc3]), len(c.length), len(blob.length), c])
  }
  const repeated = (s: string, n: number) => Array.from({ length: n }, (_, i) => `${s}-${i % 3}`)
  const moduleId = Buffer.concat([Buffer.from([0x81]), Buffer.from('00048d159e26af00', 'hex')])
  const stream = Buffer.concat([
    len(1),
    str(Buffer.alloc(16)),
    str(listpack([1, 0, 0, 1, 'f', 0, 1, 'v', 3, 0xff])),
    len(1),
    len(1),
    len(1),
    len(1),
    len(1),
    len(0),
    len(0),
    len(1),
    len(1),
    str('g'),
    len(1),
    len(1),
    len(1),
    len(1),
    Buffer.alloc(16),
    Buffer.alloc(8),
    len(1),
    len(1),
    str('c'),
    Buffer.alloc(8),
    Buffer.alloc(8),
    len(1),
    Buffer.alloc(16),
  ])
  const v9 = rdbFile(
    9,
    [
      {
        db: 0,
        entries: [
          { type: 0, key: k('plain'), value: str('value') },
          { type: 0, key: k('int'), value: intStr(-12345) },
          {
            type: 0,
            key: k('lzf'),
            value: lzfStr('abcabcabcabcabcabcabcabcabcabcabc'),
            expireMs: 1700000000000,
          },
          { type: 1, key: k('list'), value: Buffer.concat([len(2), str('a'), intStr(7)]) },
          { type: 2, key: k('set'), value: Buffer.concat([len(2), str('x'), str('y')]) },
          {
            type: 3,
            key: k('zset1'),
            value: Buffer.concat([
              len(2),
              str('m'),
              Buffer.from([3]),
              k('1.5'),
              str('n'),
              Buffer.from([254]),
            ]),
          },
          {
            type: 4,
            key: k('hash'),
            value: Buffer.concat([len(1), str('f'), str('v')]),
            expireSeconds: 1700000000,
          },
          { type: 5, key: k('zset2'), value: Buffer.concat([len(1), str('m'), Buffer.alloc(8)]) },
          {
            type: 9,
            key: k('zipmap'),
            value: str(
              zipmap([
                ['f', 'v'],
                ['g', 'w'],
              ]),
            ),
          },
          { type: 10, key: k('ziplist'), value: str(ziplist(['a', 1, -300, 70000, 'b'.repeat(70)])) },
          { type: 11, key: k('intset'), value: str(intset([1, 2, 70000])) },
          { type: 12, key: k('zsetzl'), value: str(ziplist(['m', '1.5'])) },
          { type: 13, key: k('hashzl'), value: lz(ziplist(repeated('field', 20))) },
          {
            type: 14,
            key: k('quicklist'),
            value: Buffer.concat([len(2), str(ziplist(['a'])), lz(ziplist(repeated('item', 30)))]),
          },
          {
            type: 7,
            key: k('module'),
            value: Buffer.concat([
              moduleId,
              len(2),
              len(7),
              len(5),
              str('mod'),
              len(4),
              Buffer.alloc(8),
              len(3),
              Buffer.alloc(4),
              len(0),
            ]),
          },
          {
            type: 15,
            key: k('stream'),
            value: stream.subarray(0, stream.indexOf(Buffer.from([1, 1, 1, 1, 1, 0, 0, 1]))),
          },
        ],
      },
    ],
    {
      aux: [
        ['redis-ver', '5.0.0'],
        ['aof-base', '0'],
      ],
      tail: [Buffer.concat([Buffer.from([0xf7]), moduleId, len(2), len(2), len(5), str('x'), len(0)])],
    },
  )
  const v11 = rdbFile(11, [
    {
      db: 3,
      entries: [
        { type: 16, key: k('hashlp'), value: lz(listpack(repeated('f', 40))) },
        { type: 17, key: k('zsetlp'), value: str(listpack(['m', 1, 'n', '2.5'])) },
        {
          type: 18,
          key: k('ql2'),
          value: Buffer.concat([len(2), len(1), str('plain'), len(2), lz(listpack(repeated('e', 50)))]),
        },
        { type: 20, key: k('setlp'), value: str(listpack(['a', 7, -5000, 2 ** 40])) },
        { type: 21, key: k('stream3'), value: stream },
      ],
    },
  ])
  const v12 = rdbFile(12, [
    {
      db: 0,
      entries: [
        {
          type: 24,
          key: k('h1'),
          value: Buffer.concat([Buffer.alloc(8), len(1), len(0), str('f'), str('v')]),
        },
        { type: 25, key: k('h2'), value: Buffer.concat([Buffer.alloc(8), str(listpack(['f', 'v', 0]))]) },
      ],
    },
  ])
  const v80 = rdbFile(80, [
    {
      db: 0,
      entries: [
        { type: 22, key: k('vh'), value: Buffer.concat([len(1), str('a'), str('1'), Buffer.alloc(8, 0xff)]) },
      ],
    },
  ])
  return [v9, v11, v12, v80]
}

const RDB_CORPUS = [
  ...['redis7-types', 'redis7-lfu', 'legacy-v9', 'redis7-nocompress-nochecksum'].map((f) =>
    readFileSync(`${fixtures}${f}.rdb`),
  ),
  ...craftedRdbs(),
]

const RDB_MUTATORS: Mutator[] = [
  flipBits,
  setByte,
  truncate,
  overwrite(hostileRdbLength),
  overwrite(hostileRdbLength),
  overwrite((rng) => le32(rng.pick(HOSTILE_32))), // listpack/ziplist/intset header fields
  insert(hostileRdbLength),
  deleteSlice,
  repeatSlice,
]

const RDB_OPTIONS: RdbReaderOptions[] = [
  { countElements: true }, // inspect (validates)
  { entries: 'count' }, // restore's verification pass (validates)
  {}, // replay and restore's sending pass (framing only)
  { validate: true, verifyChecksum: false },
]

describe('fuzz: every parse succeeds or fails as bad input (exit 2), never crashes or hangs', () => {
  it.each(SEEDS)('RDB files (seed %i)', async (seed) => {
    const rng = new Rng(seed)
    const tally = { ok: 0, refused: 0 }
    for (let iteration = 0; iteration < 400; iteration++) {
      const input = mutate(rng, rng.pick(RDB_CORPUS), RDB_MUTATORS)
      const options = rng.pick(RDB_OPTIONS)
      const chunk = rng.chance(0.05) ? 1 : rng.pick([7, 64, 4096, 1 << 16])
      const sized = rng.chance(0.5)
      const c: Case = {
        corpus: 'rdb',
        seed,
        iteration,
        input,
        how: `${JSON.stringify(options)}, ${chunk}-byte chunks, size ${sized ? 'known' : 'unknown'}`,
      }
      const entries: { type: number; value: Buffer; version: number }[] = []
      tally[
        await expectCleanOutcome(c, async () => {
          const reader = new RdbReader(chunked(input, chunk), {
            ...options,
            ...(sized ? { size: input.length } : {}),
          })
          for await (const batch of reader.batches())
            for (const rec of batch)
              if (rec.kind === 'entry' && entries.length < 64)
                entries.push({
                  type: rec.rdbType,
                  value: Buffer.from(rec.value),
                  version: reader.header!.version,
                })
        })
      ]++
      // Values the reader let through (without validation) go on to the decoders and DUMP payloads.
      for (const e of entries) {
        await expectCleanOutcome({ ...c, how: `decodeValue of type ${e.type}` }, () =>
          decodeValue(e.type, e.value, dialectFor(e.version)),
        )
        await expectCleanOutcome({ ...c, how: `DUMP payload of type ${e.type}` }, () =>
          describeDumpPayload(buildDumpPayload(e.type, e.value, e.version)),
        )
      }
    }
    // The mutations are not all fatal, nor all harmless: both outcomes are exercised.
    expect(tally.ok).toBeGreaterThan(20)
    expect(tally.refused).toBeGreaterThan(100)
  })
})
