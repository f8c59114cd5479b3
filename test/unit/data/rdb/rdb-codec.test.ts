import { readFileSync } from 'node:fs'
import { PassThrough, Writable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { Crc64 } from '../../../../src/data/crc64.js'
import { buildDumpPayload, describeDumpPayload, dumpPayloadCrcOk } from '../../../../src/data/rdb/dump.js'
import {
  EncodingError,
  intsetEntries,
  listpackCount,
  listpackEntries,
  ziplistCount,
  ziplistEntries,
  zipmapCount,
  zipmapEntries,
} from '../../../../src/data/rdb/encodings.js'
import { RdbFormatError, RdbReader, type RdbEntry, type RdbRecord } from '../../../../src/data/rdb/reader.js'
import { decodeValue } from '../../../../src/data/rdb/value.js'
import { restoreLabel } from '../../../../src/data/rdb/versions.js'
import { RdbWriter } from '../../../../src/data/rdb/writer.js'
import { intset, len, listpack, rdbFile, str, ziplist, zipmap } from '../../../helpers/rdb-craft.js'

const dir = fileURLToPath(new URL('../../../fixtures/rdb/', import.meta.url))
const BIN = Buffer.from([0xff, 0xfe, 0x0d, 0x0a, 0x00])

async function* once(buf: Buffer, size = buf.length || 1): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size)
}

async function read(buf: Buffer, options = {}): Promise<RdbRecord[]> {
  const out: RdbRecord[] = []
  for await (const b of new RdbReader(once(buf, 97), { countElements: true, ...options }).batches())
    out.push(...b)
  return out
}

const entries = (rs: RdbRecord[]) => rs.filter((r): r is RdbEntry => r.kind === 'entry')

describe('compact encodings', () => {
  it('listpack: strings of every size class and integers of every width; count from the header or by walking', () => {
    const items = [
      'a',
      'x'.repeat(63),
      'y'.repeat(64),
      'z'.repeat(4095),
      'w'.repeat(4096),
      0,
      127,
      128,
      -1,
      -4096,
      4095,
      32767,
      -32768,
      8388607,
      -8388608,
      2147483647,
      -2147483648,
      2 ** 40,
      BIN,
    ]
    const lp = listpack(items)
    expect(listpackEntries(lp).map((b) => b.toString('latin1'))).toEqual(
      items.map((i) => (Buffer.isBuffer(i) ? i.toString('latin1') : String(i))),
    )
    expect(listpackCount(lp)).toBe(items.length)
    const unknownCount = Buffer.from(lp)
    unknownCount.writeUInt16LE(0xffff, 4)
    expect(listpackCount(unknownCount)).toBe(items.length)
    // entries whose backlen needs 2 and 3 bytes (boundaries 127 and 16383)
    const edges = listpack(['e'.repeat(125), 'f'.repeat(16377), 'g'])
    expect(listpackEntries(edges).map((b) => b.length)).toEqual([125, 16377, 1])
    const broken = Buffer.from(lp)
    broken.writeUInt32LE(lp.length + 1, 0)
    expect(() => listpackEntries(broken)).toThrow(EncodingError)
  })

  it('ziplist, intset and zipmap decode and count', () => {
    const zl = ziplist(['s', 0, 12, 13, -129, 40000, 9000000, -3000000000, 'x'.repeat(300), BIN])
    expect(ziplistEntries(zl).map(String)).toEqual([
      's',
      '0',
      '12',
      '13',
      '-129',
      '40000',
      '9000000',
      '-3000000000',
      'x'.repeat(300),
      BIN.toString(),
    ])
    expect(ziplistCount(zl)).toBe(10)
    expect(intsetEntries(intset([5, -7, 5, 100000])).map(String)).toEqual(['-7', '5', '100000'])
    expect(intsetEntries(intset([1, 2], 8)).map(String)).toEqual(['1', '2'])
    const zm = zipmap([
      ['f', 'v'],
      [BIN, 'x'.repeat(300)],
    ])
    expect(zipmapEntries(zm).map((b) => b.toString('latin1'))).toEqual([
      'f',
      'v',
      BIN.toString('latin1'),
      'x'.repeat(300),
    ])
    expect(zipmapCount(zm)).toBe(2)
    expect(() => intsetEntries(Buffer.from([2, 0, 0, 0, 5, 0, 0, 0]))).toThrow(/do not fill/)
  })
})

