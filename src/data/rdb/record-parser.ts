import { MAX_RDB_VERSION, RDB_OPCODE, dialectFor, typeInfo, type TypeInfo } from './constants.js'
import type { KeyTally } from './key-tally.js'
import {
  readAux,
  readEof,
  readFunction,
  readModuleAux,
  readResizeDb,
  readSelectDb,
  readSlotInfo,
  unsupportedOpcode,
} from './opcode-records.js'
import { RdbEntry, type RdbHeader, type RdbRecord } from './records.js'
import type { StreamCursor } from './stream-cursor.js'
import { readLen, readStringSpan, skipString, walkValue } from './walker.js'

/** Returned for a key tallied, not yielded. */
export const COUNTED: { readonly counted: true } = { counted: true }

/** The first opcode byte: every byte below it is a value type. */
const FIRST_OPCODE = 0xf2

/**
 * The grammar of an RDB file, one record at a time from the cursor: the header, then keys (with
 * their expire time, LRU or LFU before them) and the records opcodes introduce. Running out of
 * buffered bytes throws NEED from the cursor; the reader reads more and calls again from the
 * record's start.
 */
export class RecordParser {
  header: RdbHeader | undefined
  /** The db the keys read now belong to (the last SELECTDB). */
  db = 0
  /** The EOF record has been read. */
  done = false

  constructor(
    private readonly c: StreamCursor,
    /** Open compact encodings to count elements exactly. */
    private readonly countElements: boolean,
    /** Keys are tallied here instead of yielded; undefined: they are yielded. */
    private readonly tally: KeyTally | undefined,
  ) {}

  /**
   * The next record (COUNTED for a key tallied). A key's expire time, LRU and LFU come before its
   * value type; they are kept in locals, not fields: this loop runs once per key of the file.
   */
  next(): RdbRecord | typeof COUNTED {
    if (!this.header) return this.readHeader()
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
          expireAt = readExpireMs(c)
          continue
        case RDB_OPCODE.EXPIRETIME:
          expireAt = readExpireSeconds(c)
          continue
        case RDB_OPCODE.FREQ:
          freq = readFreq(c)
          continue
        case RDB_OPCODE.IDLE:
          c.what = 'an LRU idle time'
          idle = readLen(c)
          continue
      }
      if (type >= FIRST_OPCODE) {
        if (expireAt !== undefined || idle !== undefined || freq !== undefined) {
          c.fail(`opcode 0x${type.toString(16)} after a key's expire/LRU/LFU`, 'a value type', c.pos - 1)
        }
        return this.readOpcode(type, start)
      }
      const info = typeInfo(type, this.header.dialect)
      if (!info) walkValue(c, type, this.header.dialect, false) // throws with the reason
      c.what = 'a key'
      if (this.tally) return this.countEntry(type, expireAt !== undefined, this.tally)
      const entry = this.readEntry(type, info!, start)
      if (expireAt !== undefined) entry.expireAt = expireAt
      if (idle !== undefined) entry.idle = idle
      if (freq !== undefined) entry.freq = freq
      return entry
    }
  }

  private readHeader(): RdbRecord {
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

  /** A key walked over and counted: no object made. */
  private countEntry(type: number, expiring: boolean, tally: KeyTally): typeof COUNTED {
    const c = this.c
    skipString(c)
    c.what = 'a value'
    walkValue(c, type, this.header!.dialect, false)
    tally.add(type, expiring)
    return COUNTED
  }

  /** A key with its value, as views into the cursor's buffer. */
  private readEntry(type: number, info: TypeInfo, start: number): RdbEntry {
    const c = this.c
    const decodedKey = readStringSpan(c)
    const keyStart = decodedKey ? 0 : c.spanStart
    const keyEnd = decodedKey ? 0 : c.spanEnd
    c.what = info.kind === 'string' ? 'a string value' : `the value of a ${info.kind} (type ${type})`
    const valueStart = c.pos
    const elements = walkValue(c, type, this.header!.dialect, this.countElements)
    const entry = new RdbEntry(
      this.db,
      type,
      info,
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
    if (c.module !== undefined) entry.module = c.module
    return entry
  }

  /** A record an opcode introduces; the readers of each family are in opcode-records.ts. */
  private readOpcode(type: number, start: number): RdbRecord {
    const c = this.c
    const offset = c.base + start
    switch (type) {
      case RDB_OPCODE.EOF: {
        const eof = readEof(c, this.header!.version, offset)
        this.done = true
        return eof
      }
      case RDB_OPCODE.SELECTDB:
        this.tally?.flush(this.db)
        this.db = readSelectDb(c)
        return { kind: 'selectdb', db: this.db, offset }
      case RDB_OPCODE.RESIZEDB:
        return readResizeDb(c, this.db, offset)
      case RDB_OPCODE.AUX:
        return readAux(c, offset)
      case RDB_OPCODE.SLOT_INFO:
        return readSlotInfo(c, offset)
      case RDB_OPCODE.FUNCTION2:
        return readFunction(c, offset)
      case RDB_OPCODE.MODULE_AUX:
        return readModuleAux(c, offset)
      default:
        return unsupportedOpcode(c, type, start)
    }
  }
}

/** EXPIRETIME_MS: an absolute time in ms, 8 bytes little-endian. */
function readExpireMs(c: StreamCursor): number {
  c.what = 'an expire time'
  if (c.pos + 8 > c.end) c.short(8)
  const at = c.buf.readUInt32LE(c.pos) + c.buf.readInt32LE(c.pos + 4) * 4294967296
  c.pos += 8
  return at
}

/** EXPIRETIME (RDB < 3 writers): an absolute time in seconds, 4 bytes little-endian. */
function readExpireSeconds(c: StreamCursor): number {
  c.what = 'an expire time'
  if (c.pos + 4 > c.end) c.short(4)
  const at = c.buf.readInt32LE(c.pos) * 1000
  c.pos += 4
  return at
}

/** FREQ: the LFU counter, one byte. */
function readFreq(c: StreamCursor): number {
  c.what = 'an LFU frequency'
  if (c.pos + 1 > c.end) c.short(1)
  return c.buf[c.pos++]
}
