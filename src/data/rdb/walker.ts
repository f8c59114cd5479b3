import { UsageError } from '../../errors.js'
import { lzfCheck, lzfDecompress, LzfError, lzfMaxOutput } from '../lzf.js'
import { RDB_ENC, RDB_MODULE_OPCODE, RDB_TYPE, typeInfo, type RdbDialect } from './constants.js'
import {
  EncodingError,
  intsetCount,
  listpackCount,
  listpackValidate,
  ziplistCount,
  ziplistValidate,
  zipmapCount,
  zipmapValidate,
} from './encodings.js'

/**
 * Bounds-checked walking over RDB-encoded values. One implementation serves the streaming file
 * reader (where running out of bytes means "read more") and DUMP payloads (where it means
 * "truncated"): the cursor's `short` decides.
 *
 * Declared sizes are never trusted for memory: a length is checked against the bytes the input can
 * still hold (`left`) before anything waits for or allocates them, element counts against the
 * smallest size their elements can have, LZF lengths against what the compressed bytes can expand
 * to.
 *
 * A format error is a usage error (exit 2, bad input file): callers add the file name.
 */
export class RdbFormatError extends UsageError {
  constructor(
    message: string,
    /** Byte offset (in the file, or in the payload) where the problem is. */
    readonly offset: number,
    /** What the format required there. */
    readonly expected: string,
    /** True when the input simply ended too early. */
    readonly truncated = false,
  ) {
    super(`${message} at byte offset ${offset}: expected ${expected}`, {
      code: truncated ? 'truncated' : 'corrupt',
      hint: truncated
        ? 'The data is incomplete (an interrupted copy or download?): get it again.'
        : 'The data is damaged or not in an RDB format this version of kvtop reads.',
    })
    this.name = 'RdbFormatError'
  }
}

export abstract class RdbCursor {
  buf: Buffer = Buffer.alloc(0)
  pos = 0
  end = 0
  /** Absolute offset of buf[0] (file offset for the reader). */
  base = 0
  /** What is being read, for error messages. */
  what = 'data'
  /** Set by readStringSpan for plain strings: the bytes are buf[spanStart..spanEnd). */
  spanStart = 0
  spanEnd = 0
  /** Set by walkValue for module values. */
  module: string | undefined
  /**
   * Walk values in full: LZF streams checked, compact encodings (listpack, ziplist, intset,
   * zipmap) walked entry by entry, counts compared with their headers. Without it only the
   * framing is followed.
   */
  validate = false

  /** Called when fewer than `n` bytes remain at pos. Never returns. */
  abstract short(n: number): never

  /** Bytes the input can still hold from pos (the file's end, when known), or Infinity. */
  abstract left(): number

  fail(message: string, expected: string, at = this.pos): never {
    throw new RdbFormatError(message, this.base + at, expected)
  }
}

/** A cursor over one complete buffer (a DUMP payload, a test fixture): running short is corruption. */
export class BufferCursor extends RdbCursor {
  constructor(buf: Buffer, start = 0, end = buf.length) {
    super()
    this.buf = buf
    this.pos = start
    this.end = end
  }

  short(n: number): never {
    throw new RdbFormatError(
      `data ends inside ${this.what}`,
      this.base + this.end,
      `${n - (this.end - this.pos)} more byte(s)`,
      true,
    )
  }

  left(): number {
    return this.end - this.pos
  }
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER)

/**
 * An element count, checked against the input left: `n` elements of at least `minBytes` bytes each
 * must fit in it, so a corrupt count fails here rather than after a long walk (or a long wait for
 * bytes that are not there).
 */
export function readCount(c: RdbCursor, minBytes: number): number {
  const at = c.pos
  const n = readLen(c)
  const left = c.left()
  if (n * minBytes > left) {
    c.fail(
      `${c.what} declares ${n} elements (of at least ${minBytes} byte${minBytes === 1 ? '' : 's'} each), but only ${left} bytes are left`,
      'an element count that fits in the data',
      at,
    )
  }
  return n
}

/** The sizes of an LZF string (at `at`) must be plausible: no more output than the input can make. */
function lzfSizes(c: RdbCursor, clen: number, ulen: number, at: number): void {
  if (ulen > lzfMaxOutput(clen)) {
    c.fail(
      `corrupt LZF string in ${c.what}: ${ulen} bytes declared, more than ${clen} compressed bytes can hold`,
      `an uncompressed length of at most ${lzfMaxOutput(clen)}`,
      at,
    )
  }
}

