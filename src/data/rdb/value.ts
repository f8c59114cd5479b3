import { RDB_TYPE, typeInfo, type RdbDialect, type ValueKind } from './constants.js'
import { EncodingError, intsetEntries, listpackEntries, ziplistEntries, zipmapEntries } from './encodings.js'
import {
  BufferCursor,
  RdbFormatError,
  moduleTypeName,
  readCount,
  readLen,
  readLenBig,
  readString,
} from './walker.js'

/**
 * A value decoded to what a client would read back: strings as bytes, lists in order, sets and
 * hashes as members/field-value pairs (in stored order), sorted sets as member/score pairs, and for
 * streams their metadata (entries themselves stay encoded). Used by inspection, tests and
 * comparisons; the bulk paths never decode values.
 */
export type DecodedValue =
  | { kind: 'string'; value: Buffer }
  | { kind: 'list'; items: Buffer[] }
  | { kind: 'set'; members: Buffer[] }
  | { kind: 'zset'; entries: { member: Buffer; score: number }[] }
  | { kind: 'hash'; fields: { field: Buffer; value: Buffer; expireAt?: number }[] }
  | {
      kind: 'stream'
      length: number
      lastId: string
      firstId?: string
      maxDeletedId?: string
      entriesAdded?: number
      groups: {
        name: Buffer
        lastId: string
        entriesRead?: number
        pending: { id: string; deliveryTime: number; deliveryCount: number }[]
        consumers: { name: Buffer; seenTime: number; activeTime?: number; pending: string[] }[]
      }[]
    }
  | { kind: 'module'; module: string }

function pairs<T>(items: Buffer[], make: (a: Buffer, b: Buffer) => T): T[] {
  if (items.length % 2)
    throw new RdbFormatError('odd number of entries in a pair encoding', 0, 'field/value pairs')
  const out: T[] = []
  for (let i = 0; i < items.length; i += 2) out.push(make(items[i], items[i + 1]))
  return out
}

function legacyDouble(c: BufferCursor): number {
  if (c.pos >= c.end) c.short(1)
  const len = c.buf[c.pos++]
  if (len === 253) return NaN
  if (len === 254) return Infinity
  if (len === 255) return -Infinity
  if (c.pos + len > c.end) c.short(len)
  const v = Number(c.buf.toString('latin1', c.pos, c.pos + len))
  c.pos += len
  return v
}

/** A score stored as text (listpack/ziplist zsets): Redis writes infinities as "inf"/"-inf". */
function parseScore(text: Buffer): number {
  const t = text.toString('latin1').toLowerCase()
  if (t === 'inf' || t === '+inf') return Infinity
  if (t === '-inf') return -Infinity
  return Number(t)
}

function signed64(v: bigint): number {
  return Number(BigInt.asIntN(64, v))
}

function streamId(c: BufferCursor): string {
  return `${readLenBig(c)}-${readLenBig(c)}`
}

function rawStreamId(c: BufferCursor): string {
  if (c.pos + 16 > c.end) c.short(16)
  const id = `${c.buf.readBigUInt64BE(c.pos)}-${c.buf.readBigUInt64BE(c.pos + 8)}`
  c.pos += 16
  return id
}

function ms(c: BufferCursor): number {
  if (c.pos + 8 > c.end) c.short(8)
  const v = c.buf.readUInt32LE(c.pos) + c.buf.readInt32LE(c.pos + 4) * 4294967296
  c.pos += 8
  return v
}

/**
 * Decode the value bytes of RDB type `type` (the bytes after the type byte). Damaged bytes are an
 * RdbFormatError naming the offset in `value`.
 */
export function decodeValue(type: number, value: Buffer, dialect: RdbDialect = 'oss'): DecodedValue {
  try {
    return decode(type, value, dialect)
  } catch (err) {
    if (err instanceof EncodingError)
      throw new RdbFormatError(
        `corrupt ${err.message} in a value of type ${type}`,
        0,
        `a valid ${err.encoding}`,
      )
    throw err
  }
}

type StreamValue = Extract<DecodedValue, { kind: 'stream' }>
type StreamGroup = StreamValue['groups'][number]
type StreamConsumer = StreamGroup['consumers'][number]

const copy = (b: Buffer): Buffer => Buffer.from(b)

