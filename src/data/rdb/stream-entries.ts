import { RDB_TYPE } from './constants.js'
import { EncodingError, listpackEntries } from './encodings.js'
import { BufferCursor, RdbFormatError, readCount, readString } from './walker.js'

/** One stream entry as XRANGE returns it: its id and its field/value pairs, flattened. */
export interface StreamEntry {
  id: string
  /** [field, value, field, value, ...] */
  fields: Buffer[]
}

/** Item flags of a stream listpack entry (t_stream.c). */
const FLAG_DELETED = 1
const FLAG_SAMEFIELDS = 2

function integer(b: Buffer | undefined, what: string): bigint {
  const text = b?.toString('latin1') ?? ''
  if (!/^-?\d+$/.test(text)) throw new EncodingError('stream listpack', `${what} is not an integer`, 0)
  return BigInt(text)
}

/**
 * The live entries of a stream value (RDB types 15, 19, 21: the bytes after the type byte), in id
 * order; entries marked deleted are left out. The metadata (length, last id, groups) is what
 * decodeValue gives; this reads the part it leaves encoded: each node is a 128-bit master id and a
 * listpack of a master entry (count, deleted, master fields) followed by entries stored as deltas
 * from the master id, with their own fields or the master's (SAMEFIELDS).
 */
export function streamEntries(type: number, value: Buffer): StreamEntry[] {
  if (
    type !== RDB_TYPE.STREAM_LISTPACKS &&
    type !== RDB_TYPE.STREAM_LISTPACKS_2 &&
    type !== RDB_TYPE.STREAM_LISTPACKS_3
  ) {
    throw new RdbFormatError(`type ${type} is not a stream`, 0, 'a stream type (15, 19 or 21)')
  }
  const c = new BufferCursor(value)
  c.what = 'a stream node'
  const out: StreamEntry[] = []
  const nodes = readCount(c, 2)
  for (let i = 0; i < nodes; i++) {
    const nodeAt = c.pos
    const master = readString(c)
    if (master.length !== 16) c.fail(`stream node key of ${master.length} bytes`, 'a 16-byte id', nodeAt)
    const masterMs = master.readBigUInt64BE(0)
    const masterSeq = master.readBigUInt64BE(8)
    let items: Buffer[]
    try {
      items = listpackEntries(readString(c))
    } catch (err) {
      if (err instanceof EncodingError)
        c.fail(`corrupt ${err.message} in a stream node`, 'a valid listpack', nodeAt)
      throw err
    }
    try {
      decodeNode(items, masterMs, masterSeq, out)
    } catch (err) {
      if (err instanceof EncodingError)
        c.fail(`corrupt stream node: ${err.message}`, 'a valid stream listpack', nodeAt)
      throw err
    }
  }
  return out
}

function decodeNode(items: Buffer[], masterMs: bigint, masterSeq: bigint, out: StreamEntry[]): void {
  let p = 0
  const next = (what: string): Buffer => {
    if (p >= items.length) throw new EncodingError('stream listpack', `node ends before its ${what}`, p)
    return items[p++]
  }
  const count = Number(integer(next('entry count'), 'the entry count'))
  const deleted = Number(integer(next('deleted count'), 'the deleted count'))
  const masterFieldCount = Number(integer(next('master field count'), 'the master field count'))
  if (masterFieldCount < 0 || masterFieldCount > items.length)
    throw new EncodingError('stream listpack', `master field count ${masterFieldCount}`, p)
  const masterFields: Buffer[] = []
  for (let f = 0; f < masterFieldCount; f++) masterFields.push(next('master fields'))
  next('master entry terminator')
  const total = count + deleted
  for (let e = 0; e < total; e++) {
    const flags = Number(integer(next('entry flags'), 'entry flags'))
    const ms = masterMs + integer(next('entry id'), 'an entry id delta')
    const seq = masterSeq + integer(next('entry id'), 'an entry id delta')
    const fields: Buffer[] = []
    if (flags & FLAG_SAMEFIELDS) {
      for (const f of masterFields) fields.push(f, next('entry values'))
    } else {
      const n = Number(integer(next('entry field count'), 'an entry field count'))
      if (n < 0 || n * 2 > items.length - p)
        throw new EncodingError('stream listpack', `entry field count ${n}`, p)
      for (let f = 0; f < n; f++) fields.push(next('entry fields'), next('entry values'))
    }
    next('entry back count')
    if (flags & FLAG_DELETED) continue
    out.push({ id: `${BigInt.asUintN(64, ms)}-${BigInt.asUintN(64, seq)}`, fields })
  }
  if (p !== items.length)
    throw new EncodingError('stream listpack', `${items.length - p} items after the last entry`, p)
}
