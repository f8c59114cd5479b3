/**
 * Decoders for the compact encodings Redis stores inside RDB strings: listpack (7.0+), ziplist
 * (before 7.0), intset and zipmap (before 2.6). Integers come out as their decimal text, which is
 * what a client reads back from the server. Every walk is bounds-checked: a malformed blob throws an
 * EncodingError with the offset inside the blob.
 */
export class EncodingError extends Error {
  constructor(
    readonly encoding: string,
    message: string,
    /** Offset inside the blob. */
    readonly at: number,
  ) {
    super(`${encoding}: ${message} at blob offset ${at}`)
    this.name = 'EncodingError'
  }
}

function intText(n: number | bigint): Buffer {
  return Buffer.from(String(n), 'latin1')
}

// --- listpack ---------------------------------------------------------------------------------

const LP_HEADER = 6

function lpCheck(blob: Buffer, need: number, at: number): void {
  if (need > blob.length) throw new EncodingError('listpack', 'entry runs past the end of the blob', at)
}

/** Size of the backlen field for an entry of `len` bytes (encoding + data), as lpEncodeBacklen
 * sizes it (note the boundaries: 16383 already takes three bytes). */
function lpBacklenSize(len: number): number {
  if (len <= 127) return 1
  if (len < 16383) return 2
  if (len < 2097151) return 3
  if (len < 268435455) return 4
  return 5
}

/** A string entry's bytes blob[a..b), or an integer entry's value (`str` undefined, `a` the value). */
type EntryVisitor = (str: Buffer | undefined, a: number | bigint, b?: number) => void

/** An 8-byte integer as a number when it is exact as one, otherwise as a bigint. */
function int64(big: bigint): number | bigint {
  return big >= -9007199254740991n && big <= 9007199254740991n ? Number(big) : big
}

/**
 * Visit each listpack entry: `onEntry(blob, start, end)` for a string (bytes blob[start..end)) or
 * `onEntry(undefined, value)` for an integer. Returns the number of entries.
 */
function lpWalk(blob: Buffer, onEntry?: EntryVisitor, strict = false): number {
  if (blob.length < LP_HEADER + 1) throw new EncodingError('listpack', 'blob shorter than its header', 0)
  const total = blob.readUInt32LE(0)
  if (total !== blob.length)
    throw new EncodingError('listpack', `header says ${total} bytes, blob has ${blob.length}`, 0)
  let p = LP_HEADER
  let count = 0
  for (;;) {
    lpCheck(blob, p + 1, p)
    if (blob[p] === 0xff) {
      if (p !== blob.length - 1)
        throw new EncodingError('listpack', 'end marker before the end of the blob', p)
      break
    }
    const entryLen = lpEntry(blob, p, onEntry)
    const backlenSize = lpBacklenSize(entryLen)
    if (strict) lpCheckBacklen(blob, p, entryLen, backlenSize)
    p += entryLen + backlenSize
    count++
  }
  if (strict) {
    const declared = blob.readUInt16LE(4)
    if (declared !== 0xffff && declared !== count)
      throw new EncodingError('listpack', `header says ${declared} entries, the blob holds ${count}`, 4)
  }
  return count
}

/** Visit the entry at `p` (its encoding byte); returns its length without the backlen. */
function lpEntry(blob: Buffer, p: number, onEntry?: EntryVisitor): number {
  const b = blob[p]
  if ((b & 0x80) === 0) {
    onEntry?.(undefined, b & 0x7f)
    return 1
  }
  if ((b & 0xc0) === 0x80) return lpString(blob, p, 1, b & 0x3f, onEntry)
  if ((b & 0xe0) === 0xc0) {
    lpCheck(blob, p + 2, p)
    let v = ((b & 0x1f) << 8) | blob[p + 1]
    if (v >= 1 << 12) v -= 1 << 13
    onEntry?.(undefined, v)
    return 2
  }
  if ((b & 0xf0) === 0xe0) {
    lpCheck(blob, p + 2, p)
    return lpString(blob, p, 2, ((b & 0x0f) << 8) | blob[p + 1], onEntry)
  }
  switch (b) {
    case 0xf0:
      lpCheck(blob, p + 5, p)
      return lpString(blob, p, 5, blob.readUInt32LE(p + 1), onEntry)
    case 0xf1:
      return lpInt(blob, p, 2, onEntry)
    case 0xf2:
      return lpInt(blob, p, 3, onEntry)
    case 0xf3:
      return lpInt(blob, p, 4, onEntry)
    case 0xf4:
      lpCheck(blob, p + 9, p)
      onEntry?.(undefined, int64(blob.readBigInt64LE(p + 1)))
      return 9
    default:
      throw new EncodingError('listpack', `invalid entry encoding byte 0x${b.toString(16)}`, p)
  }
}

