import { RDB_OPCODE } from './constants.js'
import type { ChecksumStatus, RdbEof, RdbRecord } from './records.js'
import type { StreamCursor } from './stream-cursor.js'
import { moduleTypeName, readLen, readLenBig, readString, skipModuleBody, type RdbCursor } from './walker.js'

// The records an opcode introduces (everything in an RDB file but the header and the keys), one
// reader per family. Each starts after the opcode byte; `offset` is the file offset of that byte.

/** EOF, and after it (RDB 5+) the CRC-64 of everything before it, compared with the one computed. */
export function readEof(c: StreamCursor, version: number, offset: number): RdbEof {
  if (version < 5) return { kind: 'eof', offset, checksum: 'absent', size: c.base + c.pos }
  c.what = 'the CRC-64 checksum'
  if (c.pos + 8 > c.end) c.short(8)
  const stored = c.buf.readBigUInt64LE(c.pos)
  const computed = stored === 0n ? undefined : c.checksum()
  let checksum: ChecksumStatus
  if (stored === 0n) checksum = 'disabled'
  else if (computed === undefined) checksum = 'not-verified'
  else checksum = computed === stored ? 'ok' : 'mismatch'
  c.pos += 8
  return {
    kind: 'eof',
    offset,
    checksum,
    ...(stored !== 0n ? { storedChecksum: hex64(stored) } : {}),
    ...(computed !== undefined ? { computedChecksum: hex64(computed) } : {}),
    size: c.base + c.pos,
  }
}

function hex64(n: bigint): string {
  return n.toString(16).padStart(16, '0')
}

/** The db number after SELECTDB. */
export function readSelectDb(c: RdbCursor): number {
  c.what = 'a SELECTDB number'
  return readLen(c)
}

/** RESIZEDB: the sizes of the current db, a hint for whoever loads the file. */
export function readResizeDb(c: RdbCursor, db: number, offset: number): RdbRecord {
  c.what = 'RESIZEDB sizes'
  const keys = readLen(c)
  const expires = readLen(c)
  return { kind: 'resizedb', db, keys, expires, offset }
}

export function readAux(c: RdbCursor, offset: number): RdbRecord {
  c.what = 'an AUX field'
  const key = readString(c)
  const value = readString(c)
  return { kind: 'aux', key, value, offset }
}

/** SLOT_INFO (Redis 7.4+ cluster files): the keys of one slot. */
export function readSlotInfo(c: RdbCursor, offset: number): RdbRecord {
  c.what = 'a SLOT_INFO record'
  const slot = readLen(c)
  const keys = readLen(c)
  const expires = readLen(c)
  return { kind: 'slot-info', slot, keys, expires, offset }
}

/** FUNCTION2: one function library, its code as loaded by FUNCTION LOAD. */
export function readFunction(c: RdbCursor, offset: number): RdbRecord {
  c.what = 'a function library'
  const code = readString(c)
  return { kind: 'function', code, offset }
}

/** MODULE_AUX: a module's data outside keys; its body kept as it is, to be written back as such. */
export function readModuleAux(c: RdbCursor, offset: number): RdbRecord {
  c.what = 'module AUX data'
  const id = readLenBig(c)
  const whenOpAt = c.pos
  const whenOp = readLen(c)
  if (whenOp !== 2) c.fail(`module AUX 'when' opcode ${whenOp}`, 'opcode 2 (unsigned integer)', whenOpAt)
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

/** An opcode kvtop does not read: the pre-release function format, Valkey's slot import state, or garbage. */
export function unsupportedOpcode(c: RdbCursor, type: number, start: number): never {
  if (type === RDB_OPCODE.FUNCTION_PRE_GA) {
    return c.fail(
      'function data in the Redis 7.0 release-candidate format (opcode 246)',
      'a function library of the released format (opcode 245)',
      start,
    )
  }
  return c.fail(
    `unsupported opcode ${type}${type === RDB_OPCODE.SLOT_IMPORT ? ' (Valkey slot import state)' : ''}`,
    'a value type or a known opcode',
    start,
  )
}
