/** One-key RDB files and LZF strings with hostile declared lengths, for the corrupt-input tests. */
import { lzfCompress } from '../../../../src/data/lzf.js'
import { len, rdbFile } from '../../../helpers/rdb-craft.js'

/** A file with one key "k" in db 0: its value starts at byte offset 17. */
export const VALUE_AT = 17
export function oneKey(type: number, value: Buffer, version = 9): Buffer {
  return rdbFile(version, [{ db: 0, entries: [{ type, key: Buffer.from('k'), value }] }])
}

export const compressed = lzfCompress(Buffer.from('a'.repeat(100)))!
/** An LZF string of `compressed` bytes declaring `ulen` bytes once decompressed. */
export function lzfValue(ulen: number): Buffer {
  return Buffer.concat([Buffer.from([0xc3]), len(compressed.length), len(ulen), compressed])
}
