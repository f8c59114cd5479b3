import type { RdbDialect, TypeInfo } from './constants.js'

// The records an RDB file is made of, as the reader yields them.

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

export interface RdbEof {
  kind: 'eof'
  offset: number
  checksum: ChecksumStatus
  /** Stored and computed CRC-64 (hex), when there is a stored one. */
  storedChecksum?: string
  computedChecksum?: string
  /** Total bytes of the RDB, including the checksum. */
  size: number
}