function lzfFail(c: RdbCursor, err: unknown, at: number): never {
  if (err instanceof LzfError)
    c.fail(`corrupt LZF string in ${c.what} (${err.message})`, 'valid LZF data', at)
  throw err
}

/** A length (rdbLoadLen). Encoded values are an error here. */
export function readLen(c: RdbCursor): number {
  if (c.pos >= c.end) c.short(1)
  const buf = c.buf
  const b = buf[c.pos]
  const t = b >> 6
  if (t === 0) {
    c.pos++
    return b & 0x3f
  }
  if (t === 1) {
    if (c.pos + 2 > c.end) c.short(2)
    const v = ((b & 0x3f) << 8) | buf[c.pos + 1]
    c.pos += 2
    return v
  }
  if (b === 0x80) {
    if (c.pos + 5 > c.end) c.short(5)
    const v = buf.readUInt32BE(c.pos + 1)
    c.pos += 5
    return v
  }
  if (b === 0x81) {
    if (c.pos + 9 > c.end) c.short(9)
    const v = buf.readBigUInt64BE(c.pos + 1)
    if (v > MAX_SAFE) c.fail(`length ${v} out of range`, 'a length below 2^53')
    c.pos += 9
    return Number(v)
  }
  return c.fail(`invalid length encoding byte 0x${b.toString(16)} in ${c.what}`, 'a length')
}

/** A 64-bit length as a BigInt (module ids, module integers). */
export function readLenBig(c: RdbCursor): bigint {
  if (c.pos < c.end && c.buf[c.pos] === 0x81) {
    if (c.pos + 9 > c.end) c.short(9)
    const v = c.buf.readBigUInt64BE(c.pos + 1)
    c.pos += 9
    return v
  }
  return BigInt(readLen(c))
}

/** Skip an RDB string (plain, integer-encoded or LZF-compressed). Returns its encoded size. */
export function skipString(c: RdbCursor): void {
  if (c.pos >= c.end) c.short(1)
  const b = c.buf[c.pos]
  if (b >> 6 !== 3) {
    const len = readLen(c)
    if (c.pos + len > c.end) c.short(len)
    c.pos += len
    return
  }
  const enc = b & 0x3f
  switch (enc) {
    case RDB_ENC.INT8:
      if (c.pos + 2 > c.end) c.short(2)
      c.pos += 2
      return
    case RDB_ENC.INT16:
      if (c.pos + 3 > c.end) c.short(3)
      c.pos += 3
      return
    case RDB_ENC.INT32:
      if (c.pos + 5 > c.end) c.short(5)
      c.pos += 5
      return
    case RDB_ENC.LZF: {
      const at = c.pos
      c.pos++
      const clen = readLen(c)
      const ulen = readLen(c)
      if (ulen > lzfMaxOutput(clen)) lzfSizes(c, clen, ulen, at)
      if (c.pos + clen > c.end) c.short(clen)
      if (c.validate) {
        try {
          lzfCheck(c.buf, ulen, c.pos, c.pos + clen)
        } catch (err) {
          lzfFail(c, err, at)
        }
      }
      c.pos += clen
      return
    }
    default:
      c.fail(`invalid string encoding ${enc} in ${c.what}`, 'a string (plain, integer or LZF)')
  }
}

/**
 * Read an RDB string without copying when it is stored plain: returns undefined and sets
 * c.spanStart/c.spanEnd; for integer-encoded and LZF-compressed strings returns the decoded bytes.
 */
export function readStringSpan(c: RdbCursor): Buffer | undefined {
  if (c.pos >= c.end) c.short(1)
  const b = c.buf[c.pos]
  if (b >> 6 !== 3) {
    const len = readLen(c)
    if (c.pos + len > c.end) c.short(len)
    c.spanStart = c.pos
    c.pos += len
    c.spanEnd = c.pos
    return undefined
  }
  return readString(c)
}

/** Read an RDB string as its bytes: integers as decimal text, LZF decompressed; plain strings are
 * views into the cursor's buffer (no copy). */
