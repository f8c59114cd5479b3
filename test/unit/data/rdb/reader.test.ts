import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { RdbFormatError, RdbReader, type RdbRecord } from '../../../../src/data/rdb/reader.js'
import { decodeValue } from '../../../../src/data/rdb/value.js'
import { len, listpack, rdbFile, str } from '../../../helpers/rdb-craft.js'
import { BIN, dir, entries, once, read } from './rdb-records.js'

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

describe('RdbReader: counting entries', () => {
  /** Keys per db and per type, in the order they first appear, from the records themselves. */
  function expectedTally(records: RdbRecord[]) {
    const perDb = new Map<number, number>()
    const perType = new Map<number, number>()
    let expires = 0
    for (const e of entries(records)) {
      perDb.set(e.db, (perDb.get(e.db) ?? 0) + 1)
      perType.set(e.rdbType, (perType.get(e.rdbType) ?? 0) + 1)
      if (e.expireAt !== undefined) expires++
    }
    return { keys: entries(records).length, expires, perDb: [...perDb], perType: [...perType] }
  }

  const crafted = rdbFile(10, [
    {
      db: 0,
      entries: [
        { type: 0, key: Buffer.from('a'), value: str('1') },
        { type: 1, key: BIN, value: Buffer.concat([len(1), str('x')]) },
        { type: 0, key: Buffer.from('b'), value: str('2'), expireMs: 4102444800000 },
      ],
    },
    { db: 3, entries: [{ type: 1, key: Buffer.from('c'), value: Buffer.concat([len(1), str('y')]) }] },
    { db: 7, entries: [{ type: 0, key: Buffer.from('d'), value: str('3') }] },
  ])

  it.each([
    ['crafted, three dbs', crafted],
    ['redis7-types.rdb', readFileSync(`${dir}redis7-types.rdb`)],
    ['legacy-v9.rdb', readFileSync(`${dir}legacy-v9.rdb`)],
  ])('tallies keys per db and per type as yielding them does, in any chunking (%s)', async (_, file) => {
    const want = expectedTally(await read(file))
    for (const chunk of [file.length, 64, 7]) {
      const reader = new RdbReader(once(file, chunk), { entries: 'count' })
      for await (const batch of reader.batches()) expect(entries(batch)).toEqual([])
      const t = reader.tally
      expect({ keys: t.keys, expires: t.expires, perDb: [...t.perDb], perType: [...t.perType] }).toEqual(want)
    }
  })
})