describe('RdbReader: bad input', () => {
  const good = readFileSync(`${dir}legacy-v9.rdb`)

  it('every truncation is an error at the end of the data, naming what was expected', async () => {
    for (let cut = 0; cut < good.length; cut++) {
      const err = await read(good.subarray(0, cut)).then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(err, `cut at ${cut}`).toBeInstanceOf(RdbFormatError)
      expect((err as RdbFormatError).truncated).toBe(true)
      expect((err as RdbFormatError).offset).toBe(cut)
      expect((err as Error).message).toMatch(
        /truncated: it ends inside .* at byte offset \d+: expected \d+ more byte/,
      )
    }
  })

  it('a wrong magic, an invalid length and an unknown type name their offsets', async () => {
    await expect(read(Buffer.from('NOTANRDB0000'))).rejects.toThrow(
      /not an RDB file .* at byte offset 0: expected 'REDIS' or 'VALKEY'/,
    )
    await expect(read(Buffer.from('VALKEY099'))).rejects.toThrow(
      /unsupported RDB version 99 at byte offset 0/,
    )
    await expect(read(Buffer.from('REDIS0080'))).rejects.toThrow(
      /expected a VALKEY magic for versions 80 and up/,
    )
    const badType = rdbFile(10, [{ db: 0, entries: [{ type: 30, key: Buffer.from('k'), value: str('v') }] }])
    await expect(read(badType)).rejects.toThrow(/unknown value type 30 at byte offset 14:/)
    // A list whose element count promises more than the file holds.
    const lying = rdbFile(10, [
      { db: 0, entries: [{ type: 1, key: Buffer.from('k'), value: Buffer.concat([len(5), str('a')]) }] },
    ])
    const err = (await read(lying).catch((e: unknown) => e)) as RdbFormatError
    expect(err).toBeInstanceOf(RdbFormatError)
  })

  it('a flipped byte is caught by the CRC-64 when the structure survives', async () => {
    const flipped = Buffer.from(good)
    const at = good.indexOf(Buffer.from('milliseconds'))
    flipped[at] ^= 0x20
    const eof = (await read(flipped)).at(-1)!
    expect(eof.kind === 'eof' && eof.checksum).toBe('mismatch')
  })
})