export function readString(c: RdbCursor): Buffer {
  if (c.pos >= c.end) c.short(1)
  const b = c.buf[c.pos]
  if (b >> 6 !== 3) {
    const len = readLen(c)
    if (c.pos + len > c.end) c.short(len)
    const s = c.buf.subarray(c.pos, c.pos + len)
    c.pos += len
    return s
  }
  const enc = b & 0x3f
  switch (enc) {
    case RDB_ENC.INT8: {
      if (c.pos + 2 > c.end) c.short(2)
      const v = c.buf.readInt8(c.pos + 1)
      c.pos += 2
      return Buffer.from(String(v), 'latin1')
    }
    case RDB_ENC.INT16: {
      if (c.pos + 3 > c.end) c.short(3)
      const v = c.buf.readInt16LE(c.pos + 1)
      c.pos += 3
      return Buffer.from(String(v), 'latin1')
    }
    case RDB_ENC.INT32: {
      if (c.pos + 5 > c.end) c.short(5)
      const v = c.buf.readInt32LE(c.pos + 1)
      c.pos += 5
      return Buffer.from(String(v), 'latin1')
    }
    case RDB_ENC.LZF: {
      const at = c.pos
      c.pos++
      const clen = readLen(c)
      const ulen = readLen(c)
      lzfSizes(c, clen, ulen, at)
      if (c.pos + clen > c.end) c.short(clen)
      const start = c.pos
      c.pos += clen
      try {
        return lzfDecompress(c.buf, ulen, start, start + clen)
      } catch (err) {
        return lzfFail(c, err, at)
      }
    }
    default:
      return c.fail(`invalid string encoding ${enc} in ${c.what}`, 'a string (plain, integer or LZF)')
  }
}

/** Skip a compact-encoded blob without opening it: its element count is not known. */
function skipCounted(c: RdbCursor): number {
  skipString(c)
  return -1
}

function skip(c: RdbCursor, n: number): void {
  if (c.pos + n > c.end) c.short(n)
  c.pos += n
}

/** A legacy (type 3) zset score: one length byte, 253/254/255 for nan/+inf/-inf. */
function skipLegacyDouble(c: RdbCursor): void {
  if (c.pos >= c.end) c.short(1)
  const len = c.buf[c.pos]
  skip(c, len >= 253 ? 1 : 1 + len)
}

type BlobKind = 'listpack' | 'ziplist' | 'intset' | 'zipmap'

/**
 * The entry count of a compact blob: from its header, or (validating) by walking every entry.
 * `per` entries make one element (2 for field/value and member/score pairs, 3 with field TTLs).
 */
function blobCount(c: RdbCursor, kind: BlobKind, at: number, per = 1): number {
  const blobAt = c.pos
  const blob = readString(c)
  let n: number
  try {
    switch (kind) {
      case 'listpack':
        n = c.validate ? listpackValidate(blob) : listpackCount(blob)
        break
      case 'ziplist':
        n = c.validate ? ziplistValidate(blob) : ziplistCount(blob)
        break
      case 'intset':
        n = intsetCount(blob)
        break
      case 'zipmap':
        n = c.validate ? zipmapValidate(blob) : zipmapCount(blob)
        break
    }
  } catch (err) {
    if (err instanceof EncodingError)
      c.fail(
        `corrupt ${err.message} (blob at byte offset ${c.base + blobAt}) in ${c.what}`,
        `a valid ${kind}`,
        at,
      )
    throw err
  }
  if (per > 1 && c.validate && n % per !== 0) {
    c.fail(
      `${kind} of ${n} entries in ${c.what}, not a whole number of ${per === 2 ? 'pairs' : 'triples'}`,
      `a multiple of ${per} entries`,
      at,
    )
  }
  return per > 1 ? n / per : n
}

/** Skip a module value body: annotated opcodes up to RDB_MODULE_OPCODE_EOF. */
export function skipModuleBody(c: RdbCursor): void {
  for (;;) {
    const at = c.pos
    const op = readLen(c)
    switch (op) {
      case RDB_MODULE_OPCODE.EOF:
        return
      case RDB_MODULE_OPCODE.SINT:
      case RDB_MODULE_OPCODE.UINT:
        readLenBig(c)
        break
      case RDB_MODULE_OPCODE.FLOAT:
        skip(c, 4)
        break
      case RDB_MODULE_OPCODE.DOUBLE:
        skip(c, 8)
        break
      case RDB_MODULE_OPCODE.STRING:
        skipString(c)
        break
      default:
        c.fail(`invalid module opcode ${op} in ${c.what}`, 'a module opcode from 0 to 5', at)
    }
  }
}

const MODULE_CHARSET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/** A module type id -> its 9-character name and encoding version (Redis moduleTypeNameByID). */
export function moduleTypeName(id: bigint): { name: string; encver: number } {
  let name = ''
  let rest = id >> 10n
  const chars: string[] = []
  for (let i = 0; i < 9; i++) {
    chars.unshift(MODULE_CHARSET[Number(rest & 63n)])
    rest >>= 6n
  }
  name = chars.join('')
  return { name, encver: Number(id & 1023n) }
}