function decode(type: number, value: Buffer, dialect: RdbDialect): DecodedValue {
  const c = new BufferCursor(value)
  c.what = `a value of type ${type}`
  const out = decodeType(c, type, dialect)
  if (c.pos !== c.end)
    throw new RdbFormatError(`${c.end - c.pos} bytes left after the value`, c.pos, 'the end of the value')
  return out
}

/** One decoder per RDB type: each reads its value from the cursor, the caller checks the end. */
function decodeType(c: BufferCursor, type: number, dialect: RdbDialect): DecodedValue {
  switch (type) {
    case RDB_TYPE.STRING:
      return { kind: 'string', value: copy(readString(c)) }
    case RDB_TYPE.LIST:
      return { kind: 'list', items: stringSequence(c) }
    case RDB_TYPE.SET:
      return { kind: 'set', members: stringSequence(c) }
    case RDB_TYPE.ZSET:
    case RDB_TYPE.ZSET_2:
      return { kind: 'zset', entries: zsetEntries(c, type === RDB_TYPE.ZSET) }
    case RDB_TYPE.HASH:
      return { kind: 'hash', fields: hashFields(c) }
    case RDB_TYPE.HASH_ZIPMAP:
      return { kind: 'hash', fields: pairs(zipmapEntries(readString(c)), fieldValue) }
    case RDB_TYPE.LIST_ZIPLIST:
      return { kind: 'list', items: ziplistEntries(readString(c)) }
    case RDB_TYPE.SET_INTSET:
      return { kind: 'set', members: intsetEntries(readString(c)) }
    case RDB_TYPE.SET_LISTPACK:
      return { kind: 'set', members: listpackEntries(readString(c)) }
    case RDB_TYPE.ZSET_ZIPLIST:
      return { kind: 'zset', entries: pairs(ziplistEntries(readString(c)), memberScore) }
    case RDB_TYPE.ZSET_LISTPACK:
      return { kind: 'zset', entries: pairs(listpackEntries(readString(c)), memberScore) }
    case RDB_TYPE.HASH_ZIPLIST:
      return { kind: 'hash', fields: pairs(ziplistEntries(readString(c)), fieldValue) }
    case RDB_TYPE.HASH_LISTPACK:
      return { kind: 'hash', fields: pairs(listpackEntries(readString(c)), fieldValue) }
    case RDB_TYPE.LIST_QUICKLIST:
      return { kind: 'list', items: quicklistItems(c, false) }
    case RDB_TYPE.LIST_QUICKLIST_2:
      return { kind: 'list', items: quicklistItems(c, true) }
    case RDB_TYPE.STREAM_LISTPACKS:
    case RDB_TYPE.STREAM_LISTPACKS_2:
    case RDB_TYPE.STREAM_LISTPACKS_3:
      return streamValue(c, type)
    case RDB_TYPE.MODULE_2: {
      const module = moduleTypeName(readLenBig(c)).name
      c.pos = c.end
      return { kind: 'module', module }
    }
    default:
      if (dialect === 'valkey' && type === RDB_TYPE.VALKEY_HASH_2)
        return { kind: 'hash', fields: expiringHashFields(c) }
      return undecodable(type, dialect)
  }
}

function undecodable(type: number, dialect: RdbDialect): never {
  const kind: ValueKind | undefined = typeInfo(type, dialect)?.kind
  throw new RdbFormatError(
    `cannot decode values of type ${type}${kind ? ` (${kind})` : ''}`,
    0,
    'a type kvtop decodes',
  )
}

const fieldValue = (field: Buffer, value: Buffer) => ({ field, value })
const memberScore = (member: Buffer, score: Buffer) => ({ member, score: parseScore(score) })

/** LIST and SET: a count, then that many strings. */
function stringSequence(c: BufferCursor): Buffer[] {
  const n = readCount(c, 1)
  const items: Buffer[] = []
  for (let i = 0; i < n; i++) items.push(copy(readString(c)))
  return items
}

function binaryDouble(c: BufferCursor): number {
  if (c.pos + 8 > c.end) c.short(8)
  const v = c.buf.readDoubleLE(c.pos)
  c.pos += 8
  return v
}

/** ZSET (`textScores`: scores as length-prefixed text) and ZSET_2 (scores as 8-byte doubles). */
function zsetEntries(c: BufferCursor, textScores: boolean): { member: Buffer; score: number }[] {
  const n = readCount(c, textScores ? 2 : 9)
  const entries: { member: Buffer; score: number }[] = []
  for (let i = 0; i < n; i++) {
    const member = copy(readString(c))
    entries.push({ member, score: textScores ? legacyDouble(c) : binaryDouble(c) })
  }
  return entries
}

