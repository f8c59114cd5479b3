/**
 * A deterministic fuzzer (xorshift32, fixed seeds) over the input parsers: valid RDB files, RESP
 * logs, AOF manifests, MONITOR captures and JSON files are mutated (bit flips, byte overwrites,
 * truncation, length fields overwritten with hostile values, slices inserted, deleted or
 * repeated), and every parse must either succeed or fail as bad input: a KvtopError with exit code
 * 2. Never a TypeError, RangeError or any other crash (which the CLI would report as an internal
 * error, exit 5), never a hang (each parse is timed). A failure prints the seed, the case and the
 * input (base64) to replay it.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { parseManifest } from '../../../src/data/aof/manifest.js'
import { locateJsonError, parseJsonText } from '../../../src/json-text.js'
import { lzfCompress } from '../../../src/data/lzf.js'
import { parseMonitorLine } from '../../../src/data/monitor/monitor-line.js'
import { readMonitorLog } from '../../../src/data/monitor/monitor-reader.js'
import { dialectFor } from '../../../src/data/rdb/constants.js'
import { buildDumpPayload, describeDumpPayload } from '../../../src/data/rdb/dump.js'
import { RdbReader, type RdbReaderOptions } from '../../../src/data/rdb/reader.js'
import { decodeValue } from '../../../src/data/rdb/value.js'
import { readCommands, RespCommandParser, NEED_MORE } from '../../../src/data/resp/command-parser.js'
import { ExitCode, KvtopError } from '../../../src/errors.js'
import { encodeCommand } from '../../../src/wire/encode.js'
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
} from '../../helpers/rdb-craft.js'

// --- the random source ------------------------------------------------------------------------

/** xorshift32: small, fast, and the same sequence for the same seed everywhere. */
class Rng {
  private s: number
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9
  }
  next(): number {
    let x = this.s
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    this.s = x >>> 0
    return this.s
  }
  /** 0 <= n < max */
  int(max: number): number {
    return max <= 0 ? 0 : this.next() % max
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]
  }
  chance(p: number): boolean {
    return this.next() / 0x100000000 < p
  }
}

// --- mutations --------------------------------------------------------------------------------

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

type Mutator = (rng: Rng, b: Buffer) => Buffer

const flipBits: Mutator = (rng, b) => {
  const out = Buffer.from(b)
  for (let n = 1 + rng.int(4); n > 0 && out.length; n--) out[rng.int(out.length)] ^= 1 << rng.int(8)
  return out
}
const setByte: Mutator = (rng, b) => {
  const out = Buffer.from(b)
  if (out.length)
    out[rng.int(out.length)] = rng.pick([0, 0xff, 0x80, 0x7f, 0x0d, 0x0a, 0x22, 0x5c, rng.int(256)])
  return out
}
const truncate: Mutator = (rng, b) => b.subarray(0, rng.int(b.length))
const overwrite =
  (field: (rng: Rng, room: number) => Buffer): Mutator =>
  (rng, b) => {
    if (!b.length) return b
    const at = rng.int(b.length)
    const f = field(rng, b.length - at)
    return Buffer.concat([b.subarray(0, at), f, b.subarray(Math.min(b.length, at + f.length))])
  }
const insert =
  (field: (rng: Rng, room: number) => Buffer): Mutator =>
  (rng, b) => {
    const at = rng.int(b.length + 1)
    return Buffer.concat([b.subarray(0, at), field(rng, b.length - at), b.subarray(at)])
  }
const deleteSlice: Mutator = (rng, b) => {
  const at = rng.int(b.length)
  return Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + rng.int(16))])
}
const repeatSlice: Mutator = (rng, b) => {
  const at = rng.int(b.length)
  const slice = b.subarray(at, at + 1 + rng.int(32))
  return Buffer.concat([b.subarray(0, at), slice, slice, b.subarray(at)])
}
const randomBytes = (rng: Rng) => Buffer.from(Array.from({ length: 1 + rng.int(8) }, () => rng.int(256)))

function mutate(rng: Rng, input: Buffer, mutators: Mutator[]): Buffer {
  let b = input
  for (let n = 1 + rng.int(3); n > 0; n--) b = rng.pick(mutators)(rng, b)
  return b
}

// --- checking one parse -----------------------------------------------------------------------

/** Longest a single parse of these small inputs may take: more means a hang or a blow-up. */
const PARSE_BUDGET_MS = 2000

interface Case {
  corpus: string
  seed: number
  iteration: number
  input: Buffer
  how: string
}