/**
 * Walk one value of RDB type `type` starting at the cursor, leaving the cursor after it, and return
 * its element count: list items, set members, hash fields, zset members, stream entries; 1 for
 * strings and module values (c.module then names the module). With `count`, compact encodings are
 * opened (LZF-compressed ones decompressed) to count; without, the walk only skips and returns -1
 * where the count is not written out in the format itself. With `c.validate`, every part of the
 * value is checked (and compact encodings counted by walking them).
 */
export function walkValue(c: RdbCursor, type: number, dialect: RdbDialect, count: boolean): number {
  const at = c.pos
  const open = count || c.validate
  c.module = undefined
  switch (type) {
    case RDB_TYPE.STRING:
      skipString(c)
      return 1
    case RDB_TYPE.LIST:
    case RDB_TYPE.SET:
    case RDB_TYPE.ZSET:
    case RDB_TYPE.HASH:
    case RDB_TYPE.ZSET_2:
      return walkElements(c, type)
    case RDB_TYPE.MODULE_2:
      return walkModule(c)
    case RDB_TYPE.MODULE_PRE_GA:
      return c.fail(
        'module value of the 4.0 release-candidate format (type 6) cannot be parsed without its module',
        'a module value of type 7',
        at - 1,
      )
    case RDB_TYPE.HASH_ZIPMAP:
    case RDB_TYPE.LIST_ZIPLIST:
    case RDB_TYPE.SET_INTSET:
    case RDB_TYPE.ZSET_ZIPLIST:
    case RDB_TYPE.HASH_ZIPLIST:
    case RDB_TYPE.HASH_LISTPACK:
    case RDB_TYPE.ZSET_LISTPACK:
    case RDB_TYPE.SET_LISTPACK:
      return open ? walkBlob(c, type, at) : skipCounted(c)
    case RDB_TYPE.LIST_QUICKLIST:
      return walkQuicklist(c, at, open)
    case RDB_TYPE.LIST_QUICKLIST_2:
      return walkQuicklist2(c, at, open)
    case RDB_TYPE.STREAM_LISTPACKS:
    case RDB_TYPE.STREAM_LISTPACKS_2:
    case RDB_TYPE.STREAM_LISTPACKS_3:
      return walkStream(c, type)
  }
  return walkDialectValue(c, type, dialect, at, open)
}

/** The element-by-element encodings: every element a string (a zset's scores after them). */
function walkElements(c: RdbCursor, type: number): number {
  switch (type) {
    case RDB_TYPE.LIST:
    case RDB_TYPE.SET: {
      const n = readCount(c, 1)
      for (let i = 0; i < n; i++) skipString(c)
      return n
    }
    case RDB_TYPE.ZSET: {
      const n = readCount(c, 2)
      for (let i = 0; i < n; i++) {
        skipString(c)
        skipLegacyDouble(c)
      }
      return n
    }
    case RDB_TYPE.HASH: {
      const n = readCount(c, 2)
      for (let i = 0; i < n; i++) {
        skipString(c)
        skipString(c)
      }
      return n
    }
    default: {
      // ZSET_2: binary double scores.
      const n = readCount(c, 9)
      for (let i = 0; i < n; i++) {
        skipString(c)
        skip(c, 8)
      }
      return n
    }
  }
}

/** A module value: its id, then an annotated body; c.module names the module. */
function walkModule(c: RdbCursor): number {
  const id = readLenBig(c)
  skipModuleBody(c)
  c.module = moduleTypeName(id).name
  return 1
}

/** One compact blob (zipmap, ziplist, intset, listpack), opened: its elements counted. */
function walkBlob(c: RdbCursor, type: number, at: number): number {
  switch (type) {
    case RDB_TYPE.HASH_ZIPMAP:
      return blobCount(c, 'zipmap', at)
    case RDB_TYPE.LIST_ZIPLIST:
      return blobCount(c, 'ziplist', at)
    case RDB_TYPE.SET_INTSET:
      return blobCount(c, 'intset', at)
    case RDB_TYPE.ZSET_ZIPLIST:
    case RDB_TYPE.HASH_ZIPLIST:
      return blobCount(c, 'ziplist', at, 2)
    case RDB_TYPE.SET_LISTPACK:
      return blobCount(c, 'listpack', at)
    default:
      // HASH_LISTPACK, ZSET_LISTPACK: field/value and member/score pairs.
      return blobCount(c, 'listpack', at, 2)
  }
}

