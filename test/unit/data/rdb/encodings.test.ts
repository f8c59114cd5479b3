import { describe, expect, it } from 'vitest'
import {
  EncodingError,
  intsetEntries,
  listpackCount,
  listpackEntries,
  listpackValidate,
  ziplistCount,
  ziplistEntries,
  ziplistValidate,
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

  it('validation walks check what a plain walk trusts: backlens, prevlens, the header count and tail', () => {
    // listpack ['a', 'bb']: header (6), 0x81 'a' backlen 2 at 6..8, 0x82 'bb' backlen 3 at 9..12
    const lp = listpack(['a', 'bb'])
    expect(listpackValidate(lp)).toBe(2)
    const badBacklen = Buffer.from(lp)
    badBacklen[8] = 3
    expect(listpackEntries(badBacklen).map(String)).toEqual(['a', 'bb'])
    expect(() => listpackValidate(badBacklen)).toThrow(
      'listpack: entry backlen says 3 bytes, the entry has 2 at blob offset 8',
    )
    const badCount = Buffer.from(lp)
    badCount.writeUInt16LE(3, 4)
    expect(() => listpackValidate(badCount)).toThrow(
      'listpack: header says 3 entries, the blob holds 2 at blob offset 4',
    )

    // ziplist ['s', 'tt']: header (10), prevlen 0 0x01 's' at 10..12, prevlen 3 0x02 'tt' at 13..16
    const zl = ziplist(['s', 'tt'])
    expect(ziplistValidate(zl)).toBe(2)
    const badPrevlen = Buffer.from(zl)
    badPrevlen[13] = 4
    expect(ziplistEntries(badPrevlen).map(String)).toEqual(['s', 'tt'])
    expect(() => ziplistValidate(badPrevlen)).toThrow(
      'ziplist: entry prevlen says 4 bytes, the entry before has 3 at blob offset 13',
    )
    const badTail = Buffer.from(zl)
    badTail.writeUInt32LE(10, 4)
    expect(() => ziplistValidate(badTail)).toThrow(
      'ziplist: header says the last entry is at 10, it is at 13 at blob offset 4',
    )
    const badZlCount = Buffer.from(zl)
    badZlCount.writeUInt16LE(1, 8)
    expect(() => ziplistValidate(badZlCount)).toThrow(
      'ziplist: header says 1 entries, the blob holds 2 at blob offset 8',
    )
    const unknownZlCount = Buffer.from(zl)
    unknownZlCount.writeUInt16LE(0xffff, 8)
    expect(ziplistValidate(unknownZlCount)).toBe(2)
  })
})
