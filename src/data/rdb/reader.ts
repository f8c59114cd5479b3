import { constants as bufferConstants } from 'node:buffer'
import { ReadStream, closeSync, createReadStream, openSync, readSync, statSync } from 'node:fs'
import { open, type FileHandle } from 'node:fs/promises'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { Crc64 } from '../crc64.js'
import {
  MAX_RDB_VERSION,
  RDB_OPCODE,
  dialectFor,
  typeInfo,
  type RdbDialect,
  type TypeInfo,
} from './constants.js'
import {
  BufferCursor,
  RdbCursor,
  RdbFormatError,
  moduleTypeName,
  readLen,
  readLenBig,
  readString,
  readStringSpan,
  skipModuleBody,
  skipString,
  walkValue,
} from './walker.js'

export { RdbFormatError }

export interface RdbHeader {
  magic: 'REDIS' | 'VALKEY'
  version: number
  dialect: RdbDialect
}

/**
 * One key with its value, as stored in the file. The key and value are views into the reader's
 * buffers, made only when asked for (`key`, `value`); bulk consumers copy straight from `buf` with
 * the offsets instead.
 */
export class RdbEntry {
  readonly kind = 'entry' as const
  /** Absolute expire time, ms since the epoch; undefined when the key does not expire. */
  expireAt: number | undefined
  /** LRU idle seconds / LFU counter, when the file carries them. */
  idle: number | undefined
  freq: number | undefined
  /** Module type name, for module values. */
  module: string | undefined
  private readonly keyPlain: boolean

  constructor(
    readonly db: number,
    /** RDB type number of the value. */
    readonly rdbType: number,
    readonly type: TypeInfo,
    /** The buffer holding the entry's bytes. */
    readonly buf: Buffer,
    /** buf[keyStart..keyEnd) is the key as stored when it is a plain string. */
    readonly keyStart: number,
    readonly keyEnd: number,
    private decodedKey: Buffer | undefined,
    /** buf[valueStart..valueEnd) is the serialized value (after the type byte). */
    readonly valueStart: number,
    readonly valueEnd: number,
    /** Element count (see walkValue); -1 when not counted. */
    readonly elements: number,
    /** File offset where the entry (its first opcode) starts, and its size in the file. */
    readonly offset: number,
    readonly size: number,
  ) {
    this.keyPlain = decodedKey === undefined
  }

  get key(): Buffer {
    return (this.decodedKey ??= this.buf.subarray(this.keyStart, this.keyEnd))
  }

  /** True when the key is stored plain, i.e. buf[keyStart..keyEnd) are its bytes. */
  get keyIsPlain(): boolean {
    return this.keyPlain
  }

  get value(): Buffer {
    return this.buf.subarray(this.valueStart, this.valueEnd)
  }

  get valueLength(): number {
    return this.valueEnd - this.valueStart
  }
}

export type RdbRecord =
  | { kind: 'header'; header: RdbHeader }
  | { kind: 'aux'; key: Buffer; value: Buffer; offset: number }
  | { kind: 'selectdb'; db: number; offset: number }
  | { kind: 'resizedb'; db: number; keys: number; expires: number; offset: number }
  | { kind: 'slot-info'; slot: number; keys: number; expires: number; offset: number }
  | { kind: 'function'; code: Buffer; offset: number }
  | { kind: 'module-aux'; module: string; moduleId: bigint; when: number; body: Buffer; offset: number }
  | RdbEntry
  | RdbEof

export type ChecksumStatus = 'ok' | 'mismatch' | 'disabled' | 'absent' | 'not-verified'

interface RdbEof {
  kind: 'eof'
  offset: number
  checksum: ChecksumStatus
  /** Stored and computed CRC-64 (hex), when there is a stored one. */
  storedChecksum?: string
  computedChecksum?: string
  /** Total bytes of the RDB, including the checksum. */
  size: number
}

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
}