async function expectCleanOutcome(
  c: Case,
  parse: () => Promise<unknown> | unknown,
): Promise<'ok' | 'refused'> {
  const started = performance.now()
  let outcome: 'ok' | 'refused' = 'ok'
  try {
    await parse()
  } catch (err) {
    outcome = 'refused'
    if (!(err instanceof KvtopError) || err.exitCode !== ExitCode.usage) {
      const what = err instanceof Error ? `${err.name}: ${err.message}\n${err.stack}` : String(err)
      expect.fail(
        `${c.corpus} seed ${c.seed} iteration ${c.iteration} (${c.how}): expected success or a KvtopError with exit code 2, got ${what}\ninput (base64): ${c.input.toString('base64').slice(0, 4000)}`,
      )
    }
  }
  const ms = performance.now() - started
  if (ms > PARSE_BUDGET_MS)
    expect.fail(`${c.corpus} seed ${c.seed} iteration ${c.iteration} (${c.how}): took ${ms.toFixed(0)} ms`)
  return outcome
}

async function* chunked(buf: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size)
  if (buf.length === 0) return
}

// --- corpora ----------------------------------------------------------------------------------

const fixtures = fileURLToPath(new URL('../../fixtures/rdb/', import.meta.url))
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

const RESP_CORPUS = [
  Buffer.concat([
    encodeCommand(['SET', Buffer.from([0xff, 0x00, 0x0d, 0x0a]), 'v']),
    Buffer.from('#TS:1700000000\r\n'),
    encodeCommand(['MULTI']),
    encodeCommand(['HSET', 'h', '', 'x'.repeat(300)]),
    encodeCommand(['EXEC']),
  ]),
  Buffer.from('PING\r\nSET "a b" \'c\\\'d\' "\\x41\\n"\r\n\r\n*1\r\n$4\r\nPING\r\n'),
  Buffer.concat([
    encodeCommand(['SELECT', '0']),
    encodeCommand(['RPUSH', 'l', ...Array.from({ length: 40 }, (_, i) => `e${i}`)]),
  ]),
]

const RESP_MUTATORS: Mutator[] = [
  flipBits,
  setByte,
  truncate,
  deleteSlice,
  repeatSlice,
  insert(randomBytes),
  // A declared length replaced: *0, *-1, huge counts and bulk lengths.
  (rng, b) => {
    const marks: number[] = []
    for (let i = 0; i < b.length; i++) if (b[i] === 0x2a || b[i] === 0x24) marks.push(i)
    if (!marks.length) return b
    const at = rng.pick(marks)
    const end = b.indexOf(0x0d, at)
    const value = rng.pick([
      '0',
      '-1',
      '-',
      '',
      '4294967296',
      '2147483648',
      '99999999999999999999',
      String(rng.int(1000)),
      'x',
    ])
    return Buffer.concat([b.subarray(0, at + 1), Buffer.from(value), b.subarray(end < 0 ? b.length : end)])
  },
]

const MANIFEST_CORPUS = [
  Buffer.from(
    [
      'file appendonly.aof.2.base.rdb seq 2 type b',
      'file appendonly.aof.1.base.rdb seq 1 type h',
      'file "my aof\\x21 \\"x\\".3.incr.aof" seq 3 type i',
      'file appendonly.aof.2.incr.aof seq 2 type i',
      '',
    ].join('\n'),
  ),
]

const MANIFEST_MUTATORS: Mutator[] = [
  flipBits,
  setByte,
  truncate,
  deleteSlice,
  repeatSlice,
  insert((rng) =>
    Buffer.from(
      rng.pick([
        ' ',
        '"',
        '\\',
        '\\x',
        '\\xZ',
        '\n',
        'seq',
        'type',
        '/',
        '\0',
        '..',
        'constructor',
        '__proto__',
      ]),
    ),
  ),
]

const MONITOR_CORPUS = [
  Buffer.from(
    [
      '1700000000.000001 [0 127.0.0.1:5000] "SET" "k\\x00\\xff\\r\\n" "a\\"b\\\\c\\t\\a\\b"',
      '+1700000000.500000 [2 lua] "INCR" ""',
      '1700000001.250000 [0 unix:/tmp/redis.sock] "PING"',
      `1700000002.000000 [15 10.0.0.1:6379] "HSET" "h" "${'x'.repeat(200)}" "\\x01"`,
      '',
    ].join('\r\n'),
    'latin1',
  ),
]

const MONITOR_MUTATORS: Mutator[] = [
  flipBits,
  setByte,
  truncate,
  deleteSlice,
  repeatSlice,
  insert((rng) =>
    Buffer.from(rng.pick(['"', '\\', '\\x', '\\xg', ' ', '[', ']', '\n', '99999999999999999999', '\r\n'])),
  ),
]

const JSON_CORPUS = [
  Buffer.from(
    JSON.stringify(
      {
        profiles: {
          prod: {
            url: 'redis://h:6379',
            password: 'p\u00e9"w',
            timeout: 1.5e3,
            natMap: { 'a:1': 'b:2' },
            insecure: false,
            tags: [null, true, -0.5],
          },
        },
      },
      null,
      2,
    ),
  ),
]

const JSON_MUTATORS: Mutator[] = [
  flipBits,
  setByte,
  truncate,
  deleteSlice,
  repeatSlice,
  insert((rng) =>
    Buffer.from(rng.pick([',', '}', ']', '"', '\\u12', '\\', '1e', '-', '\ufeff', '//', '\n', '[[[['])),
  ),
]

