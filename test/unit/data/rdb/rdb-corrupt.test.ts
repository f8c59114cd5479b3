/**
 * Corrupt RDB files: every declared length (strings, LZF sizes, element counts, compact encodings,
 * module data, AUX fields) that the file cannot hold is refused as bad input (UsageError, exit 2)
 * naming the byte offset, before anything of the declared size is read or allocated.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { ExitCode, KvtopError, UsageError } from '../../../../src/errors.js'
import { lzfDecompress, LzfError } from '../../../../src/data/lzf.js'
import {
  RdbFormatError,
  RdbReader,
  type RdbReaderOptions,
  type RdbRecord,
} from '../../../../src/data/rdb/reader.js'
import { decodeValue } from '../../../../src/data/rdb/value.js'
import { intset, len, listpack, rdbFile, str, ziplist, zipmap } from '../../../helpers/rdb-craft.js'
import { compressed, lzfValue, oneKey, VALUE_AT } from './corrupt-values.js'

/** A 9-byte length (0x81 + 64-bit big-endian). */
function len64(n: bigint): Buffer {
  const b = Buffer.alloc(9)
  b[0] = 0x81
  b.writeBigUInt64BE(n, 1)
  return b
}

/** The file in chunks, counting how many were pulled; optionally followed by endless zeros. */
function source(buf: Buffer, chunk = 64, endless = false) {
  const stats = { pulled: 0 }
  async function* gen(): AsyncGenerator<Buffer> {
    for (let i = 0; i < buf.length; i += chunk) {
      stats.pulled++
      yield buf.subarray(i, i + chunk)
    }
    while (endless) {
      stats.pulled++
      yield Buffer.alloc(chunk)
    }
  }
  return { gen: gen(), stats }
}

async function parse(buf: Buffer, options: RdbReaderOptions = {}, chunk = 64): Promise<RdbRecord[]> {
  const out: RdbRecord[] = []
  for await (const b of new RdbReader(source(buf, chunk).gen, { size: buf.length, ...options }).batches())
    out.push(...b)
  return out
}

async function failure(p: Promise<unknown>): Promise<RdbFormatError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(RdbFormatError)
  expect(err).toBeInstanceOf(UsageError)
  expect((err as KvtopError).exitCode).toBe(ExitCode.usage)
  return err as RdbFormatError
}

/** The largest buffer allocated while `fn` runs. */
async function largestAllocation(fn: () => Promise<unknown>): Promise<number> {
  let largest = 0
  const alloc = Buffer.allocUnsafe
  const spy = vi.spyOn(Buffer, 'allocUnsafe').mockImplementation((size: number) => {
    largest = Math.max(largest, size)
    return alloc(size)
  })
  try {
    await fn()
  } catch {
    // the caller checks the error separately
  } finally {
    spy.mockRestore()
  }
  return largest
}

afterEach(() => vi.restoreAllMocks())

