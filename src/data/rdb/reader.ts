import { createReadStream } from 'node:fs'
import { FileSource, fileStreamSize } from './file-source.js'
import { KeyTally } from './key-tally.js'
import { COUNTED, RecordParser } from './record-parser.js'
import type { RdbHeader, RdbRecord } from './records.js'
import { MAX_RECORD, NEED, StreamCursor } from './stream-cursor.js'
import { RdbFormatError, skipString } from './walker.js'

// The reader's parts: the records it yields (records.ts), the grammar (record-parser.ts, with the
// opcode records in opcode-records.ts), the buffered input (stream-cursor.ts) and the file it reads
// (file-source.ts). Callers import them all from here.
export { RdbFormatError }
export { RdbEntry, type ChecksumStatus, type RdbHeader, type RdbRecord } from './records.js'
export { keyAtOffset } from './key-at-offset.js'

export interface RdbReaderOptions {
  /** Open compact encodings to count elements exactly (inspect). Default false. */
  countElements?: boolean
  /** Compute and compare the CRC-64 (default true). */
  verifyChecksum?: boolean
  /**
   * 'count': entries are walked and tallied in `tally` but not yielded (no object per key) — for a
   * fast verification pass. Default 'yield'.
   */
  entries?: 'yield' | 'count'
  /**
   * Keep the source open after the EOF record, for input that continues past the RDB (an AOF with an
   * RDB preamble): `rest()` then yields the remaining bytes. By default the source is released.
   */
  leaveSourceOpen?: boolean
  /**
   * Walk every value in full (LZF streams, compact encodings entry by entry), so that a damaged
   * value is an error here and not a surprise later. Default: on when counting elements or with
   * `entries: 'count'` (the verification pass before a restore), off otherwise.
   */
  validate?: boolean
  /**
   * Bytes the source holds, when known: a declared length that runs past them fails at once (as
   * truncated or corrupt) instead of waiting for bytes that will not come. Found by itself for
   * `fromFile` and for a file stream read from its start.
   */
  size?: number
  /**
   * Read a file into two buffers used in turn instead of a new buffer per chunk: a batch's records
   * (and the views they hold) are then valid only until the next batch is asked for. A new buffer
   * per chunk costs the kernel a fresh mapping and a page fault per 4 KiB (a 44 MiB file: ~300 ms
   * of reads on a loaded machine, against ~30 ms into reused buffers). For a stream of chunks (a
   * SYNC), each chunk is copied into them with the partial record before it, instead of into a new
   * buffer per chunk. The chunks themselves are left as they came (a caller may hold them).
   */
  reuseBuffers?: boolean
}

/**
 * A streaming RDB reader: pulls chunks from any byte source, yields records in batches, holds at
 * most one chunk plus the largest single record in memory, and verifies the CRC-64 as it goes.
 * Values are views into its buffers (valid as long as they are referenced).
 *
 * Errors are RdbFormatError with the file offset and what was expected there; `truncated` is set
 * when the input ended inside a record.
 */
export class RdbReader {
  private readonly c: StreamCursor
  private readonly parser: RecordParser
  private readonly keyTally = new KeyTally()
  /** With `entries: 'count'`: keys per db, keys per RDB type, keys with an expire time. */
  readonly tally = this.keyTally.counts
  private readonly countOnly: boolean
  private readonly leaveOpen: boolean
  private tail: Buffer = Buffer.alloc(0)
  private iterator: AsyncIterator<Buffer | string> | undefined
  /** The source has no more bytes. */
  private exhausted = false
  /** Chunks read from the iterator and not yet joined into the cursor's buffer. */
  private readonly pending: Buffer[] = []
  private pendingBytes = 0
  private readonly reuseBuffers: boolean
  /** With `reuseBuffers`: the whole buffer the cursor parses now, and the one read into next. */
  private current: Buffer | undefined
  private spare: Buffer | undefined

  constructor(
    private readonly source: AsyncIterable<Buffer>,
    options: RdbReaderOptions = {},
  ) {
    const countElements = options.countElements ?? false
    this.countOnly = options.entries === 'count'
    this.leaveOpen = options.leaveSourceOpen ?? false
    this.reuseBuffers = options.reuseBuffers ?? false
    this.c = new StreamCursor(options.verifyChecksum ?? true)
    this.c.validate = options.validate ?? (countElements || this.countOnly)
    this.c.limit = options.size ?? fileStreamSize(source) ?? Infinity
    this.parser = new RecordParser(this.c, countElements, this.countOnly ? this.keyTally : undefined)
  }

