import { copyBytes } from './bytes.js'

/**
 * Incremental RESP2 reply parser (with the RESP3 scalar and aggregate types tolerated), binary-safe:
 * bulk strings come out as Buffers. Feed it socket chunks with `push`, take replies with `next`.
 */
export class RespError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'RespError'
  }
  /** First word of the error: ERR, NOPERM, MOVED, ASK, BUSYKEY ... */
  get prefix(): string {
    const space = this.message.indexOf(' ')
    return space < 0 ? this.message : this.message.slice(0, space)
  }
}

export type Reply = string | number | bigint | Buffer | null | RespError | Reply[]

export const INCOMPLETE: unique symbol = Symbol('incomplete')

/** What a counting read (nextCounted) gives for a reply that only says "done": +OK, :n, a bulk string. */
export const APPLIED: unique symbol = Symbol('applied')

const CR = 13
/** appliedEnd(): the reply is not a plain success. */
const NOT_APPLIED = -2

const EMPTY = Buffer.alloc(0)

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false
  return true
}

export class RespReplyParser {
  private buf: Buffer = EMPTY
  private pos = 0
  private pending: Buffer[] = []
  private pendingBytes = 0
  /** Bytes the next reply needs at least (known from a bulk header) before parsing is worth it. */
  private need = 0
  private replyStart = 0
  /** Bulk strings of the reply being parsed come out as views (see next). */
  private views = false

  push(chunk: Buffer): void {
    this.pending.push(chunk)
    this.pendingBytes += chunk.length
  }

  /** Bytes held but not yet consumed. */
  get buffered(): number {
    return this.buf.length - this.pos + this.pendingBytes
  }

  /**
   * The next reply, or INCOMPLETE. With `views`, its bulk strings are views of the bytes received
   * instead of copies: no copy per value, but each keeps the socket read it came in (64 KB) alive
   * for as long as it lives — for replies consumed at once, like DUMP payloads on their way to a
   * RESTORE. (Received bytes are never written over: a read is a new buffer, a join a new one.)
   */
  next(views = false): Reply | typeof INCOMPLETE {
    this.views = views
    if (!this.takePending() || this.pos >= this.buf.length) return INCOMPLETE
    const start = (this.replyStart = this.pos)
    const reply = this.parse()
    if (reply === INCOMPLETE) {
      this.pos = start
      return INCOMPLETE
    }
    this.need = 0
    return reply
  }

  /**
   * The next reply when only errors and aggregates matter (the replies to a bulk write): simple
   * strings, integers, bulk strings and the RESP3 scalars are stepped over without making anything
   * (APPLIED); errors, arrays, maps and nulls are parsed as next() parses them.
   */
  nextCounted(): Reply | typeof APPLIED | typeof INCOMPLETE {
    if (!this.takePending()) return INCOMPLETE
    const start = (this.replyStart = this.pos)
    if (start >= this.buf.length) return INCOMPLETE
    const end = this.appliedEnd(start)
    if (end === NOT_APPLIED) return this.next()
    if (end < 0) return INCOMPLETE
    this.pos = end
    this.need = 0
    return APPLIED
  }

  /**
   * Step over up to `limit` replies in a row that nextCounted would give as APPLIED; returns how
   * many. It stops before any other reply, and before one not complete yet.
   */
  skipApplied(limit: number): number {
    if (limit <= 0 || !this.takePending()) return 0
    let n = 0
    while (n < limit && this.pos < this.buf.length) {
      const end = this.appliedEnd(this.pos)
      if (end < 0) break
      this.pos = end
      this.need = 0
      n++
    }
    return n
  }

  /**
   * Where the success at buf[start] ends (a simple string, integer, bulk string or RESP3 scalar);
   * NOT_APPLIED when it is another reply, or -1 when it is not complete yet (`need` then says how
   * many bytes it takes at least).
   */
  private appliedEnd(start: number): number {
    const buf = this.buf
    const len = buf.length
    const type = buf[start]
    if (type === 0x2b || type === 0x3a || type === 0x2c || type === 0x23 || type === 0x28) {
      let i = start + 1
      while (i < len && buf[i] !== CR) i++
      if (i + 1 >= len) {
        this.need = len - start + 1
        return -1
      }
      return i + 2
    }
    if (type !== 0x24) return NOT_APPLIED
    let i = start + 1
    let n = 0
    for (let c = buf[i]; i < len && c >= 0x30 && c <= 0x39; c = buf[++i]) n = n * 10 + (c - 0x30)
    if (i + 1 >= len) {
      this.need = len - start + 1
      return -1
    }
    // A null ($-1) or anything unusual: the full parser.
    if (i === start + 1 || buf[i] !== CR) return NOT_APPLIED
    const end = i + 2 + n + 2
    if (end > len) {
      this.need = end - start
      return -1
    }
    return end
  }

  /**
   * Hand over every byte held and not consumed yet, in order (views, no copy), and hold nothing
   * more: for a reader that takes the stream from here (a raw batch, see RawReplies.feed).
   */
  take(): Buffer[] {
    const out = this.pos < this.buf.length ? [this.buf.subarray(this.pos), ...this.pending] : this.pending
    this.buf = EMPTY
    this.pos = 0
    this.pending = []
    this.pendingBytes = 0
    this.need = 0
    return out
  }