describe('RdbReader: formats the installed redis-server does not write', () => {
  it('RDB 11: set listpack and stream v3 (consumer active time)', async () => {
    const streamV3 = Buffer.concat([
      len(1),
      str(Buffer.alloc(16)),
      str(listpack([1, 0, 0, 1, 'f', 0, 1, 'v', 3, 0xff])),
      len(1), // length
      len(1),
      len(1), // last id
      len(1),
      len(1),
      len(0),
      len(0),
      len(1), // first id, max deleted, entries added
      len(1), // groups
      str('g'),
      len(1),
      len(1),
      len(1), // name, last id, entries read
      len(1),
      Buffer.alloc(16),
      Buffer.alloc(8),
      len(1), // PEL: id, delivery time, count
      len(1),
      str('c'),
      Buffer.alloc(8),
      Buffer.alloc(8),
      len(1),
      Buffer.alloc(16), // consumer with active time
    ])
    const file = rdbFile(11, [
      {
        db: 0,
        entries: [
          { type: 20, key: Buffer.from('set'), value: str(listpack(['a', 7, BIN])) },
          { type: 21, key: Buffer.from('stream'), value: streamV3 },
        ],
      },
    ])
    const [set, stream] = entries(await read(file))
    expect(set.type).toEqual({ kind: 'set', encoding: 'listpack' })
    expect(set.elements).toBe(3)
    expect(stream.type.encoding).toBe('listpacks-v3')
    const d = decodeValue(21, stream.value)
    expect(d.kind === 'stream' && d.groups[0].consumers[0].activeTime).toBe(0)
  })

  it('Redis CE 7.4+ (RDB 12): hashes with field expiration, types 24 and 25', async () => {
    const meta = Buffer.concat([
      Buffer.alloc(8),
      len(2),
      len(0),
      str('f1'),
      str('v1'),
      len(5),
      str('f2'),
      str('v2'),
    ])
    const lpex = Buffer.concat([Buffer.alloc(8), str(listpack(['f', 'v', 0, 'g', 'w', 1700000000000]))])
    const file = rdbFile(12, [
      {
        db: 0,
        entries: [
          { type: 24, key: Buffer.from('h1'), value: meta },
          { type: 25, key: Buffer.from('h2'), value: lpex },
        ],
      },
    ])
    const [h1, h2] = entries(await read(file))
    expect([h1.type.kind, h1.elements, h2.type.kind, h2.elements]).toEqual(['hash', 2, 'hash', 2])
    // The same numbers mean nothing in an RDB 11 file.
    await expect(
      read(rdbFile(11, [{ db: 0, entries: [{ type: 24, key: Buffer.from('h'), value: meta }] }])),
    ).rejects.toThrow(/unknown value type 24/)
  })

  it('Valkey 9 (VALKEY080): hash with field expiration, type 22', async () => {
    const minus1 = Buffer.alloc(8, 0xff)
    const value = Buffer.concat([
      len(2),
      str('a'),
      str('1'),
      minus1,
      str('b'),
      str('2'),
      Buffer.from([0, 0x10, 0, 0, 0, 0, 0, 0]),
    ])
    const file = rdbFile(80, [{ db: 0, entries: [{ type: 22, key: Buffer.from('h'), value }] }])
    expect(file.subarray(0, 9).toString()).toBe('VALKEY080')
    const records = await read(file)
    expect(records[0].kind === 'header' && records[0].header).toEqual({
      magic: 'VALKEY',
      version: 80,
      dialect: 'valkey',
    })
    const [h] = entries(records)
    expect(h.elements).toBe(2)
    const d = decodeValue(22, h.value, 'valkey')
    expect(d.kind === 'hash' && d.fields.map((f) => f.expireAt)).toEqual([undefined, 4096])
  })

  it('module values and module AUX data through the module opcodes; the pre-GA format is refused', async () => {
    const moduleId = 0x123456789abcn << 10n
    const idBytes = Buffer.alloc(9)
    idBytes[0] = 0x81
    idBytes.writeBigUInt64BE(moduleId | 3n, 1)
    const body = Buffer.concat([
      len(2),
      len(7),
      len(1),
      len(3),
      len(5),
      str('mod'),
      len(4),
      Buffer.alloc(8),
      len(3),
      Buffer.alloc(4),
      len(0),
    ])
    const aux = Buffer.concat([Buffer.from([0xf7]), idBytes, len(2), len(2), len(5), str('x'), len(0)])
    const file = rdbFile(
      10,
      [{ db: 0, entries: [{ type: 7, key: Buffer.from('m'), value: Buffer.concat([idBytes, body]) }] }],
      { tail: [aux] },
    )
    const records = await read(file)
    const [m] = entries(records)
    expect(m.type.kind).toBe('module')
    expect(m.module).toHaveLength(9)
    expect(records.some((r) => r.kind === 'module-aux' && r.when === 2)).toBe(true)
    await expect(
      read(rdbFile(10, [{ db: 0, entries: [{ type: 6, key: Buffer.from('m'), value: idBytes }] }])),
    ).rejects.toThrow(/type 6/)
    await expect(read(rdbFile(80, [], { tail: [Buffer.from([243])] }))).rejects.toThrow(
      /unsupported opcode 243 \(Valkey slot import state\)/,
    )
  })

  it('hands over the bytes after the RDB (an AOF with an RDB preamble)', async () => {
    const rdb = rdbFile(10, [{ db: 0, entries: [{ type: 0, key: Buffer.from('k'), value: str('v') }] }])
    const aof = Buffer.from('*1\r\n$4\r\nPING\r\n')
    const reader = new RdbReader(once(Buffer.concat([rdb, aof]), 5), { leaveSourceOpen: true })
    for await (const batch of reader.batches()) void batch
    const rest: Buffer[] = []
    for await (const chunk of reader.rest()) rest.push(chunk)
    expect(Buffer.concat(rest).equals(aof)).toBe(true)
  })
})