/**
 * The most bytes one record may need in memory: what one Buffer holds. A length beyond it is
 * corrupt (Redis values are far smaller), and is refused before any of it is read.
 */
const MAX_RECORD = Math.min(bufferConstants.MAX_LENGTH, 2 ** 32) - 1

/** The size of a regular file a stream reads from its start, if that is what the source is. */
function fileStreamSize(source: AsyncIterable<Buffer>): number | undefined {
  if (!(source instanceof ReadStream)) return undefined
  const { path, start, end } = source as ReadStream & { start?: number; end?: number }
  if (typeof path !== 'string' || (start !== undefined && start !== 0)) return undefined
  if (end !== undefined && end !== Infinity) return undefined
  try {
    const st = statSync(path)
    return st.isFile() ? st.size : undefined
  } catch {
    return undefined
  }
}

/**
 * A file read straight into the reader's buffers (RdbReader.fromFile): each refill reads into the
 * buffer the reader parses next, after the bytes it keeps, instead of joining a separately read
 * chunk onto them (one copy and one allocation less per chunk). Iterable as chunks too.
 *
 * Reads of a regular file are synchronous, as readFileChunks's: from the page cache they cost less
 * than the thread-pool round trip of an asynchronous read, which on a busy machine waits for a core
 * twice per chunk (a 44 MiB file: ~10 ms read synchronously, 15 to 100 ms asynchronously). The
 * event loop still gets a turn every few reads (the target's connection, signals, timers). Anything
 * else (a FIFO, a character device) is read asynchronously: its reads may wait on a writer.
 */
class FileSource implements AsyncIterable<Buffer> {
  private fd: number | undefined
  /** Whether the path is a regular file (read synchronously), found at the first read. */
  private regular: boolean | undefined
  private handle: FileHandle | undefined
  private position = 0
  private reads = 0

  constructor(
    readonly path: string,
    readonly chunkSize: number,
  ) {}

  /** The file's size, when it can be known now (undefined: the first read says why not). */
  size(): number | undefined {
    try {
      const st = statSync(this.path)
      return st.isFile() ? st.size : undefined
    } catch {
      return undefined
    }
  }

  /** Read the next bytes of the file into target[offset..offset+length); 0 at its end. */
  async readInto(target: Buffer, offset: number, length: number): Promise<number> {
    // Opening a FIFO waits for its writer: only a regular file is opened synchronously.
    this.regular ??= this.size() !== undefined
    let bytesRead: number
    if (this.regular) {
      if (++this.reads % TURN_EVERY === 0) await nextTurn()
      this.fd ??= openSync(this.path, 'r')
      // A chunk at a time, even into a record's big buffer: the event loop's turns stay regular.
      bytesRead = readSync(this.fd, target, offset, Math.min(length, this.chunkSize), this.position)
    } else {
      this.handle ??= await open(this.path, 'r')
      ;({ bytesRead } = await this.handle.read(target, offset, length, this.position))
    }
    this.position += bytesRead
    return bytesRead
  }

