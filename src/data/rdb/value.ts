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

function decode(type: number, value: Buffer, dialect: RdbDialect): DecodedValue {
  const c = new BufferCursor(value)
  c.what = `a value of type ${type}`
  const copy = (b: Buffer) => Buffer.from(b)
  const kind: ValueKind | undefined = typeInfo(type, dialect)?.kind
  let out: DecodedValue
  switch (type) {
    case RDB_TYPE.STRING:
      out = { kind: 'string', value: copy(readString(c)) }
      break
    case RDB_TYPE.LIST:
    case RDB_TYPE.SET: {
      const n = readCount(c, 1)
      const items: Buffer[] = []
      for (let i = 0; i < n; i++) items.push(copy(readString(c)))
      out = type === RDB_TYPE.LIST ? { kind: 'list', items } : { kind: 'set', members: items }
      break
    }
    case RDB_TYPE.ZSET:
    case RDB_TYPE.ZSET_2: {
      const n = readCount(c, type === RDB_TYPE.ZSET ? 2 : 9)
      const entries: { member: Buffer; score: number }[] = []
      for (let i = 0; i < n; i++) {
        const member = copy(readString(c))
        let score: number
        if (type === RDB_TYPE.ZSET) score = legacyDouble(c)
        else {
          if (c.pos + 8 > c.end) c.short(8)
          score = c.buf.readDoubleLE(c.pos)
          c.pos += 8
        }
        entries.push({ member, score })
      }
      out = { kind: 'zset', entries }
      break
    }
    case RDB_TYPE.HASH: {
      const n = readCount(c, 2)
      const fields: { field: Buffer; value: Buffer }[] = []
      for (let i = 0; i < n; i++) fields.push({ field: copy(readString(c)), value: copy(readString(c)) })
      out = { kind: 'hash', fields }
      break
    }
    case RDB_TYPE.HASH_ZIPMAP:
      out = {
        kind: 'hash',
        fields: pairs(zipmapEntries(readString(c)), (field, value) => ({ field, value })),
      }
      break
    case RDB_TYPE.LIST_ZIPLIST:
      out = { kind: 'list', items: ziplistEntries(readString(c)) }
      break
    case RDB_TYPE.SET_INTSET:
      out = { kind: 'set', members: intsetEntries(readString(c)) }
      break
    case RDB_TYPE.SET_LISTPACK:
      out = { kind: 'set', members: listpackEntries(readString(c)) }
      break
    case RDB_TYPE.ZSET_ZIPLIST:
    case RDB_TYPE.ZSET_LISTPACK: {
      const items =
        type === RDB_TYPE.ZSET_ZIPLIST ? ziplistEntries(readString(c)) : listpackEntries(readString(c))
      out = { kind: 'zset', entries: pairs(items, (member, score) => ({ member, score: parseScore(score) })) }
      break
    }
    case RDB_TYPE.HASH_ZIPLIST:
    case RDB_TYPE.HASH_LISTPACK: {
      const items =
        type === RDB_TYPE.HASH_ZIPLIST ? ziplistEntries(readString(c)) : listpackEntries(readString(c))
      out = { kind: 'hash', fields: pairs(items, (field, value) => ({ field, value })) }
      break
    }
    case RDB_TYPE.LIST_QUICKLIST:
    case RDB_TYPE.LIST_QUICKLIST_2: {
      const nodes = readCount(c, type === RDB_TYPE.LIST_QUICKLIST_2 ? 2 : 1)
      const items: Buffer[] = []
      for (let i = 0; i < nodes; i++) {
        const containerAt = c.pos
        const container = type === RDB_TYPE.LIST_QUICKLIST_2 ? readLen(c) : 2
        if (container !== 1 && container !== 2)
          c.fail(`invalid quicklist container ${container}`, 'container 1 (plain) or 2 (packed)', containerAt)
        const blob = readString(c)
        if (container === 1) items.push(copy(blob))
        else
          for (const item of type === RDB_TYPE.LIST_QUICKLIST ? ziplistEntries(blob) : listpackEntries(blob))
            items.push(item)
      }
      out = { kind: 'list', items }
      break
    }
    case RDB_TYPE.STREAM_LISTPACKS:
    case RDB_TYPE.STREAM_LISTPACKS_2:
    case RDB_TYPE.STREAM_LISTPACKS_3: {
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
      const groups: Extract<DecodedValue, { kind: 'stream' }>['groups'] = []
      const ngroups = readCount(c, 4)
      for (let g = 0; g < ngroups; g++) {
        const name = copy(readString(c))
        const groupLastId = streamId(c)
        // -1 (stored as 2^64-1) when the group's read counter is not valid.
        const entriesRead = v2 ? signed64(readLenBig(c)) : undefined
        const pending: { id: string; deliveryTime: number; deliveryCount: number }[] = []
        const npel = readCount(c, 25)
        for (let p = 0; p < npel; p++) {
          const id = rawStreamId(c)
          const deliveryTime = ms(c)
          pending.push({ id, deliveryTime, deliveryCount: readLen(c) })
        }
        const consumers: Extract<DecodedValue, { kind: 'stream' }>['groups'][number]['consumers'] = []
        const nconsumers = readCount(c, 10)
        for (let k = 0; k < nconsumers; k++) {
          const cname = copy(readString(c))
          const seenTime = ms(c)
          const activeTime = type >= RDB_TYPE.STREAM_LISTPACKS_3 ? ms(c) : undefined
          const cpending: string[] = []
          const ncp = readCount(c, 16)
          for (let p = 0; p < ncp; p++) cpending.push(rawStreamId(c))
          consumers.push({
            name: cname,
            seenTime,
            ...(activeTime !== undefined ? { activeTime } : {}),
            pending: cpending,
          })
        }
        groups.push({
          name,
          lastId: groupLastId,
          ...(entriesRead !== undefined ? { entriesRead } : {}),
          pending,
          consumers,
        })
      }
      out = {
        kind: 'stream',
        length,
        lastId,
        ...(firstId !== undefined ? { firstId, maxDeletedId, entriesAdded } : {}),
        groups,
      }
      break
    }
    case RDB_TYPE.MODULE_2: {
      out = { kind: 'module', module: moduleTypeName(readLenBig(c)).name }
      c.pos = c.end
      break
    }
    default:
      if (dialect === 'valkey' && type === RDB_TYPE.VALKEY_HASH_2) {
        const n = readCount(c, 10)
        const fields: { field: Buffer; value: Buffer; expireAt?: number }[] = []
        for (let i = 0; i < n; i++) {
          const field = copy(readString(c))
          const v = copy(readString(c))
          const expireAt = ms(c)
          fields.push({ field, value: v, ...(expireAt >= 0 ? { expireAt } : {}) })
        }
        out = { kind: 'hash', fields }
        break
      }
      throw new RdbFormatError(
        `cannot decode values of type ${type}${kind ? ` (${kind})` : ''}`,
        0,
        'a type kvtop decodes',
      )
  }
  if (c.pos !== c.end)
    throw new RdbFormatError(`${c.end - c.pos} bytes left after the value`, c.pos, 'the end of the value')
  return out
}
