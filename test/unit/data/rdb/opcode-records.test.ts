import { describe, expect, it } from 'vitest'
import { crc64 } from '../../../../src/data/crc64.js'
import {
  readAux,
  readEof,
  readFunction,
  readModuleAux,
  readResizeDb,
  readSelectDb,
  readSlotInfo,
  unsupportedOpcode,
} from '../../../../src/data/rdb/opcode-records.js'
import { NEED, StreamCursor } from '../../../../src/data/rdb/stream-cursor.js'
import { RdbFormatError } from '../../../../src/data/rdb/walker.js'
import { len, str } from '../../../helpers/rdb-craft.js'

/** A cursor over `bytes` at `pos`, as the reader leaves it after an opcode byte; `base` is the file offset of bytes[0]. */
function cursor(bytes: Buffer, pos: number, { verify = true, base = 0 } = {}): StreamCursor {
  const c = new StreamCursor(verify)
  c.buf = bytes
  c.end = bytes.length
  c.pos = pos
  c.recordStart = pos - 1
  c.base = base
  return c
}

/** An RDB's bytes up to and including the EOF opcode, then the 8-byte checksum `stored`. */
function withChecksum(body: Buffer, stored: bigint): Buffer {
  const sum = Buffer.alloc(8)
  sum.writeBigUInt64LE(stored)
  return Buffer.concat([body, sum])
}

describe('opcode records: EOF and the CRC-64', () => {
  const body = Buffer.concat([
    Buffer.from('REDIS0011'),
    Buffer.from([0xfa]),
    str('k'),
    str('v\r\n\0'),
    Buffer.from([0xff]),
  ])
  const good = crc64(body)

  it('a matching checksum: ok, both sums in hex, the size of the whole RDB', () => {
    const c = cursor(withChecksum(body, good), body.length)
    const hex = good.toString(16).padStart(16, '0')
    expect(readEof(c, 11, 100)).toEqual({
      kind: 'eof',
      offset: 100,
      checksum: 'ok',
      storedChecksum: hex,
      computedChecksum: hex,
      size: body.length + 8,
    })
    expect(c.pos).toBe(body.length + 8)
  })

  it('a different stored sum is a mismatch; 0 is disabled; unverified says so; before RDB 5 there is none', () => {
    const wrong = good ^ 1n
    expect(readEof(cursor(withChecksum(body, wrong), body.length), 11, 0)).toMatchObject({
      checksum: 'mismatch',
      storedChecksum: wrong.toString(16).padStart(16, '0'),
      computedChecksum: good.toString(16).padStart(16, '0'),
    })
    expect(readEof(cursor(withChecksum(body, 0n), body.length), 11, 0)).toEqual({
      kind: 'eof',
      offset: 0,
      checksum: 'disabled',
      size: body.length + 8,
    })
    expect(readEof(cursor(withChecksum(body, good), body.length, { verify: false }), 11, 0)).toEqual({
      kind: 'eof',
      offset: 0,
      checksum: 'not-verified',
      storedChecksum: good.toString(16).padStart(16, '0'),
      size: body.length + 8,
    })
    // RDB 4 ends at the opcode: the 8 bytes after it are not read.
    const c = cursor(withChecksum(body, good), body.length, { base: 1000 })
    expect(readEof(c, 4, 7)).toEqual({ kind: 'eof', offset: 7, checksum: 'absent', size: 1000 + body.length })
    expect(c.pos).toBe(body.length)
  })

  it('a checksum not all here yet asks for more bytes, without consuming any', () => {
    const c = cursor(withChecksum(body, good).subarray(0, body.length + 5), body.length)
    expect(() => readEof(c, 11, 0)).toThrow(expect.objectContaining(NEED) as object)
    expect(c.what).toBe('the CRC-64 checksum')
    expect(c.pos).toBe(body.length)
    expect(c.needBytes).toBe(9) // the record from its opcode: 1 + 8
  })
})

describe('opcode records: the others, each from after its opcode', () => {
  it('SELECTDB, RESIZEDB, AUX, SLOT_INFO and FUNCTION2 as records, binary-safe', () => {
    expect(readSelectDb(cursor(Buffer.concat([Buffer.from([0xfe]), len(15)]), 1))).toBe(15)
    expect(readResizeDb(cursor(Buffer.concat([Buffer.from([0xfb]), len(300), len(7)]), 1), 3, 40)).toEqual({
      kind: 'resizedb',
      db: 3,
      keys: 300,
      expires: 7,
      offset: 40,
    })
    const key = Buffer.from('a\r\n\0\xff', 'latin1')
    const value = Buffer.from([0, 0xc3, 0x0d, 0x0a])
    expect(readAux(cursor(Buffer.concat([Buffer.from([0xfa]), str(key), str(value)]), 1), 9)).toEqual({
      kind: 'aux',
      key,
      value,
      offset: 9,
    })
    expect(
      readSlotInfo(cursor(Buffer.concat([Buffer.from([0xf4]), len(16383), len(2), len(1)]), 1), 5),
    ).toEqual({
      kind: 'slot-info',
      slot: 16383,
      keys: 2,
      expires: 1,
      offset: 5,
    })
    const code = Buffer.from("#!lua name=lib\nredis.register_function('f', function() return '\\0' end)")
    expect(readFunction(cursor(Buffer.concat([Buffer.from([0xf5]), str(code)]), 1), 11)).toEqual({
      kind: 'function',
      code,
      offset: 11,
    })
  })

  it("MODULE_AUX: the module's name from its id, the body kept as written; a 'when' that is not an integer is corrupt", () => {
    const idBytes = Buffer.alloc(9)
    idBytes[0] = 0x81
    idBytes.writeBigUInt64BE((0x123456789abcn << 10n) | 3n, 1)
    const body = Buffer.concat([len(5), str('x'), len(0)])
    const bytes = Buffer.concat([Buffer.from([0xf7]), idBytes, len(2), len(2), body])
    const rec = readModuleAux(cursor(bytes, 1), 20)
    expect(rec).toMatchObject({
      kind: 'module-aux',
      moduleId: (0x123456789abcn << 10n) | 3n,
      when: 2,
      offset: 20,
    })
    expect(rec.kind === 'module-aux' && rec.body).toEqual(body)
    expect(rec.kind === 'module-aux' && rec.module).toHaveLength(9)
    const badWhen = Buffer.concat([Buffer.from([0xf7]), idBytes, len(5), len(2), body])
    expect(() => readModuleAux(cursor(badWhen, 1, { base: 100 }), 100)).toThrow(
      "module AUX 'when' opcode 5 at byte offset 110: expected opcode 2 (unsigned integer)",
    )
  })

  it('an opcode kvtop does not read names itself and its offset', () => {
    const c = cursor(Buffer.from([0, 0, 246]), 3, { base: 50 })
    expect(() => unsupportedOpcode(c, 246, 2)).toThrow(
      'function data in the Redis 7.0 release-candidate format (opcode 246) at byte offset 52: expected a function library of the released format (opcode 245)',
    )
    expect(() => unsupportedOpcode(c, 243, 2)).toThrow(
      'unsupported opcode 243 (Valkey slot import state) at byte offset 52: expected a value type or a known opcode',
    )
    expect(() => unsupportedOpcode(c, 242, 2)).toThrow(RdbFormatError)
  })
})
