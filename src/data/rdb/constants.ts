/**
 * RDB format constants (Redis rdb.h, Valkey rdb.h). Type numbers 22 and up mean different things
 * in Redis Community Edition (RDB 12+) and in Valkey (RDB 80+, "VALKEY" magic); `RdbDialect` tells
 * which table applies.
 */
export const RDB_TYPE = {
  STRING: 0,
  LIST: 1,
  SET: 2,
  ZSET: 3,
  HASH: 4,
  ZSET_2: 5,
  MODULE_PRE_GA: 6,
  MODULE_2: 7,
  HASH_ZIPMAP: 9,
  LIST_ZIPLIST: 10,
  SET_INTSET: 11,
  ZSET_ZIPLIST: 12,
  HASH_ZIPLIST: 13,
  LIST_QUICKLIST: 14,
  STREAM_LISTPACKS: 15,
  HASH_LISTPACK: 16,
  ZSET_LISTPACK: 17,
  LIST_QUICKLIST_2: 18,
  STREAM_LISTPACKS_2: 19,
  SET_LISTPACK: 20,
  STREAM_LISTPACKS_3: 21,
  // Redis Community Edition 7.4+ (hash field expiration)
  HASH_METADATA_PRE_GA: 22,
  HASH_LISTPACK_EX_PRE_GA: 23,
  HASH_METADATA: 24,
  HASH_LISTPACK_EX: 25,
  // Valkey 9.0+ (RDB 80+)
  VALKEY_HASH_2: 22,
} as const

export const RDB_OPCODE = {
  /** Valkey: slot import state (9.0). */
  SLOT_IMPORT: 243,
  SLOT_INFO: 244,
  FUNCTION2: 245,
  FUNCTION_PRE_GA: 246,
  MODULE_AUX: 247,
  IDLE: 248,
  FREQ: 249,
  AUX: 250,
  RESIZEDB: 251,
  EXPIRETIME_MS: 252,
  EXPIRETIME: 253,
  SELECTDB: 254,
  EOF: 255,
} as const

export const RDB_MODULE_OPCODE = { EOF: 0, SINT: 1, UINT: 2, FLOAT: 3, DOUBLE: 4, STRING: 5 } as const

export const RDB_ENC = { INT8: 0, INT16: 1, INT32: 2, LZF: 3 } as const

/** Which meaning type numbers above 21 have: none (RDB <= 11), Redis CE (12..79), Valkey (80+). */
export type RdbDialect = 'oss' | 'redis-ce' | 'valkey'

export function dialectFor(version: number): RdbDialect {
  if (version >= 80) return 'valkey'
  if (version >= 12) return 'redis-ce'
  return 'oss'
}

/** The logical data type of an RDB type number. */
export type ValueKind = 'string' | 'list' | 'set' | 'zset' | 'hash' | 'stream' | 'module'

export interface TypeInfo {
  kind: ValueKind
  /** The encoding as redis-check-rdb / OBJECT ENCODING would name it. */
  encoding: string
}

const COMMON: Record<number, TypeInfo> = {
  0: { kind: 'string', encoding: 'string' },
  1: { kind: 'list', encoding: 'linkedlist' },
  2: { kind: 'set', encoding: 'hashtable' },
  3: { kind: 'zset', encoding: 'skiplist-v1' },
  4: { kind: 'hash', encoding: 'hashtable' },
  5: { kind: 'zset', encoding: 'skiplist' },
  6: { kind: 'module', encoding: 'module-pre-ga' },
  7: { kind: 'module', encoding: 'module' },
  9: { kind: 'hash', encoding: 'zipmap' },
  10: { kind: 'list', encoding: 'ziplist' },
  11: { kind: 'set', encoding: 'intset' },
  12: { kind: 'zset', encoding: 'ziplist' },
  13: { kind: 'hash', encoding: 'ziplist' },
  14: { kind: 'list', encoding: 'quicklist' },
  15: { kind: 'stream', encoding: 'listpacks' },
  16: { kind: 'hash', encoding: 'listpack' },
  17: { kind: 'zset', encoding: 'listpack' },
  18: { kind: 'list', encoding: 'quicklist-v2' },
  19: { kind: 'stream', encoding: 'listpacks-v2' },
  20: { kind: 'set', encoding: 'listpack' },
  21: { kind: 'stream', encoding: 'listpacks-v3' },
}

const REDIS_CE: Record<number, TypeInfo> = {
  22: { kind: 'hash', encoding: 'hashtable-ttl-pre-ga' },
  23: { kind: 'hash', encoding: 'listpack-ttl-pre-ga' },
  24: { kind: 'hash', encoding: 'hashtable-ttl' },
  25: { kind: 'hash', encoding: 'listpack-ttl' },
}

const VALKEY: Record<number, TypeInfo> = {
  22: { kind: 'hash', encoding: 'hashtable-ttl' },
}

export function typeInfo(type: number, dialect: RdbDialect): TypeInfo | undefined {
  if (type <= 21) return COMMON[type]
  if (dialect === 'redis-ce') return REDIS_CE[type]
  if (dialect === 'valkey') return VALKEY[type]
  return undefined
}

/** The newest RDB version this code reads. Valkey's are accepted up to 81. */
export const MAX_RDB_VERSION = 81

/**
 * The RDB version a server writes (and its DUMP payloads carry), from its engine and version. Used
 * only as a first guess for a file header: the payloads themselves are authoritative.
 */
export function rdbVersionForServer(engine: string, version: string): number {
  const [major = 0, minor = 0] = version.split('.').map((n) => Number(n) || 0)
  const v = major * 100 + minor
  if (engine === 'valkey') {
    if (v >= 902) return 81
    if (v >= 900) return 80
    return 11
  }
  if (v >= 802) return 13
  if (v >= 704) return 12
  if (v >= 702) return 11
  if (v >= 700) return 10
  if (v >= 500) return 9
  if (v >= 400) return 8
  if (v >= 302) return 7
  return 6
}