  /**
   * The chunks pushed, joined to what is left, once the reply waited for can be complete. A chunk
   * that starts a reply (nothing left over) is taken as it is: no copy.
   */
  private takePending(): boolean {
    if (this.pendingBytes > 0) {
      const rest = this.buf.length - this.pos
      if (rest + this.pendingBytes < this.need) return false
      this.buf =
        rest === 0 && this.pending.length === 1
          ? this.pending[0]
          : Buffer.concat([this.buf.subarray(this.pos), ...this.pending])
      this.pos = 0
      this.pending = []
      this.pendingBytes = 0
    }
    return true
  }

  private line(): string | typeof INCOMPLETE {
    const end = this.buf.indexOf(CR, this.pos)
    if (end < 0 || end + 1 >= this.buf.length) {
      this.need = this.buf.length - this.replyStart + 1
      return INCOMPLETE
    }
    const text = this.buf.toString('latin1', this.pos, end)
    this.pos = end + 2
    return text
  }

  /**
   * Fast path for the numbers of `$`, `*` and `:` headers: digits read straight from the buffer, no
   * string made. Returns undefined (pos unchanged) for anything unusual, which the general path
   * then handles; INCOMPLETE when the line has not fully arrived.
   */
  private fastInt(): number | undefined | typeof INCOMPLETE {
    const buf = this.buf
    const len = buf.length
    let i = this.pos
    let negative = false
    if (i < len && buf[i] === 0x2d) {
      negative = true
      i++
    }
    const digitsStart = i
    let n = 0
    while (i < len) {
      const c = buf[i]
      if (c === CR) break
      if (c < 0x30 || c > 0x39) return undefined
      n = n * 10 + (c - 0x30)
      i++
    }
    if (i + 1 >= len) {
      this.need = len - this.replyStart + 1
      return INCOMPLETE
    }
    if (i === digitsStart || i - digitsStart > 15) return undefined
    this.pos = i + 2
    return negative ? -n : n
  }

  /** The `n` bytes at pos, complete: a view or a copy (see next). */
  private bulk(n: number): Buffer {
    if (this.views) return this.buf.subarray(this.pos, this.pos + n)
    const value = Buffer.allocUnsafe(n)
    // copyBytes: a short value copied without the view object Buffer#copy makes.
    copyBytes(this.buf, this.pos, this.pos + n, value, 0)
    return value
  }

  private parse(): Reply | typeof INCOMPLETE {
    if (this.pos >= this.buf.length) return INCOMPLETE
    const type = this.buf[this.pos++]
    // +OK, the commonest reply of bulk writes: no string made.
    if (
      type === 0x2b &&
      this.pos + 3 < this.buf.length &&
      this.buf[this.pos] === 0x4f &&
      this.buf[this.pos + 1] === 0x4b &&
      this.buf[this.pos + 2] === CR
    ) {
      this.pos += 4
      return 'OK'
    }
    if (type === 0x24 || type === 0x2a || type === 0x3a) {
      const n = this.fastInt()
      if (n === INCOMPLETE) return INCOMPLETE
      if (n !== undefined) {
        if (type === 0x3a) return n
        if (type === 0x24) {
          if (n < 0) return null
          if (this.pos + n + 2 > this.buf.length) {
            this.need = this.pos - this.replyStart + n + 2
            return INCOMPLETE
          }
          const value = this.bulk(n)
          this.pos += n + 2
          return value
        }
        if (n < 0) return null
        const items: Reply[] = new Array(n)
        for (let i = 0; i < n; i++) {
          const item = this.parse()
          if (item === INCOMPLETE) return INCOMPLETE
          items[i] = item
        }
        return items
      }
    }
    const line = this.line()
    if (line === INCOMPLETE) return INCOMPLETE
    switch (type) {
      case 0x2b: // + simple string
        return line === 'OK' || isAscii(line) ? line : Buffer.from(line, 'latin1').toString('utf8')
      case 0x2d: // - error
        return new RespError(Buffer.from(line, 'latin1').toString('utf8'))
      case 0x3a: {
        // : integer
        const n = Number(line)
        return Number.isSafeInteger(n) ? n : BigInt(line)
      }
      case 0x24: // $ bulk string
      case 0x3d: {
        // = verbatim string (RESP3)
        const len = Number(line)
        if (len < 0) return null
        if (this.pos + len + 2 > this.buf.length) {
          this.need = this.pos - this.replyStart + len + 2
          return INCOMPLETE
        }
        const value = this.bulk(len)
        this.pos += len + 2
        return value
      }
      case 0x2a: // * array
      case 0x7e: // ~ set
      case 0x3e: {
        // > push
        const count = Number(line)
        if (count < 0) return null
        const items: Reply[] = new Array(count)
        for (let i = 0; i < count; i++) {
          const item = this.parse()
          if (item === INCOMPLETE) return INCOMPLETE
          items[i] = item
        }
        return items
      }
      case 0x25: {
        // % map: flattened to [k, v, k, v]
        const count = Number(line) * 2
        const items: Reply[] = new Array(count)
        for (let i = 0; i < count; i++) {
          const item = this.parse()
          if (item === INCOMPLETE) return INCOMPLETE
          items[i] = item
        }
        return items
      }
      case 0x5f: // _ null
        return null
      case 0x23: // # boolean
        return line === 't' ? 1 : 0
      case 0x2c: // , double
        return Number(line)
      case 0x28: // ( big number
        return BigInt(line)
      default:
        throw new RespError(
          `protocol error: unexpected reply type byte 0x${type.toString(16)} at offset ${this.pos - line.length - 3}`,
        )
    }
  }
}
