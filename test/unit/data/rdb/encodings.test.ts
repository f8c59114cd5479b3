import { describe, expect, it } from 'vitest'
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
import { intset, listpack, ziplist, zipmap } from '../../../helpers/rdb-craft.js'
import { BIN } from './rdb-records.js'

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