  async close(): Promise<void> {
    const { fd, handle } = this
    this.fd = this.handle = undefined
    if (handle) await handle.close()
    else if (fd !== undefined) closeSync(fd)
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer> {
    try {
      for (;;) {
        const chunk = Buffer.allocUnsafe(this.chunkSize)
        const n = await this.readInto(chunk, 0, chunk.length)
        if (n === 0) return
        yield chunk.subarray(0, n)
      }
    } finally {
      await this.close()
    }
  }
}

/** Synchronous reads between two turns of the event loop. */
const TURN_EVERY = 4

/** Returned internally for an entry tallied, not yielded. */
const COUNTED: { readonly counted: true } = { counted: true }

/** Thrown internally when the buffered bytes end inside a record. */
const NEED: { readonly need: true } = { need: true }

class StreamCursor extends RdbCursor {
  /** Bytes needed from `recordStart` before a retry can succeed. */
  needBytes = 0
  recordStart = 0
  /** File offset where the input ends, when known. */
  limit = Infinity

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
  header: RdbHeader | undefined
  private readonly c = new StreamCursor()
  private readonly crc = new Crc64()
  /** Index in c.buf up to which the CRC has been computed. */
  private crcPos = 0
  private db = 0
  private done = false
  private pendingExpire: number | undefined
  private tail: Buffer = Buffer.alloc(0)
  private readonly count: boolean
  private readonly countOnly: boolean
  /** With `entries: 'count'`: keys per db, keys per RDB type, keys with an expire time. */
  readonly tally = {
    keys: 0,
    expires: 0,
    perDb: new Map<number, number>(),
    perType: new Map<number, number>(),
  }
  /**
   * Keys tallied but not yet added to `tally`'s maps: in the current db, and per RDB type (a byte).
   * Four map operations per key were a fifth of a verification pass; the maps are brought up to
   * date with each batch and at each SELECTDB instead.
   */
  private dbPending = 0
  private readonly typePending = new Float64Array(256)
  private readonly verify: boolean
  private readonly leaveOpen: boolean
  private iterator: AsyncIterator<Buffer | string> | undefined

  constructor(
    private readonly source: AsyncIterable<Buffer>,
    options: RdbReaderOptions = {},
  ) {
    this.count = options.countElements ?? false
    this.countOnly = options.entries === 'count'
    this.verify = options.verifyChecksum ?? true
    this.leaveOpen = options.leaveSourceOpen ?? false
    this.c.validate = options.validate ?? (this.count || this.countOnly)
    this.c.limit = options.size ?? fileStreamSize(source) ?? Infinity
  }

