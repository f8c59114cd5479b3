import { copyBytes, writeDecimal } from '../../wire/bytes.js'

// The commands the scanner sends, encoded as RESP straight into one buffer per write.

/** A SCAN page: the keys, copied into one buffer, with their offsets. */
export interface Page {
  bytes: Buffer
  starts: number[]
  ends: number[]
}

/** Keys `from` to `to` (excluded) of a page. */
export interface PageRange {
  page: Page
  from: number
  to: number
}

/** `SCAN cursor COUNT count`. */
export function scanCommand(cursor: string, count: string): string {
  return `*4\r\n$4\r\nSCAN\r\n$${cursor.length}\r\n${cursor}\r\n$5\r\nCOUNT\r\n$${count.length}\r\n${count}\r\n`
}

/** `*2 $n NAME`: the start of a one-argument command whose argument (a bulk string) follows. */
export function commandHead(name: string): Buffer {
  return Buffer.from(`*2\r\n$${name.length}\r\n${name}\r\n`)
}

const DUMP_HEAD = commandHead('DUMP')

/**
 * For every key of `parts`, `expireHead` (PEXPIRETIME or PTTL) with the key, then DUMP of the key:
 * `keys` keys of `keyBytes` bytes in all.
 */
export function encodeDumpBatch(
  expireHead: Buffer,
  parts: PageRange[],
  keys: number,
  keyBytes: number,
): Buffer {
  const eh = expireHead
  const out = Buffer.allocUnsafe(keys * (eh.length + 14 + 30) + keyBytes * 2)
  let w = 0
  for (const p of parts) {
    const { bytes: kb, starts, ends } = p.page
    for (let i = p.from; i < p.to; i++) {
      const ks = starts[i]
      const ke = ends[i]
      const len = ke - ks
      // *2 $n PEXPIRETIME $len key  *2 $4 DUMP $len key
      w += copyBytes(eh, 0, eh.length, out, w)
      w += writeBulkHeader(out, w, len)
      w += copyBytes(kb, ks, ke, out, w)
      out[w++] = 0x0d
      out[w++] = 0x0a
      w += copyBytes(DUMP_HEAD, 0, DUMP_HEAD.length, out, w)
      w += writeBulkHeader(out, w, len)
      w += copyBytes(kb, ks, ke, out, w)
      out[w++] = 0x0d
      out[w++] = 0x0a
    }
  }
  return out.subarray(0, w)
}

function writeBulkHeader(out: Buffer, at: number, len: number): number {
  out[at] = 0x24
  const n = writeDecimal(out, at + 1, len)
  out[at + 1 + n] = 0x0d
  out[at + 2 + n] = 0x0a
  return n + 3
}