describe('RdbWriter', () => {
  const payloads = [
    {
      key: Buffer.concat([Buffer.from('bin:'), BIN]),
      payload: buildDumpPayload(0, str(BIN), 10),
      expireAt: 4102444800000,
    },
    {
      key: Buffer.from('list'),
      payload: buildDumpPayload(18, Buffer.concat([len(1), len(2), str(listpack(['a', 1]))]), 10),
    },
    { key: Buffer.from('set'), payload: buildDumpPayload(11, str(intset([1, 2, 3])), 9) },
  ]

  async function write(version: number, build: (w: RdbWriter) => void | Promise<void>): Promise<Buffer> {
    const sink = new PassThrough()
    const out: Buffer[] = []
    sink.on('data', (d: Buffer) => out.push(d))
    const w = new RdbWriter(sink, { version, aux: [['redis-ver', '7.0.15']], chunkSize: 64 })
    await build(w)
    await w.end()
    return Buffer.concat(out)
  }

  it('writes DUMP payloads as entries a reader reads back byte for byte, with a valid CRC-64', async () => {
    const file = await write(10, (w) => {
      w.selectDb(0, { keys: 3, expires: 1 })
      for (const p of payloads) w.writeDumpPayload(p.key, p.payload, p.expireAt)
      w.writeFunction(Buffer.from('#!lua name=lib\nredis.register_function("f", function() return 1 end)'))
    })
    expect(file.subarray(0, 9).toString()).toBe('REDIS0010')
    const records = await read(file)
    expect(records.at(-1)).toMatchObject({ kind: 'eof', checksum: 'ok' })
    const got = entries(records)
    expect(got.map((e) => [e.key.toString('hex'), e.expireAt])).toEqual(
      payloads.map((p) => [p.key.toString('hex'), p.expireAt]),
    )
    for (const [i, e] of got.entries()) {
      expect(
        buildDumpPayload(
          e.rdbType,
          e.value,
          payloads[i].payload.readUInt16LE(payloads[i].payload.length - 10),
        ).equals(payloads[i].payload),
      ).toBe(true)
    }
    expect(records.some((r) => r.kind === 'function')).toBe(true)
  })

  it('uses the VALKEY magic from version 80 and refuses payloads newer than the file', async () => {
    expect((await write(80, () => {})).subarray(0, 9).toString()).toBe('VALKEY080')
    await expect(
      write(9, (w) => void w.writeDumpPayload(Buffer.from('k'), payloads[0].payload)),
    ).rejects.toThrow(/RDB version 10 in a file of version 9/)
    const corrupt = Buffer.from(payloads[0].payload)
    corrupt[2] ^= 1
    await expect(write(10, (w) => void w.writeDumpPayload(Buffer.from('k'), corrupt))).rejects.toThrow(
      /CRC-64 mismatch/,
    )
  })

  it('copies entries read from another RDB unchanged (same values, expiries, LFU counters)', async () => {
    const source = readFileSync(`${dir}redis7-types.rdb`)
    const before = await read(source)
    const copy = await write(10, async (w) => {
      let db = -1
      for (const e of entries(before)) {
        if (e.db !== db) w.selectDb((db = e.db))
        await w.writeValue(e.key, e.rdbType, e.buf, e.valueStart, e.valueEnd, e.expireAt, {
          idle: e.idle,
          freq: e.freq,
        })
      }
    })
    const after = entries(await read(copy))
    const shape = (es: RdbEntry[]) =>
      es.map((e) => `${e.db}|${e.key.toString('hex')}|${e.rdbType}|${e.value.toString('hex')}|${e.expireAt}`)
    expect(shape(after)).toEqual(shape(entries(before)))
  })

  it('waits for a slow sink (backpressure)', async () => {
    let release: (() => void) | undefined
    const slow = new Writable({
      highWaterMark: 16,
      write(_c, _e, cb) {
        release = cb
      },
    })
    const w = new RdbWriter(slow, { version: 10, chunkSize: 16 })
    w.selectDb(0)
    const wait = w.writeDumpPayload(Buffer.from('k'), payloads[0].payload)
    expect(wait).toBeInstanceOf(Promise)
    release!()
    await wait
  })
})

describe('DUMP payloads and versions', () => {
  it('describes a payload and checks its CRC', () => {
    const p = buildDumpPayload(16, str(listpack(['f', 'v', 'g', 'w'])), 10)
    expect(describeDumpPayload(p)).toMatchObject({
      rdbType: 16,
      version: 10,
      elements: 2,
      crcOk: true,
      type: { kind: 'hash', encoding: 'listpack' },
    })
    const bad = Buffer.from(p)
    bad[bad.length - 1] ^= 1
    expect(dumpPayloadCrcOk(bad)).toBe(false)
    expect(new Crc64().update(p, 0, p.length - 8).matchesLE(p, p.length - 8)).toBe(true)
  })

  it('labels values for older targets only when the target knows their type', () => {
    expect(restoreLabel(0, 11, 'oss', 10)).toBe(10) // a string from 7.2 into 7.0
    expect(restoreLabel(20, 11, 'oss', 10)).toBeUndefined() // a set listpack: 7.2+
    expect(restoreLabel(16, 10, 'oss', 11)).toBe(10) // older file, newer target: as is
    expect(restoreLabel(0, 12, 'redis-ce', 80)).toBe(11) // Valkey refuses 12..79
    expect(restoreLabel(24, 12, 'redis-ce', 80)).toBeUndefined() // Redis CE hash TTLs mean something else in Valkey
    expect(restoreLabel(22, 80, 'valkey', 12)).toBeUndefined()
    expect(restoreLabel(22, 80, 'valkey', 80)).toBe(80)
  })
})