/** A string entry at `p` whose `len` bytes follow a `head`-byte encoding; returns head + len. */
function lpString(blob: Buffer, p: number, head: number, len: number, onEntry?: EntryVisitor): number {
  lpCheck(blob, p + head + len, p)
  onEntry?.(blob, p + head, p + head + len)
  return head + len
}

/** An integer entry of `width` bytes after its encoding byte at `p`; returns 1 + width. */
function lpInt(blob: Buffer, p: number, width: number, onEntry?: EntryVisitor): number {
  lpCheck(blob, p + 1 + width, p)
  onEntry?.(undefined, blob.readIntLE(p + 1, width))
  return 1 + width
}

/** The backlen (for walking backwards) must say how long the entry at `start` is. */
function lpCheckBacklen(blob: Buffer, start: number, entryLen: number, backlenSize: number): void {
  const b0 = start + entryLen
  lpCheck(blob, b0 + backlenSize, start)
  let v = 0
  for (let i = 0; i < backlenSize; i++) {
    const byte = blob[b0 + i]
    if ((byte & 0x80) !== (i === 0 ? 0 : 0x80))
      throw new EncodingError('listpack', 'malformed entry backlen', b0 + i)
    v = v * 128 + (byte & 0x7f)
  }
  if (v !== entryLen)
    throw new EncodingError('listpack', `entry backlen says ${v} bytes, the entry has ${entryLen}`, b0)
}

export function listpackEntries(blob: Buffer): Buffer[] {
  const out: Buffer[] = []
  lpWalk(blob, (str, a, b) => out.push(str ? Buffer.from(str.subarray(a as number, b)) : intText(a)))
  return out
}

/** Number of entries: from the header when it holds it (< 65535), otherwise by walking. */
export function listpackCount(blob: Buffer): number {
  if (blob.length < LP_HEADER + 1) throw new EncodingError('listpack', 'blob shorter than its header', 0)
  const n = blob.readUInt16LE(4)
  return n !== 0xffff ? n : lpWalk(blob)
}

/** Walk the whole blob, checking its structure (backlens, header count); returns the number of entries. */
export function listpackValidate(blob: Buffer): number {
  return lpWalk(blob, undefined, true)
}

// --- ziplist ----------------------------------------------------------------------------------

const ZL_HEADER = 10

function zlCheck(blob: Buffer, need: number, at: number): void {
  if (need > blob.length) throw new EncodingError('ziplist', 'entry runs past the end of the blob', at)
}

/** Visit each ziplist entry as lpWalk does a listpack's. Returns the number of entries. */
function zlWalk(blob: Buffer, onEntry?: EntryVisitor, strict = false): number {
  if (blob.length < ZL_HEADER + 1) throw new EncodingError('ziplist', 'blob shorter than its header', 0)
  const total = blob.readUInt32LE(0)
  if (total !== blob.length)
    throw new EncodingError('ziplist', `header says ${total} bytes, blob has ${blob.length}`, 0)
  let p = ZL_HEADER
  let count = 0
  let prevLen = 0
  let last = ZL_HEADER
  for (;;) {
    zlCheck(blob, p + 1, p)
    if (blob[p] === 0xff) {
      if (p !== blob.length - 1)
        throw new EncodingError('ziplist', 'end marker before the end of the blob', p)
      break
    }
    const start = p
    // Each entry starts with the length of the one before it, in one byte or 0xfe and four.
    const prevSize = blob[p] === 0xfe ? 5 : 1
    zlCheck(blob, p + prevSize, p)
    if (strict) {
      const prev = prevSize === 5 ? blob.readUInt32LE(p + 1) : blob[p]
      if (prev !== prevLen)
        throw new EncodingError(
          'ziplist',
          `entry prevlen says ${prev} bytes, the entry before has ${prevLen}`,
          start,
        )
    }
    p = zlEntry(blob, p + prevSize, start, onEntry)
    prevLen = p - start
    last = start
    count++
  }
  if (strict) zlCheckHeader(blob, count, last)
  return count
}