/** A quicklist of ziplists (RDB 7-9); -1 when not opened. */
function walkQuicklist(c: RdbCursor, at: number, open: boolean): number {
  const nodes = readCount(c, 1)
  let total = 0
  for (let i = 0; i < nodes; i++) {
    if (open) total += blobCount(c, 'ziplist', at)
    else skipString(c)
  }
  return open ? total : -1
}

/** A quicklist of listpacks and plain nodes (RDB 10+); -1 when not opened. */
function walkQuicklist2(c: RdbCursor, at: number, open: boolean): number {
  const nodes = readCount(c, 2)
  let total = 0
  for (let i = 0; i < nodes; i++) {
    const containerAt = c.pos
    const container = readLen(c)
    if (container !== 1 && container !== 2) {
      c.fail(
        `invalid quicklist container ${container} in ${c.what}`,
        'container 1 (plain) or 2 (packed)',
        containerAt,
      )
    }
    if (container === 1) {
      skipString(c)
      total += 1
    } else if (open) total += blobCount(c, 'listpack', at)
    else skipString(c)
  }
  return open ? total : -1
}

/** Types that only one dialect has (hashes with field TTLs); anything else is refused. */
function walkDialectValue(
  c: RdbCursor,
  type: number,
  dialect: RdbDialect,
  at: number,
  open: boolean,
): number {
  if (dialect === 'redis-ce') {
    switch (type) {
      case RDB_TYPE.HASH_METADATA:
      case RDB_TYPE.HASH_METADATA_PRE_GA: {
        if (type === RDB_TYPE.HASH_METADATA) skip(c, 8) // minimum field expire time
        const n = readCount(c, 3)
        for (let i = 0; i < n; i++) {
          readLenBig(c) // field TTL (0: none)
          skipString(c)
          skipString(c)
        }
        return n
      }
      case RDB_TYPE.HASH_LISTPACK_EX:
      case RDB_TYPE.HASH_LISTPACK_EX_PRE_GA:
        if (type === RDB_TYPE.HASH_LISTPACK_EX) skip(c, 8)
        return open ? blobCount(c, 'listpack', at, 3) : skipCounted(c)
    }
  }
  if (dialect === 'valkey' && type === RDB_TYPE.VALKEY_HASH_2) {
    const n = readCount(c, 10)
    for (let i = 0; i < n; i++) {
      skipString(c)
      skipString(c)
      skip(c, 8) // field expire time, ms (-1: none)
    }
    return n
  }
  const known = typeInfo(type, dialect)
  return c.fail(
    known ? `value type ${type} is not supported` : `unknown value type ${type}`,
    'a value type this version of kvtop reads (0-7, 9-21; 22-25 for Redis 7.4+, 22 for Valkey 9)',
    at - 1,
  )
}

function walkStream(c: RdbCursor, type: number): number {
  const nodes = readCount(c, 2)
  for (let i = 0; i < nodes; i++) {
    const keyAt = c.pos
    const nodeKey = readString(c)
    if (nodeKey.length !== 16)
      c.fail(`stream node key of ${nodeKey.length} bytes`, 'a 16-byte stream ID', keyAt)
    if (c.validate) blobCount(c, 'listpack', keyAt)
    else skipString(c) // the listpack
  }
  const length = readLen(c)
  readLenBig(c) // last id ms
  readLenBig(c) // last id seq
  if (type >= RDB_TYPE.STREAM_LISTPACKS_2) {
    readLenBig(c) // first id
    readLenBig(c)
    readLenBig(c) // max deleted entry id
    readLenBig(c)
    readLenBig(c) // entries added
  }
  const groups = readCount(c, 4)
  for (let g = 0; g < groups; g++) {
    skipString(c) // name
    readLenBig(c) // last id
    readLenBig(c)
    if (type >= RDB_TYPE.STREAM_LISTPACKS_2) readLenBig(c) // entries read
    // rawid (16) + delivery time (8) + delivery count (length)
    const pel = readCount(c, 25)
    for (let p = 0; p < pel; p++) {
      skip(c, 24)
      readLenBig(c)
    }
    const consumers = readCount(c, 10)
    for (let k = 0; k < consumers; k++) {
      skipString(c) // name
      skip(c, 8) // seen time
      if (type >= RDB_TYPE.STREAM_LISTPACKS_3) skip(c, 8) // active time
      const cpel = readCount(c, 16)
      skip(c, 16 * cpel)
    }
  }
  return length
}
