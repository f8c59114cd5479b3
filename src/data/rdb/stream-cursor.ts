import { constants as bufferConstants } from 'node:buffer'
import { Crc64 } from '../crc64.js'
import { RdbCursor, RdbFormatError } from './walker.js'

/**
 * The most bytes one record may need in memory: what one Buffer holds. A length beyond it is
 * corrupt (Redis values are far smaller), and is refused before any of it is read.
 */
export const MAX_RECORD = Math.min(bufferConstants.MAX_LENGTH, 2 ** 32) - 1

/** Thrown when the buffered bytes end inside a record: the reader reads more and parses it again. */
export const NEED: { readonly need: true } = { need: true }

/**
 * The reader's position in streamed input: the buffer it parses holds the record being read from
 * `recordStart` on; running short of bytes asks for more (NEED) unless the input cannot hold them.
 * The CRC-64 of the input is kept here too, as the bytes before a record leave the buffer.
 */
export class StreamCursor extends RdbCursor {
  /** Bytes needed from `recordStart` before a retry can succeed. */
  needBytes = 0
  recordStart = 0
  /** File offset where the input ends, when known. */
  limit = Infinity
  /** The running CRC-64 of the input; undefined when it is not verified. */
  private readonly crc: Crc64 | undefined
  /** Index in buf up to which the CRC has been computed. */
  private crcPos = 0

  constructor(verifyChecksum: boolean) {
    super()
    this.crc = verifyChecksum ? new Crc64() : undefined
  }

  short(n: number): never {
    const at = this.base + this.pos
    if (at + n > this.limit) {
      // The bytes cannot come: fail now, without reading (or holding) the rest of the input.
      const declared =
        n > 16
          ? `, of ${n} declared at byte offset ${at} (the file is cut short, or that length is corrupt)`
          : ''
      throw this.truncated(this.limit, `${at + n - this.limit} more byte(s)${declared}`)
    }
    if (this.pos + n - this.recordStart > MAX_RECORD) {
      return this.fail(
        `${this.what} declares ${n} bytes, more than any record kvtop reads (${MAX_RECORD})`,
        'a length that fits in memory',
      )
    }
    this.needBytes = this.pos + n - this.recordStart
    throw NEED
  }

  left(): number {
    return this.limit - (this.base + this.pos)
  }

  /** The input ends (at `end`) inside the record being read. */
  truncated(end: number, expected: string): RdbFormatError {
    return new RdbFormatError(
      `the RDB is truncated: it ends inside ${this.what} (record at byte offset ${this.base + this.recordStart})`,
      end,
      expected,
      true,
    )
  }

  /**
   * Parse on in `next`, which starts with the bytes of the record that did not fit (buf from
   * `recordStart`): the bytes before that record are checksummed and let go.
   */
  rebase(next: Buffer): void {
    this.crc?.update(this.buf, this.crcPos, this.recordStart)
    this.base += this.recordStart
    this.buf = next
    this.pos = 0
    this.end = next.length
    this.recordStart = 0
    this.crcPos = 0
  }

  /** The CRC-64 of the input up to pos; undefined when it is not verified. */
  checksum(): bigint | undefined {
    if (!this.crc) return undefined
    this.crc.update(this.buf, this.crcPos, this.pos)
    this.crcPos = this.pos
    return this.crc.bigint
  }
}