/** Visit the entry whose encoding byte is at `p` (the entry itself starts at `start`); returns its end. */
function zlEntry(blob: Buffer, p: number, start: number, onEntry?: EntryVisitor): number {
  zlCheck(blob, p + 1, start)
  const enc = blob[p]
  switch (enc >> 6) {
    case 0:
      return zlString(blob, p + 1, enc & 0x3f, start, onEntry)
    case 1:
      zlCheck(blob, p + 2, start)
      return zlString(blob, p + 2, ((enc & 0x3f) << 8) | blob[p + 1], start, onEntry)
    case 2:
      zlCheck(blob, p + 5, start)
      return zlString(blob, p + 5, blob.readUInt32BE(p + 1), start, onEntry)
    default:
      return zlInteger(blob, p, start, onEntry)
  }
}

function zlString(blob: Buffer, at: number, len: number, start: number, onEntry?: EntryVisitor): number {
  zlCheck(blob, at + len, start)
  onEntry?.(blob, at, at + len)
  return at + len
}

/** An integer entry: its width, or for 0xf1..0xfd the value 0..12 in the encoding byte itself. */
function zlInteger(blob: Buffer, p: number, start: number, onEntry?: EntryVisitor): number {
  const enc = blob[p]
  switch (enc) {
    case 0xc0:
      return zlInt(blob, p, 2, start, onEntry)
    case 0xd0:
      return zlInt(blob, p, 4, start, onEntry)
    case 0xe0:
      zlCheck(blob, p + 9, start)
      onEntry?.(undefined, int64(blob.readBigInt64LE(p + 1)))
      return p + 9
    case 0xf0:
      return zlInt(blob, p, 3, start, onEntry)
    case 0xfe:
      return zlInt(blob, p, 1, start, onEntry)
    default: {
      const imm = enc & 0x0f
      if ((enc & 0xf0) !== 0xf0 || imm < 1 || imm > 13) {
        throw new EncodingError('ziplist', `invalid entry encoding byte 0x${enc.toString(16)}`, p)
      }
      onEntry?.(undefined, imm - 1)
      return p + 1
    }
  }
}

/** An integer of `width` bytes after the encoding byte at `p`; returns the entry's end. */
function zlInt(blob: Buffer, p: number, width: number, start: number, onEntry?: EntryVisitor): number {
  zlCheck(blob, p + 1 + width, start)
  onEntry?.(undefined, blob.readIntLE(p + 1, width))
  return p + 1 + width
}

/** The header's entry count (unless 0xffff, "too many to count") and tail offset must match the walk. */
function zlCheckHeader(blob: Buffer, count: number, last: number): void {
  const declared = blob.readUInt16LE(8)
  if (declared !== 0xffff && declared !== count)
    throw new EncodingError('ziplist', `header says ${declared} entries, the blob holds ${count}`, 8)
  const tail = blob.readUInt32LE(4)
  if (tail !== last)
    throw new EncodingError('ziplist', `header says the last entry is at ${tail}, it is at ${last}`, 4)
}

export function ziplistEntries(blob: Buffer): Buffer[] {
  const out: Buffer[] = []
  zlWalk(blob, (str, a, b) => out.push(str ? Buffer.from(str.subarray(a as number, b)) : intText(a)))
  return out
}

