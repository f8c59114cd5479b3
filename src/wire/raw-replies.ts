import { copyBytes } from './bytes.js'
import { INCOMPLETE, RespReplyParser, type Reply } from './reply-parser.js'

/**
 * The replies to a batch kept as their RESP bytes, back to back in one buffer (reply i is
 * bytes[offsets[i]..offsets[i + 1])): a batch of thousands of replies costs a few allocations
 * instead of an object per reply, and a caller compares values where they lie.
 */
export class RawReplies {
  bytes: Buffer
  /** count + 1 offsets: where each reply starts, then where the last one ends. */
  readonly offsets: Int32Array
  private used = 0
  private added = 0

  constructor(
    readonly count: number,
    sizeHint = 64 * 1024,
  ) {
    this.bytes = Buffer.allocUnsafe(Math.max(64, sizeHint))
    this.offsets = new Int32Array(count + 1)
  }

  /** Keep bytes of the reply being read, held in src[start..end) (endReply() once it is whole). */
  append(src: Uint8Array, start: number, end: number): void {
    const n = end - start
    if (this.used + n > this.bytes.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.bytes.length * 2, this.used + n))
      this.bytes.copy(grown, 0, 0, this.used)
      this.bytes = grown
    }
    this.used += copyBytes(src, start, end, this.bytes, this.used)
  }

  /** The bytes appended since the last reply make a whole reply. */
  endReply(): void {
    this.offsets[++this.added] = this.used
  }

  /** Reply i made as RespReplyParser.next() makes it (for what is not read in place). */
  reply(i: number): Reply {
    const parser = new RespReplyParser()
    parser.push(this.bytes.subarray(this.offsets[i], this.offsets[i + 1]))
    const reply = parser.next()
    if (reply === INCOMPLETE) throw new Error(`raw reply ${i} is incomplete`)
    return reply
  }

  /** Reply i as a number when it is an integer reply (`:n`); undefined for anything else. */
  integer(i: number): number | undefined {
    const b = this.bytes
    let at = this.offsets[i]
    const end = this.offsets[i + 1] - 2
    if (b[at++] !== 0x3a) return undefined
    const negative = b[at] === 0x2d
    if (negative) at++
    if (at >= end || end - at > 15) return undefined
    let n = 0
    for (; at < end; at++) {
      const c = b[at]
      if (c < 0x30 || c > 0x39) return undefined
      n = n * 10 + (c - 0x30)
    }
    return negative ? -n : n
  }

  /**
   * Where reply i lies in `bytes` when it is a bulk string (`$n`): its value is
   * bytes[result..offsets[i + 1] - 2). -1 for anything else (a nil, an error reply, another type):
   * reply(i) says what it is.
   */
  bulkStart(i: number): number {
    const at = this.offsets[i]
    if (this.bytes[at] !== 0x24) return -1
    const header = this.readLength(at + 1)
    // The length must match what the reply took (it always does for a reply read whole).
    return header.value < 0 || header.next + header.value + 2 !== this.offsets[i + 1] ? -1 : header.next
  }

  /**
   * Where the items of reply i, an array of `count` bulk strings, lie in `bytes`: item k is
   * bytes[start[k]..end[k]), start[k] = -1 for a nil or any item that is not a bulk string. False,
   * and every start -1, when reply i is not an array of `count` items: an error reply, a nil.
   */
  bulkItems(i: number, count: number, start: Int32Array, end: Int32Array): boolean {
    if (this.readBulkItems(i, count, start, end)) return true
    start.fill(-1)
    return false
  }

  private readBulkItems(i: number, count: number, start: Int32Array, end: Int32Array): boolean {
    const b = this.bytes
    let at = this.offsets[i]
    const last = this.offsets[i + 1]
    if (b[at] !== 0x2a) return false
    const header = this.readLength(at + 1)
    if (header.value !== count) return false
    at = header.next
    for (let k = 0; k < count; k++) {
      if (at >= last) return false
      if (b[at] !== 0x24) {
        // Not a bulk string (a RESP3 type, a nested array): not a value, whatever it holds.
        start[k] = -1
        at = this.skipFrom(at)
        continue
      }
      const item = this.readLength(at + 1)
      if (item.value < 0) {
        start[k] = -1
        at = item.next
        continue
      }
      start[k] = item.next
      end[k] = item.next + item.value
      at = item.next + item.value + 2
    }
    return true
  }

  /**
   * Reply i shaped as SCAN's, [cursor, [item ...]]: the cursor, how many items, and where they lie
   * (bulk strings back to back: as the arguments of a command they are already encoded).
   * Undefined for any other shape (an error reply).
   */
  page(i: number): { cursor: string; count: number; itemsStart: number; itemsEnd: number } | undefined {
    const b = this.bytes
    const at = this.offsets[i]
    if (b[at] !== 0x2a || this.readLength(at + 1).value !== 2) return undefined
    let next = this.length.next
    if (b[next] !== 0x24) return undefined
    const cursorLength = this.readLength(next + 1)
    const cursor = b.toString('latin1', cursorLength.next, cursorLength.next + cursorLength.value)
    next = cursorLength.next + cursorLength.value + 2
    if (b[next] !== 0x2a) return undefined
    const count = this.readLength(next + 1).value
    return { cursor, count, itemsStart: this.length.next, itemsEnd: this.offsets[i + 1] }
  }

  /** The `count` bulk strings from bytes[at], as views of this buffer (no copy); a nil or another type throws. */
  bulkViews(at: number, count: number): Buffer[] {
    const out = new Array<Buffer>(count)
    for (let k = 0; k < count; k++) {
      if (this.bytes[at] !== 0x24) throw new Error(`raw replies: item ${k} at ${at} is not a bulk string`)
      const item = this.readLength(at + 1)
      if (item.value < 0) throw new Error(`raw replies: item ${k} at ${at} is a nil`)
      out[k] = this.bytes.subarray(item.next, item.next + item.value)
      at = item.next + item.value + 2
    }
    return out
  }

  private readonly length = { value: 0, next: 0 }

  /** The signed decimal at `at`, up to CR LF, and where the next line starts (one object, reused). */
  private readLength(at: number): { value: number; next: number } {
    const b = this.bytes
    const negative = b[at] === 0x2d
    if (negative) at++
    let n = 0
    for (; b[at] !== 0x0d; at++) n = n * 10 + (b[at] - 0x30)
    this.length.value = negative ? -n : n
    this.length.next = at + 2
    return this.length
  }

  /** The end of the reply starting at `at` inside this buffer (which holds whole replies only). */
  private skipFrom(at: number): number {
    const parser = new RespReplyParser()
    parser.push(this.bytes.subarray(at, this.offsets[this.count]))
    parser.skip()
    return at + parser.skippedEnd
  }
}
