import { copyBytes } from '../../wire/bytes.js'
import { Crc64 } from '../crc64.js'
import { dialectFor, typeInfo, type TypeInfo } from './constants.js'
import { BufferCursor, moduleTypeName, RdbFormatError, readLenBig, walkValue } from './walker.js'

/**
 * DUMP payloads: `[type byte][value bytes][RDB version, 2 bytes LE][CRC-64 of all before, 8 bytes LE]`.
 * The value bytes are exactly what an RDB file holds after the key, so payloads and file entries
 * convert into each other by moving bytes, never by decoding values.
 */
export const DUMP_FOOTER = 10

interface DumpPayloadParts {
  rdbType: number
  version: number
  /** The value bytes are payload[1 .. valueEnd). */
  valueEnd: number
}

/** Split a payload into its parts, checking its shape (not its CRC). */
function dumpPayloadParts(payload: Buffer): DumpPayloadParts {
  if (payload.length < 1 + DUMP_FOOTER) {
    throw new RdbFormatError(
      `DUMP payload of ${payload.length} bytes`,
      0,
      'at least 11 bytes (type, value, version, CRC)',
    )
  }
  const valueEnd = payload.length - DUMP_FOOTER
  return { rdbType: payload[0], version: payload.readUInt16LE(valueEnd), valueEnd }
}

/** True when the payload's CRC-64 matches its bytes. */
export function dumpPayloadCrcOk(payload: Buffer): boolean {
  const end = payload.length - 8
  if (end < 3) return false
  return new Crc64().update(payload, 0, end).matchesLE(payload, end)
}

/** Build a payload from a type, value bytes and RDB version. */
export function buildDumpPayload(rdbType: number, value: Buffer, version: number): Buffer {
  const out = Buffer.allocUnsafe(1 + value.length + DUMP_FOOTER)
  const crcAt = writeDumpPayloadBody(out, 0, rdbType, value, 0, value.length, version)
  new Crc64().update(out, 0, crcAt).writeLE(out, crcAt)
  return out
}

/**
 * Write a payload into `target` at `offset` straight from value bytes held elsewhere (an RDB
 * reader's buffer): type, value and version. Returns where the CRC-64 of target[offset..that) goes,
 * its 8 bytes left to the caller: writeCrc64sLE writes those of a batch of payloads at once.
 */
export function writeDumpPayloadBody(
  target: Buffer,
  offset: number,
  rdbType: number,
  source: Buffer,
  valueStart: number,
  valueEnd: number,
  version: number,
): number {
  target[offset] = rdbType
  const p = offset + 1 + copyBytes(source, valueStart, valueEnd, target, offset + 1)
  target[p] = version & 0xff
  target[p + 1] = version >> 8
  return p + 2
}

interface DumpPayloadInfo {
  rdbType: number
  version: number
  type: TypeInfo
  elements: number
  module?: string
  crcOk: boolean
}

/** Decode what a payload holds (type, encoding, element count) and check it end to end. */
export function describeDumpPayload(payload: Buffer): DumpPayloadInfo {
  const parts = dumpPayloadParts(payload)
  const dialect = dialectFor(parts.version)
  const type = typeInfo(parts.rdbType, dialect)
  const c = new BufferCursor(payload, 1, parts.valueEnd)
  c.what = 'the DUMP payload value'
  const elements = walkValue(c, parts.rdbType, dialect, true)
  if (!type) throw new RdbFormatError(`unknown value type ${parts.rdbType}`, 0, 'a known value type')
  if (c.pos !== parts.valueEnd) {
    throw new RdbFormatError(
      `value ends ${parts.valueEnd - c.pos} bytes before the footer`,
      c.pos,
      'the version and CRC footer',
    )
  }
  return {
    rdbType: parts.rdbType,
    version: parts.version,
    type,
    elements,
    ...(c.module ? { module: c.module } : {}),
    crcOk: dumpPayloadCrcOk(payload),
  }
}

/** What the first byte of a DUMP payload says: the key's type as TYPE names it, or why it cannot say. */
export type PayloadType =
  { known: true; type: string } | { known: false; rdbType: number; version: number; reason: string }

/**
 * The type TYPE would answer for a key, read from its DUMP payload's type byte (and, for module
 * values, the module id that follows it): any encoding of a type (listpack, quicklist, intset,
 * hashtable ...) names the same type. Type numbers above 21 are read per the payload's RDB version
 * (Redis CE and Valkey give them different meanings). Never throws: a payload too short or of a type
 * this code does not know says so.
 */
export function payloadType(payload: Buffer): PayloadType {
  if (payload.length < 1 + DUMP_FOOTER)
    return { known: false, rdbType: -1, version: 0, reason: `a DUMP payload of ${payload.length} bytes` }
  const rdbType = payload[0]
  const version = payload.readUInt16LE(payload.length - DUMP_FOOTER)
  const info = typeInfo(rdbType, dialectFor(version))
  if (!info)
    return {
      known: false,
      rdbType,
      version,
      reason: `RDB type ${rdbType} (RDB version ${version}), unknown to kvtop`,
    }
  if (info.kind !== 'module') return { known: true, type: info.kind }
  try {
    const c = new BufferCursor(payload, 1, payload.length - DUMP_FOOTER)
    return { known: true, type: moduleTypeName(readLenBig(c)).name }
  } catch {
    return { known: false, rdbType, version, reason: `a module value whose module id cannot be read` }
  }
}