// --- the runs ---------------------------------------------------------------------------------

const SEEDS = [0x1234abcd, 0xdeadbeef, 42]

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

  it.each(SEEDS)('RESP logs (seed %i)', async (seed) => {
    const rng = new Rng(seed)
    const tally = { ok: 0, refused: 0 }
    for (let iteration = 0; iteration < 1000; iteration++) {
      const input = mutate(rng, rng.pick(RESP_CORPUS), RESP_MUTATORS)
      const chunk = rng.chance(0.05) ? 1 : rng.pick([3, 16, 4096])
      const allowTruncatedTail = rng.chance(0.3)
      const c: Case = {
        corpus: 'resp',
        seed,
        iteration,
        input,
        how: `${chunk}-byte chunks, allowTruncatedTail ${allowTruncatedTail}`,
      }
      tally[
        await expectCleanOutcome(c, async () => {
          for await (const batch of readCommands(chunked(input, chunk), { allowTruncatedTail }))
            for (const rec of batch) if (rec.kind === 'command') expect(rec.args.length).toBeGreaterThan(0)
        })
      ]++
      await expectCleanOutcome({ ...c, how: 'one push, next() and finish()' }, () => {
        const p = new RespCommandParser({ annotations: rng.chance(0.5), inline: rng.chance(0.5) })
        p.push(input)
        while (p.next() !== NEED_MORE);
        p.finish()
      })
    }
    expect(tally.ok).toBeGreaterThan(100)
    expect(tally.refused).toBeGreaterThan(100)
  })

  it.each(SEEDS)('AOF manifests (seed %i)', async (seed) => {
    const rng = new Rng(seed)
    const tally = { ok: 0, refused: 0 }
    for (let iteration = 0; iteration < 1500; iteration++) {
      const input = mutate(rng, rng.pick(MANIFEST_CORPUS), MANIFEST_MUTATORS)
      tally[
        await expectCleanOutcome({ corpus: 'manifest', seed, iteration, input, how: 'parseManifest' }, () => {
          for (const e of parseManifest(input.toString('latin1'))) {
            expect(['base', 'history', 'incr']).toContain(e.type)
            expect(Number.isSafeInteger(e.seq)).toBe(true)
            expect(e.file).not.toMatch(/\/|\0/)
          }
        })
      ]++
    }
    expect(tally.ok).toBeGreaterThan(100)
    expect(tally.refused).toBeGreaterThan(100)
  })

  it.each(SEEDS)('MONITOR captures (seed %i)', async (seed) => {
    const rng = new Rng(seed)
    const tally = { ok: 0, refused: 0 }
    for (let iteration = 0; iteration < 800; iteration++) {
      const input = mutate(rng, rng.pick(MONITOR_CORPUS), MONITOR_MUTATORS)
      const chunk = rng.chance(0.05) ? 1 : rng.pick([5, 64, 4096])
      const c: Case = { corpus: 'monitor', seed, iteration, input, how: `${chunk}-byte chunks` }
      tally[
        await expectCleanOutcome(c, async () => {
          for await (const batch of readMonitorLog(chunked(input, chunk), {
            allowTruncatedTail: rng.chance(0.5),
          }))
            for (const cmd of batch) expect(cmd.args.length).toBeGreaterThan(0)
        })
      ]++
      // Line by line, decoded into a new buffer and in place: the same outcome, the same arguments.
      for (const line of input.toString('latin1').split('\n').slice(0, 5)) {
        const bytes = Buffer.from(line.replace(/\r$/, ''), 'latin1')
        let copied: Buffer[] | undefined
        await expectCleanOutcome(
          { ...c, how: 'parseMonitorLine' },
          () => (copied = parseMonitorLine(bytes).args),
        )
        let inPlace: Buffer[] | undefined
        await expectCleanOutcome({ ...c, how: 'parseMonitorLine in place' }, () => {
          inPlace = parseMonitorLine(Buffer.from(bytes), { inPlace: true }).args
        })
        expect(inPlace).toEqual(copied)
      }
    }
    expect(tally.ok).toBeGreaterThan(50)
    expect(tally.refused).toBeGreaterThan(100)
  })

  it.each(SEEDS)('JSON config and state files (seed %i)', (seed) => {
    const rng = new Rng(seed)
    for (let iteration = 0; iteration < 1000; iteration++) {
      const text = mutate(rng, rng.pick(JSON_CORPUS), JSON_MUTATORS).toString('utf8')
      let valid = true
      try {
        JSON.parse(text)
      } catch {
        valid = false
      }
      const located = locateJsonError(text)
      expect(located === undefined, `seed ${seed} iteration ${iteration}: ${JSON.stringify(text)}`).toBe(
        valid,
      )
      if (located) {
        expect(() => parseJsonText(text)).toThrow(located.message)
        expect(located.position).toBeGreaterThanOrEqual(0)
        expect(located.position).toBeLessThanOrEqual(text.length)
      }
    }
  })
})