  static fromFile(path: string, options: RdbReaderOptions & { chunkSize?: number } = {}): RdbReader {
    const chunkSize = options.chunkSize ?? 1024 * 1024
    // Input after the RDB (leaveSourceOpen) is read from a stream by rest(): keep one then.
    if (options.leaveSourceOpen)
      return new RdbReader(createReadStream(path, { highWaterMark: chunkSize }), options)
    const source = new FileSource(path, chunkSize)
    return new RdbReader(source, { ...options, size: options.size ?? source.size() })
  }

  /** The file's header, once read. */
  get header(): RdbHeader | undefined {
    return this.parser.header
  }

  /** Bytes consumed so far (file offset of the next unparsed byte). */
  get offset(): number {
    return this.c.base + this.c.pos
  }

  /** After the EOF record: bytes that followed the RDB in the chunks already read (e.g. an AOF tail). */
  remainder(): Buffer {
    return this.tail
  }

  /** After the EOF record (with `leaveSourceOpen`): everything that follows the RDB in the source. */
  async *rest(): AsyncGenerator<Buffer> {
    if (!this.parser.done) throw new Error('rest() is only available after the RDB has been read to its end')
    if (this.tail.length) yield this.tail
    const iterator = this.iterator
    if (!iterator) return
    for (;;) {
      const next = await iterator.next()
      if (next.done) return
      yield typeof next.value === 'string' ? Buffer.from(next.value, 'latin1') : next.value
    }
  }