describe('corrupt RDB lengths are refused before their size is read or allocated', () => {
  it('an LZF value declaring 0xFFFFFFF0 bytes: exit 2 at its offset, nothing large allocated', async () => {
    const file = oneKey(0, lzfValue(0xfffffff0))
    const before = process.memoryUsage().arrayBuffers
    for (const options of [{ countElements: true }, { entries: 'count' as const }, { validate: true }]) {
      const err = await failure(parse(file, options))
      expect(err.offset).toBe(VALUE_AT)
      expect(err.message).toMatch(
        /corrupt LZF string in a (string )?value.*4294967280 bytes declared, more than \d+ compressed bytes can hold at byte offset 17/,
      )
    }
    // The decoder itself refuses before allocating, whatever calls it.
    expect(
      await largestAllocation(() => Promise.resolve(lzfDecompress(compressed, 0xfffffff0))),
    ).toBeLessThan(1 << 20)
    expect(() => lzfDecompress(compressed, 0xfffffff0)).toThrow(LzfError)
    // A plausible but wrong length (within what the bytes could expand to) is checked before the
    // output is allocated too.
    expect(await largestAllocation(() => Promise.resolve(lzfDecompress(compressed, 8000)))).toBeLessThan(8000)
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 << 20)
  })

  it('an LZF length that is plausible but wrong is caught by walking the value (inspect, restore pre-pass)', async () => {
    const file = oneKey(0, lzfValue(101))
    for (const options of [{ countElements: true }, { entries: 'count' as const }]) {
      const err = await failure(parse(file, options))
      expect(err.message).toMatch(/corrupt LZF string .*at byte offset 17: expected valid LZF data/)
    }
    // Reading without validation only follows the framing (the bulk paths): the value is skipped.
    const records = await parse(file)
    expect(records.some((r) => r.kind === 'entry')).toBe(true)
  })

  it('a string length past the end of the file fails at once, naming where it was declared', async () => {
    const file = oneKey(0, Buffer.concat([len(0x7ffffff0), Buffer.from('abc')]))
    // An endless source: the reader must not wait for (or hold) the declared 2 GB.
    const src = source(file, 64, true)
    const reader = new RdbReader(src.gen, { size: file.length })
    const err = await failure(
      (async () => {
        for await (const b of reader.batches()) void b
      })(),
    )
    expect(src.stats.pulled).toBeLessThan(5)
    expect(err.message).toMatch(
      /truncated: it ends inside a string value .* at byte offset \d+: expected \d+ more byte\(s\), of 2147483632 declared at byte offset 22/,
    )
    expect(err.offset).toBe(file.length)
  })

  it('an LZF compressed length past the end of the file fails at once too', async () => {
    const file = oneKey(0, Buffer.concat([Buffer.from([0xc3]), len(0x7ffffff0), len(100), compressed]))
    const src = source(file, 64, true)
    const err = await failure(
      (async () => {
        for await (const b of new RdbReader(src.gen, { size: file.length, countElements: true }).batches())
          void b
      })(),
    )
    expect(src.stats.pulled).toBeLessThan(5)
    expect(err.message).toMatch(/of 2147483632 declared at byte offset 25/)
  })

  it('without a known size, a length beyond any record kvtop holds fails at once too', async () => {
    const file = oneKey(0, Buffer.concat([len64(1n << 40n), Buffer.from('abc')]))
    const src = source(file, 64, true)
    const err = await failure(
      (async () => {
        for await (const b of new RdbReader(src.gen).batches()) void b
      })(),
    )
    expect(src.stats.pulled).toBeLessThan(5)
    expect(err.message).toMatch(
      /declares 1099511627776 bytes, more than any record kvtop reads .* at byte offset 26/,
    )
  })

  it('a file stream finds its own size (fromFile, createReadStream from the start)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kvtop-rdb-corrupt-'))
    try {
      const path = join(dir, 'big-len.rdb')
      writeFileSync(path, oneKey(0, Buffer.concat([len(0x7ffffff0), Buffer.from('abc')])))
      const err = await failure(
        (async () => {
          for await (const b of RdbReader.fromFile(path).batches()) void b
        })(),
      )
      expect(err.message).toMatch(/of 2147483632 declared at byte offset 22/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it.each([
    [
      'list',
      1,
      Buffer.concat([len(1_000_000), str('a')]),
      /declares 1000000 elements \(of at least 1 byte each\)/,
    ],
    ['set', 2, Buffer.concat([len(0x7fffffff), str('a')]), /declares 2147483647 elements/],
    [
      'hash',
      4,
      Buffer.concat([len(500_000), str('f'), str('v')]),
      /declares 500000 elements \(of at least 2 bytes/,
    ],
    [
      'zset',
      5,
      Buffer.concat([len(100_000), str('m'), Buffer.alloc(8)]),
      /declares 100000 elements \(of at least 9 bytes/,
    ],
    ['quicklist', 14, Buffer.concat([len(100_000), str(ziplist(['a']))]), /declares 100000 elements/],
    [
      'quicklist v2',
      18,
      Buffer.concat([len(1 << 20), len(2), str(listpack(['a']))]),
      /declares 1048576 elements/,
    ],
  ])('a %s count beyond the file is refused at the count (type %i)', async (_name, type, value, message) => {
    const file = oneKey(type, value)
    const err = await failure(parse(file, { countElements: true }))
    expect(err.message).toMatch(message)
    expect(err.offset).toBe(VALUE_AT)
    // The same count in a DUMP-style buffer (decodeValue) is refused the same way.
    expect(() => decodeValue(type, value)).toThrow(UsageError)
  })

  it.each([
    [
      'listpack total size',
      16,
      str(Buffer.concat([Buffer.from([0xff, 0xff, 0xff, 0x0f]), listpack(['f', 'v']).subarray(4)])),
      /listpack: header says 268435455 bytes/,
    ],
    [
      'listpack entry length',
      20,
      str(Buffer.from([13, 0, 0, 0, 1, 0, 0xf0, 0xff, 0xff, 0xff, 0x7f, 0, 0xff])),
      /listpack: entry runs past the end/,
    ],
    [
      'listpack header count',
      20,
      str(
        Buffer.concat([
          listpack(['a', 'b']).subarray(0, 4),
          Buffer.from([9, 0]),
          listpack(['a', 'b']).subarray(6),
        ]),
      ),
      /listpack: header says 9 entries, the blob holds 2/,
    ],
    [
      'listpack backlen',
      20,
      str(Buffer.from([10, 0, 0, 0, 1, 0, 0x81, 0x61, 5, 0xff])),
      /backlen says 5 bytes/,
    ],
    [
      'hash listpack of an odd count',
      16,
      str(listpack(['f', 'v', 'g'])),
      /listpack of 3 entries .* not a whole number of pairs/,
    ],
    [
      'ziplist total size',
      10,
      str(Buffer.concat([Buffer.from([0xff, 0xff, 0, 0]), ziplist(['a']).subarray(4)])),
      /ziplist: header says 65535 bytes/,
    ],
    [
      'ziplist entry length',
      10,
      str(
        Buffer.concat([
          ziplist(['a']).subarray(0, 10),
          Buffer.from([0, 0x80, 0x7f, 0xff, 0xff, 0xff]),
          Buffer.from([0xff]),
        ]).fill(17, 0, 1),
      ),
      /ziplist/,
    ],
    [
      'ziplist prevlen',
      10,
      str(
        Buffer.concat([
          ziplist(['a', 'b']).subarray(0, 13),
          Buffer.from([7]),
          ziplist(['a', 'b']).subarray(14),
        ]),
      ),
      /prevlen says 7 bytes/,
    ],
    [
      'intset length',
      11,
      str(
        Buffer.concat([
          intset([1, 2, 3]).subarray(0, 4),
          Buffer.from([0xff, 0xff, 0xff, 0x7f]),
          intset([1, 2, 3]).subarray(8),
        ]),
      ),
      /intset: 2147483647 integers of 2 bytes do not fill 6 bytes/,
    ],
    ['intset width', 11, str(Buffer.from([3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0])), /invalid integer width 3/],
    [
      'zipmap value length',
      9,
      str(
        Buffer.concat([
          zipmap([['f', 'v']]).subarray(0, 3),
          Buffer.from([254, 0xff, 0xff, 0xff, 0x7f]),
          zipmap([['f', 'v']]).subarray(4),
        ]),
      ),
      /zipmap: entry runs past the end/,
    ],
  ])('a corrupt %s is refused naming the value offset', async (_name, type, value, message) => {
    const file = oneKey(type, value)
    for (const options of [{ countElements: true }, { entries: 'count' as const }]) {
      const err = await failure(parse(file, options))
      expect(err.message).toMatch(message)
      expect(err.message).toMatch(/at byte offset 17: expected (a valid|a multiple)/)
    }
  })

  it('module values and module AUX: a string length, an opcode, the when field', async () => {
    const id = len64((0x123456789abcn << 10n) | 1n)
    const huge = oneKey(7, Buffer.concat([id, len(5), len(0x7ffffff0), Buffer.from('x'), len(0)]))
    expect((await failure(parse(huge, { countElements: true }))).message).toMatch(/of 2147483632 declared/)
    const badOp = oneKey(7, Buffer.concat([id, len(9), len(0)]))
    expect((await failure(parse(badOp))).message).toMatch(/invalid module opcode 9 .* at byte offset 26/)
    const aux = rdbFile(10, [], { tail: [Buffer.concat([Buffer.from([0xf7]), id, len(3), len(2), len(0)])] })
    expect((await failure(parse(aux))).message).toMatch(/module AUX 'when' opcode 3/)
  })

  it('AUX fields: a huge key length and an LZF value declaring 4 GB', async () => {
    const header = Buffer.from('REDIS0009')
    const lenKey = Buffer.concat([header, Buffer.from([0xfa]), len(0x7ffffff0), Buffer.from('ab')])
    expect((await failure(parse(lenKey))).message).toMatch(
      /an AUX field .*of 2147483632 declared at byte offset 15/,
    )
    const lzfAux = Buffer.concat([
      header,
      Buffer.from([0xfa]),
      str('k'),
      lzfValue(0xfffffff0),
      Buffer.from([0xff]),
    ])
    const err = await failure(parse(lzfAux))
    expect(err.message).toMatch(
      /corrupt LZF string in an AUX field: 4294967280 bytes declared.* at byte offset 12/,
    )
  })

  it('stream: a consumer PEL count beyond the file', async () => {
    const value = Buffer.concat([
      len(0), // no listpack nodes
      len(0),
      len(0),
      len(0), // length, last id
      len(1), // one group
      str('g'),
      len(0),
      len(0),
      len(0), // no group PEL
      len(1), // one consumer
      str('c'),
      Buffer.alloc(8),
      len(0x3fffffff), // consumer PEL: 16 GB of ids
    ])
    const err = await failure(parse(oneKey(15, value), { countElements: true }))
    expect(err.message).toMatch(/declares 1073741823 elements \(of at least 16 bytes each\)/)
  })
})