export function ziplistCount(blob: Buffer): number {
  if (blob.length < ZL_HEADER + 1) throw new EncodingError('ziplist', 'blob shorter than its header', 0)
  const n = blob.readUInt16LE(8)
  return n !== 0xffff ? n : zlWalk(blob)
}

/** Walk the whole blob, checking its structure (prevlens, header count and tail); returns the number of entries. */
export function ziplistValidate(blob: Buffer): number {
  return zlWalk(blob, undefined, true)
}

// --- intset -----------------------------------------------------------------------------------

function intsetHeader(blob: Buffer): { width: number; length: number } {
  if (blob.length < 8) throw new EncodingError('intset', 'blob shorter than its header', 0)
  const width = blob.readUInt32LE(0)
  const length = blob.readUInt32LE(4)
  if (width !== 2 && width !== 4 && width !== 8)
    throw new EncodingError('intset', `invalid integer width ${width}`, 0)
  if (8 + width * length !== blob.length) {
    throw new EncodingError(
      'intset',
      `${length} integers of ${width} bytes do not fill ${blob.length - 8} bytes`,
      4,
    )
  }
  return { width, length }
}

export function intsetEntries(blob: Buffer): Buffer[] {
  const { width, length } = intsetHeader(blob)
  const out: Buffer[] = []
  for (let i = 0; i < length; i++) {
    const at = 8 + i * width
    out.push(
      intText(
        width === 2 ? blob.readInt16LE(at) : width === 4 ? blob.readInt32LE(at) : blob.readBigInt64LE(at),
      ),
    )
  }
  return out
}

export function intsetCount(blob: Buffer): number {
  return intsetHeader(blob).length
}

// --- zipmap -----------------------------------------------------------------------------------

function zmWalk(blob: Buffer, onPair?: (key: Buffer, value: Buffer) => void): number {
  let p = 1
  let count = 0
  const check = (need: number, at: number) => {
    if (need > blob.length) throw new EncodingError('zipmap', 'entry runs past the end of the blob', at)
  }
  const readLen = (): number | undefined => {
    check(p + 1, p)
    const b = blob[p]
    if (b === 0xff) return undefined
    if (b < 254) {
      p += 1
      return b
    }
    if (b === 254) {
      check(p + 5, p)
      const len = blob.readUInt32LE(p + 1)
      p += 5
      return len
    }
    throw new EncodingError('zipmap', `invalid length byte 0x${b.toString(16)}`, p)
  }
  check(1, 0)
  for (;;) {
    const klen = readLen()
    if (klen === undefined) break
    check(p + klen, p)
    const key = blob.subarray(p, p + klen)
    p += klen
    const vlen = readLen()
    if (vlen === undefined) throw new EncodingError('zipmap', 'key without a value', p)
    check(p + 1, p)
    const free = blob[p]
    p += 1
    check(p + vlen + free, p)
    const value = blob.subarray(p, p + vlen)
    p += vlen + free
    onPair?.(key, value)
    count++
  }
  if (p !== blob.length - 1) throw new EncodingError('zipmap', 'end marker before the end of the blob', p)
  return count
}

/** Field/value pairs, flattened [f, v, f, v, ...]. */
export function zipmapEntries(blob: Buffer): Buffer[] {
  const out: Buffer[] = []
  zmWalk(blob, (k, v) => out.push(Buffer.from(k), Buffer.from(v)))
  return out
}

/** Walk the whole blob, checking its structure; returns the number of field/value pairs. */
export function zipmapValidate(blob: Buffer): number {
  if (blob.length < 1) throw new EncodingError('zipmap', 'empty blob', 0)
  const n = zmWalk(blob)
  if (blob[0] < 254 && blob[0] !== n)
    throw new EncodingError('zipmap', `header says ${blob[0]} pairs, the blob holds ${n}`, 0)
  return n
}

/** Number of field/value pairs. */
export function zipmapCount(blob: Buffer): number {
  if (blob.length < 1) throw new EncodingError('zipmap', 'empty blob', 0)
  return blob[0] < 254 ? blob[0] : zmWalk(blob)
}