  /** All records, in batches (one batch per chunk read). */
  async *batches(): AsyncGenerator<RdbRecord[]> {
    const file = this.source instanceof FileSource ? this.source : undefined
    if (!file) this.iterator = this.source[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>
    try {
      while (!this.parser.done) {
        const batch: RdbRecord[] = []
        this.parseBuffered((record) => batch.push(record))
        if (this.countOnly) this.keyTally.flush(this.parser.db)
        if (batch.length) yield batch
        if (this.parser.done) break
        await this.refill(file)
      }
      // Bytes already read past the checksum belong to whatever follows (an AOF after its preamble).
      this.tail = this.c.buf.subarray(this.c.pos, this.c.end)
    } finally {
      if (file) await file.close()
      else if (!this.exhausted && !(this.parser.done && this.leaveOpen)) await this.iterator!.return?.()
    }
  }

  /** All records, one by one. */
  async *records(): AsyncGenerator<RdbRecord> {
    for await (const batch of this.batches()) yield* batch
  }

  /**
   * Every record handed to `visit` the moment it is parsed, and `afterChunk` awaited each time the
   * buffered bytes are used up, before more are read (a place to wait for a consumer, to stop: it
   * returns 'stop'). Unlike `batches()`, no array holds a chunk's records: a record the visitor does
   * not keep dies young. With a megabyte chunk of small keys, a batch's ~25,000 entries outlived
   * the young generation's collections and were copied by each (a fifth of a restore's send pass).
   * With `reuseBuffers`, a record's views are valid until `afterChunk` returns.
   */
  async eachRecord(
    visit: (record: RdbRecord) => void,
    afterChunk: () => Promise<'stop' | void> | 'stop' | void = () => {},
  ): Promise<void> {
    const file = this.source instanceof FileSource ? this.source : undefined
    if (!file) this.iterator = this.source[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>
    try {
      // Nothing is buffered before the first read: no chunk to report.
      let read = false
      while (!this.parser.done) {
        this.parseBuffered(visit)
        if (this.countOnly) this.keyTally.flush(this.parser.db)
        if (read && (await afterChunk()) === 'stop') break
        if (this.parser.done) break
        await this.refill(file)
        read = true
      }
      this.tail = this.c.buf.subarray(this.c.pos, this.c.end)
    } finally {
      if (file) await file.close()
      else if (!this.exhausted && !(this.parser.done && this.leaveOpen)) await this.iterator!.return?.()
    }
  }

  /** The records the buffered bytes hold in full, each to `sink`; the cursor is left at the start of the first that is not all here. */
  private parseBuffered(sink: (record: RdbRecord) => void): void {
    const c = this.c
    for (;;) {
      c.recordStart = c.pos
      c.needBytes = 0
      let record: RdbRecord | typeof COUNTED
      try {
        record = this.parser.next()
      } catch (err) {
        if (err !== NEED) throw err
        c.pos = c.recordStart
        return
      }
      if (record !== COUNTED) sink(record as RdbRecord)
      if (this.parser.done) return
    }
  }

  /**
   * Gather bytes until the record that did not fit can be parsed (or one chunk more when its size is
   * not known yet). A large record grows by doubling, so that it is walked again a few times, not
   * once per chunk.
   */
  private async refill(file: FileSource | undefined): Promise<void> {
    const c = this.c
    const have = c.end - c.recordStart
    const want = Math.max(
      c.needBytes,
      have + 1,
      Math.min(2 * have, MAX_RECORD, c.limit - (c.base + c.recordStart)),
    )
    if (file) this.exhausted = await this.refillFromFile(file, have, want)
    else await this.refillFromIterator(have, want)
  }

  /** Chunks from the source's iterator, joined once onto the bytes kept from the record that did not fit. */
  private async refillFromIterator(have: number, want: number): Promise<void> {
    const c = this.c
    const pending = this.pending
    while (!this.exhausted && have + this.pendingBytes < want) {
      const next = await this.iterator!.next()
      if (next.done) {
        this.exhausted = true
        break
      }
      const chunk = typeof next.value === 'string' ? Buffer.from(next.value, 'latin1') : next.value
      if (chunk.length === 0) continue
      pending.push(chunk)
      this.pendingBytes += chunk.length
    }
    if (this.pendingBytes === 0) throw this.truncated(c.needBytes ? c.needBytes - have : 1)
    if (have === 0 && pending.length === 1) c.rebase(pending[0])
    else if (this.reuseBuffers) c.rebase(this.joinInto(this.nextBuffer(have + this.pendingBytes), pending))
    else c.rebase(Buffer.concat([c.buf.subarray(c.recordStart, c.end), ...pending]))
    pending.length = 0
    this.pendingBytes = 0
  }

  /** The `have` bytes kept from the record that did not fit, then the chunks, copied into `next`: a view of them. */
  private joinInto(next: Buffer, chunks: Buffer[]): Buffer {
    const c = this.c
    let at = c.buf.copy(next, 0, c.recordStart, c.end)
    for (const chunk of chunks) at += chunk.copy(next, at)
    return at === next.length ? next : next.subarray(0, at)
  }

  /**
   * The file's next bytes, read into a new buffer after the `have` bytes kept from the record that
   * did not fit: at least `want` in all (a chunk more when the file has them). Returns whether the
   * file ended.
   */
  private async refillFromFile(file: FileSource, have: number, want: number): Promise<boolean> {
    const c = this.c
    const left = c.limit - (c.base + c.end)
    const next = this.nextBuffer(Math.max(want, have + Math.min(file.chunkSize, Math.max(left, 1))))
    c.buf.copy(next, 0, c.recordStart, c.end)
    let filled = have
    let ended = false
    while (filled < want) {
      const n = await file.readInto(next, filled, next.length - filled)
      if (n === 0) {
        ended = true
        break
      }
      filled += n
    }
    if (filled === have) throw this.truncated(c.needBytes ? c.needBytes - have : 1)
    c.rebase(filled === next.length ? next : next.subarray(0, filled))
    return ended
  }

  /** A buffer of at least `size` bytes to read into next: the spare one when `reuseBuffers` and it is big enough. */
  private nextBuffer(size: number): Buffer {
    if (!this.reuseBuffers) return Buffer.allocUnsafe(size)
    // A quarter more than asked: the next refill asks for a chunk plus a different partial record.
    const next = this.spare && this.spare.length >= size ? this.spare : Buffer.allocUnsafe(size + (size >> 2))
    // The buffer parsed until now is read into next time: its records were handed out and done with.
    this.spare = this.current
    this.current = next
    return next
  }

  private truncated(missing: number): RdbFormatError {
    const c = this.c
    return c.truncated(c.base + c.end, `${missing} more byte(s)`)
  }
}

/** Key-count summary of skipString, exported for tests of odd encodings. */
export { skipString }
