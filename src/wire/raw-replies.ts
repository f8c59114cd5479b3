import type { BufferPool } from './buffer-pool.js'
import { copyBytes } from './bytes.js'
import { INCOMPLETE, RespError, RespReplyParser, type Reply } from './reply-parser.js'

/**
 * The replies to a batch kept as their RESP bytes, back to back in one buffer (reply i is
 * bytes[offsets[i]..offsets[i + 1])): a batch of thousands of replies costs a few allocations
 * instead of an object per reply, and a caller compares values where they lie.
 */
/** + simple string, - error, : integer, , double, # boolean, ( big number, _ null: one line each. */
const SCALAR_TYPES = new Set([0x2b, 0x2d, 0x3a, 0x2c, 0x23, 0x28, 0x5f])
const CR = 13
/** The bytes of released replies: none. */
const RELEASED = Buffer.alloc(0)

/** Where stepping over a reply stopped: `at`, and the items still due in each open aggregate. */
interface StepState {
  at: number
  stack: number[]
}

/**
 * Step over RESP items from state.at in buf[..len) without making anything: true once a whole reply
 * ends (state.at is then its end), false when the bytes run out first (state.at is then where the
 * first incomplete item starts, state.stack what its aggregates still owe: stepping resumes there
 * once more bytes have come, so a reply that arrives in many pieces is stepped over once). Any
 * reply type, aggregates included; binary-safe (a bulk string's length is read, never its bytes
 * searched).
 */
function stepReply(buf: Uint8Array, len: number, state: StepState): boolean {
  const stack = state.stack
  let pos = state.at
  while (pos < len) {
    const type = buf[pos]
    let i = pos + 1
    const negative = i < len && buf[i] === 0x2d
    if (negative) i++
    let n = 0
    for (; i < len && buf[i] !== CR; i++) n = n * 10 + (buf[i] - 0x30)
    if (i + 1 >= len) break
    const lineEnd = i + 2
    if (negative) n = -n
    let itemEnd = lineEnd
    if (type === 0x24 || type === 0x3d) {
      // $ bulk string, = verbatim string
      if (n >= 0) itemEnd = lineEnd + n + 2
      if (itemEnd > len) break
    } else if (type === 0x2a || type === 0x7e || type === 0x3e || type === 0x25) {
      // * array, ~ set, > push, % map (twice as many items)
      const items = type === 0x25 ? n * 2 : n
      if (items > 0) {
        stack.push(items)
        pos = lineEnd
        continue
      }
    } else if (!SCALAR_TYPES.has(type)) {
      state.at = pos
      throw new RespError(
        `protocol error: unexpected reply type byte 0x${type.toString(16)} at offset ${pos}`,
      )
    }
    pos = itemEnd
    // An item ended: so do the aggregates it was the last item of.
    while (stack.length && --stack[stack.length - 1] === 0) stack.pop()
    if (!stack.length) {
      state.at = pos
      return true
    }
  }
  state.at = pos
  return false
}

/**
 * The replies to a batch kept as their RESP bytes, back to back in one buffer (reply i is
 * bytes[offsets[i]..offsets[i + 1])): a batch of thousands of replies costs a few allocations
 * instead of an object per reply, and a caller compares values where they lie. The socket's bytes
 * are copied here once (`feed`) and stepped over in place: never joined to what came before.
 */
export class RawReplies {
  bytes: Buffer
  /** count + 1 offsets: where each reply starts, then where the last one ends. */
  readonly offsets: Int32Array
  private used = 0
  private added = 0
  /** Where the reply being read was stepped over to. */
  private readonly state: StepState = { at: 0, stack: [] }

  /**
   * @param pool where the buffer comes from, and goes back to on release() (none: a new one, left
   *   to the GC).
   */
  constructor(
    readonly count: number,
    sizeHint = 64 * 1024,
    private readonly pool?: BufferPool,
  ) {
    this.bytes = this.newBuffer(Math.max(64, sizeHint))
    this.offsets = new Int32Array(count + 1)
  }

  private newBuffer(size: number): Buffer {
    return this.pool ? this.pool.take(size) : Buffer.allocUnsafe(size)
  }

  /**
   * The caller is done with these replies and every view of their bytes: the buffer goes back to
   * the pool, for the next batch (views of it taken before see other replies' bytes from then on).
   */
  release(): void {
    const bytes = this.bytes
    this.bytes = RELEASED
    this.pool?.give(bytes)
  }

  /**
   * Take the next bytes read from the server, src[start..end): kept, and stepped over. Returns -1
   * while replies are still due, or, once the last one is whole, where in src it ended: the bytes
   * after it are not this batch's (they are given back to the connection's parser).
   */
  feed(src: Uint8Array, start: number, end: number): number {
    const n = end - start
    if (this.used + n > this.bytes.length) {
      const grown = this.newBuffer(Math.max(this.bytes.length * 2, this.used + n))
      copyBytes(this.bytes, 0, this.used, grown, 0)
      this.pool?.give(this.bytes)
      this.bytes = grown
    }
    const from = this.used
    this.used += copyBytes(src, start, end, this.bytes, from)
    while (this.added < this.count && stepReply(this.bytes, this.used, this.state))
      this.offsets[++this.added] = this.state.at
    if (this.added < this.count) return -1
    const batchEnd = this.offsets[this.count]
    this.used = batchEnd
    return start + (batchEnd - from)
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
    const state: StepState = { at, stack: [] }
    stepReply(this.bytes, this.offsets[this.count], state)
    return state.at
  }
}
