import { describe, expect, it } from 'vitest'
import { typeInfo } from '../../../../src/data/rdb/constants.js'
import { dumpPayloadCrcOk } from '../../../../src/data/rdb/dump.js'
import { RdbEntry } from '../../../../src/data/rdb/records.js'
import { writeRestoreCommand } from '../../../../src/data/rdb/restore-command.js'
import { frameArgsAt } from '../../../../src/data/resp/frame-scanner.js'
import { CommandBatch } from '../../../../src/wire/routed-pipeline.js'
import { str } from '../../../helpers/rdb-craft.js'

/** A string entry as the reader would hand it: key and value bytes in one buffer. */
function stringEntry(key: Buffer, value: Buffer, expireAt?: number): RdbEntry {
  const encoded = str(value)
  const buf = Buffer.concat([key, encoded])
  const e = new RdbEntry(
    0,
    0,
    typeInfo(0, 'oss')!,
    buf,
    0,
    key.length,
    undefined,
    key.length,
    buf.length,
    1,
    0,
    0,
  )
  e.expireAt = expireAt
  return e
}

describe('RESTORE written from an RDB entry', () => {
  it('a value that fills the batch grows it once: the payload is not copied again for the options after it', () => {
    const key = Buffer.from([0x6b, 0x00, 0x0d, 0x0a, 0xff, 0x24])
    const value = Buffer.alloc(100_000, 0x61)
    const batch = new CommandBatch<number>(64)
    batch.begin()
    writeRestoreCommand(batch, stringEntry(key, value, 1_900_000_000_000), 11, {
      replace: true,
      lruLfu: false,
    })
    batch.end(0)
    // A second growth doubles the buffer (to twice the value at least).
    expect(batch.buf.length).toBeLessThan(2 * value.length)
    const args = frameArgsAt(batch.bytes(), batch.starts[0])
    expect(args[0].toString()).toBe('RESTORE')
    expect(args[1]).toEqual(key)
    expect(args[2].toString()).toBe('1900000000000')
    const payload = args[3]
    expect(dumpPayloadCrcOk(payload)).toBe(true)
    expect(payload.subarray(1, payload.length - 10)).toEqual(str(value))
    expect([4, 5].map((n) => args[n].toString())).toEqual(['ABSTTL', 'REPLACE'])
    expect(batch.commandBytes(0).length).toBe(batch.used)
  })

  it('every payload of a batch carries its CRC once the batch is read to be sent, short and long, binary keys', () => {
    const batch = new CommandBatch<number>(1024)
    const values = [0, 1, 50, 1023, 1024, 5000, 250_000, 70].map((n, i) =>
      Buffer.alloc(n, i % 2 ? 0x0d : 0xff),
    )
    values.forEach((value, i) => {
      batch.begin()
      writeRestoreCommand(batch, stringEntry(Buffer.from([0x00, i, 0x0d, 0x0a]), value), 11, {
        replace: false,
        lruLfu: false,
      })
      batch.end(i)
    })
    const bytes = batch.bytes()
    values.forEach((value, i) => {
      const args = frameArgsAt(bytes, batch.starts[i])
      expect(args[1]).toEqual(Buffer.from([0x00, i, 0x0d, 0x0a]))
      expect(dumpPayloadCrcOk(args[3])).toBe(true)
      expect(args[3].subarray(1, args[3].length - 10)).toEqual(str(value))
    })
  })
})