function hashFields(c: BufferCursor): { field: Buffer; value: Buffer }[] {
  const n = readCount(c, 2)
  const fields: { field: Buffer; value: Buffer }[] = []
  for (let i = 0; i < n; i++) fields.push({ field: copy(readString(c)), value: copy(readString(c)) })
  return fields
}

/** Valkey's hash with per-field expiry: field, value, then the field's expiry (-1: none). */
function expiringHashFields(c: BufferCursor): { field: Buffer; value: Buffer; expireAt?: number }[] {
  const n = readCount(c, 10)
  const fields: { field: Buffer; value: Buffer; expireAt?: number }[] = []
  for (let i = 0; i < n; i++) {
    const field = copy(readString(c))
    const value = copy(readString(c))
    const expireAt = ms(c)
    fields.push({ field, value, ...(expireAt >= 0 ? { expireAt } : {}) })
  }
  return fields
}

/**
 * A quicklist's nodes: ziplists (LIST_QUICKLIST), or in LIST_QUICKLIST_2 each node preceded by its
 * container, 1 for one plain element, 2 for a listpack.
 */
function quicklistItems(c: BufferCursor, v2: boolean): Buffer[] {
  const nodes = readCount(c, v2 ? 2 : 1)
  const items: Buffer[] = []
  for (let i = 0; i < nodes; i++) {
    const containerAt = c.pos
    const container = v2 ? readLen(c) : 2
    if (container !== 1 && container !== 2)
      c.fail(`invalid quicklist container ${container}`, 'container 1 (plain) or 2 (packed)', containerAt)
    const blob = readString(c)
    if (container === 1) items.push(copy(blob))
    else for (const item of v2 ? listpackEntries(blob) : ziplistEntries(blob)) items.push(item)
  }
  return items
}

/** A stream's metadata and consumer groups; its entries (listpacks) are skipped, not decoded. */
function streamValue(c: BufferCursor, type: number): StreamValue {
  const nodes = readCount(c, 2)
  for (let i = 0; i < nodes; i++) {
    readString(c)
    readString(c)
  }
  const length = readLen(c)
  const lastId = streamId(c)
  const v2 = type >= RDB_TYPE.STREAM_LISTPACKS_2
  let firstId: string | undefined
  let maxDeletedId: string | undefined
  let entriesAdded: number | undefined
  if (v2) {
    firstId = streamId(c)
    maxDeletedId = streamId(c)
    entriesAdded = signed64(readLenBig(c))
  }
  const groups: StreamGroup[] = []
  const ngroups = readCount(c, 4)
  for (let g = 0; g < ngroups; g++) groups.push(streamGroup(c, type))
  return {
    kind: 'stream',
    length,
    lastId,
    ...(firstId !== undefined ? { firstId, maxDeletedId, entriesAdded } : {}),
    groups,
  }
}

function streamGroup(c: BufferCursor, type: number): StreamGroup {
  const name = copy(readString(c))
  const lastId = streamId(c)
  // -1 (stored as 2^64-1) when the group's read counter is not valid.
  const entriesRead = type >= RDB_TYPE.STREAM_LISTPACKS_2 ? signed64(readLenBig(c)) : undefined
  const pending: StreamGroup['pending'] = []
  const npel = readCount(c, 25)
  for (let p = 0; p < npel; p++) {
    const id = rawStreamId(c)
    const deliveryTime = ms(c)
    pending.push({ id, deliveryTime, deliveryCount: readLen(c) })
  }
  const consumers: StreamConsumer[] = []
  const nconsumers = readCount(c, 10)
  for (let k = 0; k < nconsumers; k++) consumers.push(streamConsumer(c, type))
  return { name, lastId, ...(entriesRead !== undefined ? { entriesRead } : {}), pending, consumers }
}

function streamConsumer(c: BufferCursor, type: number): StreamConsumer {
  const name = copy(readString(c))
  const seenTime = ms(c)
  const activeTime = type >= RDB_TYPE.STREAM_LISTPACKS_3 ? ms(c) : undefined
  const pending: string[] = []
  const ncp = readCount(c, 16)
  for (let p = 0; p < ncp; p++) pending.push(rawStreamId(c))
  return { name, seenTime, ...(activeTime !== undefined ? { activeTime } : {}), pending }
}