  static fromFile(path: string, options: RdbReaderOptions & { chunkSize?: number } = {}): RdbReader {
    const chunkSize = options.chunkSize ?? 1024 * 1024
    // Input after the RDB (leaveSourceOpen) is read from a stream by rest(): keep one then.
    if (options.leaveSourceOpen)
      return new RdbReader(createReadStream(path, { highWaterMark: chunkSize }), options)
    const source = new FileSource(path, chunkSize)
    return new RdbReader(source, { ...options, size: options.size ?? source.size() })
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
    if (!this.done) throw new Error('rest() is only available after the RDB has been read to its end')
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
    const iterator = file
      ? undefined
      : (this.iterator = this.source[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>)
    let exhausted = false
    try {
      const c = this.c
      const pending: Buffer[] = []
      let pendingBytes = 0
      while (!this.done) {
        const batch: RdbRecord[] = []
        for (;;) {
          c.recordStart = c.pos
          c.needBytes = 0
          try {
            const record = this.parseRecord()
            if (record !== COUNTED) batch.push(record as RdbRecord)
            if (this.done) break
          } catch (err) {
            if (err !== NEED) throw err
            c.pos = c.recordStart
            break
          }
        }
        if (this.countOnly) this.flushTally()
        if (batch.length) yield batch
        if (this.done) break
        // Refill: gather chunks until the record that did not fit can be parsed (or one more chunk
        // when its size is not known yet), then join them once. A large record grows by doubling,
        // so that it is walked again a few times, not once per chunk.
        const have = c.end - c.recordStart
        const want = Math.max(
          c.needBytes,
          have + 1,
          Math.min(2 * have, MAX_RECORD, c.limit - (c.base + c.recordStart)),
        )
        if (file) {
          exhausted = await this.refillFromFile(file, have, want)
          continue
        }
        while (!exhausted && have + pendingBytes < want) {
          const next = await iterator!.next()
          if (next.done) {
            exhausted = true
            break
          }
          const chunk = typeof next.value === 'string' ? Buffer.from(next.value, 'latin1') : next.value
          if (chunk.length === 0) continue
          pending.push(chunk)
          pendingBytes += chunk.length
        }
        if (pendingBytes === 0) throw this.truncated(c.needBytes ? c.needBytes - have : 1)
        if (this.verify) this.crc.update(c.buf, this.crcPos, c.recordStart)
        const keep = c.buf.subarray(c.recordStart, c.end)
        c.base += c.recordStart
        c.buf = keep.length === 0 && pending.length === 1 ? pending[0] : Buffer.concat([keep, ...pending])
        c.pos = 0
        c.end = c.buf.length
        c.recordStart = 0
        this.crcPos = 0
        pending.length = 0
        pendingBytes = 0
      }
      // Bytes already read past the checksum belong to whatever follows (an AOF after its preamble).
      this.tail = c.buf.subarray(c.pos, c.end)
    } finally {
      if (file) await file.close()
      else if (!exhausted && !(this.done && this.leaveOpen)) await iterator!.return?.()
    }
  }

  /** Add the keys tallied since the last call to `tally`'s maps. */
  private flushTally(): void {
    const t = this.tally
    if (this.dbPending) {
      t.perDb.set(this.db, (t.perDb.get(this.db) ?? 0) + this.dbPending)
      this.dbPending = 0
    }
    for (const [type, n] of t.perType) {
      if (!this.typePending[type]) continue
      t.perType.set(type, n + this.typePending[type])
      this.typePending[type] = 0
    }
  }

  /**
   * The file's next bytes, read into a new buffer after the `have` bytes kept from the record that
   * did not fit: at least `want` in all (a chunk more when the file has them). Returns whether the
   * file ended.
   */
  private async refillFromFile(file: FileSource, have: number, want: number): Promise<boolean> {
    const c = this.c
    const left = c.limit - (c.base + c.end)
    const next = Buffer.allocUnsafe(Math.max(want, have + Math.min(file.chunkSize, Math.max(left, 1))))
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
    if (this.verify) this.crc.update(c.buf, this.crcPos, c.recordStart)
    c.base += c.recordStart
    c.buf = filled === next.length ? next : next.subarray(0, filled)
    c.pos = 0
    c.end = filled
    c.recordStart = 0
    this.crcPos = 0
    return ended
  }

  /** All records, one by one. */
  async *records(): AsyncGenerator<RdbRecord> {
    for await (const batch of this.batches()) yield* batch
  }

  private truncated(missing: number): RdbFormatError {
    const c = this.c
    return c.truncated(c.base + c.end, `${missing} more byte(s)`)
  }

  private parseHeader(): RdbRecord {
    const c = this.c
    c.what = 'the RDB header'
    if (c.pos + 9 > c.end) c.short(9)
    const text = c.buf.toString('latin1', c.pos, c.pos + 9)
    let header: RdbHeader
    if (/^REDIS\d{4}$/.test(text)) {
      const version = Number(text.slice(5))
      header = { magic: 'REDIS', version, dialect: dialectFor(version) }
      if (version >= 80)
        c.fail(`RDB version ${version} with the REDIS magic`, 'a VALKEY magic for versions 80 and up')
    } else if (/^VALKEY\d{3}$/.test(text)) {
      const version = Number(text.slice(6))
      header = { magic: 'VALKEY', version, dialect: 'valkey' }
      if (version < 80) c.fail(`RDB version ${version} with the VALKEY magic`, 'a version of 80 or more')
    } else {
      return c.fail(
        `not an RDB file (starts with ${JSON.stringify(text.replace(/[^\x20-\x7e]/g, '.'))})`,
        "'REDIS' or 'VALKEY' and the RDB version",
      )
    }
    if (header.version < 1 || header.version > MAX_RDB_VERSION) {
      c.fail(`unsupported RDB version ${header.version}`, `a version from 1 to ${MAX_RDB_VERSION}`)
    }
    c.pos += 9
    this.header = header
    return { kind: 'header', header }
  }

  private parseRecord(): RdbRecord | typeof COUNTED {
    if (!this.header) return this.parseHeader()
    const c = this.c
    const start = c.pos
    let expireAt: number | undefined
    let idle: number | undefined
    let freq: number | undefined
    for (;;) {
      c.what = 'an opcode or value type'
      if (c.pos >= c.end) c.short(1)
      const type = c.buf[c.pos++]
      switch (type) {
        case RDB_OPCODE.EXPIRETIME_MS:
          c.what = 'an expire time'
          if (c.pos + 8 > c.end) c.short(8)
          expireAt = c.buf.readUInt32LE(c.pos) + c.buf.readInt32LE(c.pos + 4) * 4294967296
          c.pos += 8
          continue
        case RDB_OPCODE.EXPIRETIME:
          c.what = 'an expire time'
          if (c.pos + 4 > c.end) c.short(4)
          expireAt = c.buf.readInt32LE(c.pos) * 1000
          c.pos += 4
          continue
        case RDB_OPCODE.FREQ:
          c.what = 'an LFU frequency'
          if (c.pos + 1 > c.end) c.short(1)
          freq = c.buf[c.pos++]
          continue
        case RDB_OPCODE.IDLE:
          c.what = 'an LRU idle time'
          idle = readLen(c)
          continue
      }
      if (type >= 0xf2) {
        if (expireAt !== undefined || idle !== undefined || freq !== undefined) {
          c.fail(`opcode 0x${type.toString(16)} after a key's expire/LRU/LFU`, 'a value type', c.pos - 1)
        }
        return this.parseOpcode(type, start)
      }
      const info = typeInfo(type, this.header.dialect)
      if (!info) {
        walkValue(c, type, this.header.dialect, false) // throws with the reason
      }
      c.what = 'a key'
      if (this.countOnly) {
        skipString(c)
        c.what = 'a value'
        walkValue(c, type, this.header.dialect, false)
        const t = this.tally
        t.keys++
        if (expireAt !== undefined) t.expires++
        this.dbPending++
        // A type's first key puts it in the map, so that the map keeps the order types appear in.
        if (this.typePending[type]++ === 0 && !t.perType.has(type)) t.perType.set(type, 0)
        return COUNTED
      }
      const decodedKey = readStringSpan(c)
      const keyStart = decodedKey ? 0 : c.spanStart
      const keyEnd = decodedKey ? 0 : c.spanEnd
      c.what = info!.kind === 'string' ? 'a string value' : `the value of a ${info!.kind} (type ${type})`
      const valueStart = c.pos
      const elements = walkValue(c, type, this.header.dialect, this.count)
      const entry = new RdbEntry(
        this.db,
        type,
        info!,
        c.buf,
        keyStart,
        keyEnd,
        decodedKey,
        valueStart,
        c.pos,
        elements,
        c.base + start,
        c.pos - start,
      )
      if (expireAt !== undefined) entry.expireAt = expireAt
      if (idle !== undefined) entry.idle = idle
      if (freq !== undefined) entry.freq = freq
      if (c.module !== undefined) entry.module = c.module
      return entry
    }
  }

  private parseOpcode(type: number, start: number): RdbRecord {
    const c = this.c
    const offset = c.base + start
    switch (type) {
      case RDB_OPCODE.EOF: {
        const version = this.header!.version
        if (version < 5) {
          this.done = true
          return { kind: 'eof', offset, checksum: 'absent', size: c.base + c.pos }
        }
        c.what = 'the CRC-64 checksum'
        if (c.pos + 8 > c.end) c.short(8)
        const stored = c.buf.readBigUInt64LE(c.pos)
        let checksum: ChecksumStatus
        let computed: bigint | undefined
        if (stored === 0n) checksum = 'disabled'
        else if (!this.verify) checksum = 'not-verified'
        else {
          this.crc.update(c.buf, this.crcPos, c.pos)
          this.crcPos = c.pos
          computed = this.crc.bigint
          checksum = computed === stored ? 'ok' : 'mismatch'
        }
        c.pos += 8
        this.done = true
        return {
          kind: 'eof',
          offset,
          checksum,
          ...(stored !== 0n ? { storedChecksum: stored.toString(16).padStart(16, '0') } : {}),
          ...(computed !== undefined ? { computedChecksum: computed.toString(16).padStart(16, '0') } : {}),
          size: c.base + c.pos,
        }
      }
      case RDB_OPCODE.SELECTDB:
        c.what = 'a SELECTDB number'
        if (this.countOnly) this.flushTally()
        this.db = readLen(c)
        return { kind: 'selectdb', db: this.db, offset }
      case RDB_OPCODE.RESIZEDB: {
        c.what = 'RESIZEDB sizes'
        const keys = readLen(c)
        const expires = readLen(c)
        return { kind: 'resizedb', db: this.db, keys, expires, offset }
      }
      case RDB_OPCODE.AUX: {
        c.what = 'an AUX field'
        const key = readString(c)
        const value = readString(c)
        return { kind: 'aux', key, value, offset }
      }
      case RDB_OPCODE.SLOT_INFO: {
        c.what = 'a SLOT_INFO record'
        const slot = readLen(c)
        const keys = readLen(c)
        const expires = readLen(c)
        return { kind: 'slot-info', slot, keys, expires, offset }
      }
      case RDB_OPCODE.FUNCTION2: {
        c.what = 'a function library'
        const code = readString(c)
        return { kind: 'function', code, offset }
      }
      case RDB_OPCODE.MODULE_AUX: {
        c.what = 'module AUX data'
        const id = readLenBig(c)
        const whenOpAt = c.pos
        const whenOp = readLen(c)
        if (whenOp !== 2)
          c.fail(`module AUX 'when' opcode ${whenOp}`, 'opcode 2 (unsigned integer)', whenOpAt)
        const when = readLen(c)
        const bodyStart = c.pos
        skipModuleBody(c)
        return {
          kind: 'module-aux',
          module: moduleTypeName(id).name,
          moduleId: id,
          when,
          body: c.buf.subarray(bodyStart, c.pos),
          offset,
        }
      }
      case RDB_OPCODE.FUNCTION_PRE_GA:
        return c.fail(
          'function data in the Redis 7.0 release-candidate format (opcode 246)',
          'a function library of the released format (opcode 245)',
          start,
        )
      default:
        return c.fail(
          `unsupported opcode ${type}${type === RDB_OPCODE.SLOT_IMPORT ? ' (Valkey slot import state)' : ''}`,
          'a value type or a known opcode',
          start,
        )
    }
  }
}

/** Key-count summary of skipString, exported for tests of odd encodings. */
export { skipString }

/** The key of the entry that starts at `offset` in an RDB file (for naming keys in reports). */
export async function keyAtOffset(path: string, offset: number): Promise<Buffer> {
  const handle = await open(path, 'r')
  try {
    let size = 4096
    for (;;) {
      const buf = Buffer.alloc(size)
      const { bytesRead } = await handle.read(buf, 0, size, offset)
      const c = new BufferCursor(buf, 0, bytesRead)
      try {
        for (;;) {
          const op = c.buf[c.pos++]
          if (op === RDB_OPCODE.EXPIRETIME_MS) c.pos += 8
          else if (op === RDB_OPCODE.EXPIRETIME) c.pos += 4
          else if (op === RDB_OPCODE.FREQ) c.pos += 1
          else if (op === RDB_OPCODE.IDLE) readLen(c)
          else break
        }
        return Buffer.from(readString(c))
      } catch (err) {
        if (err instanceof RdbFormatError && err.truncated && bytesRead === size) {
          size *= 16
          continue
        }
        throw err
      }
    }
  } finally {
    await handle.close()
  }
}
