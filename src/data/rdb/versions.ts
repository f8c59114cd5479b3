import { RDB_TYPE, dialectFor, type RdbDialect } from './constants.js'

/**
 * The RDB version that introduced each value type. A server accepts a DUMP payload whose version
 * is not newer than its own; since a type's byte format never changes once introduced (new formats
 * get new type numbers), a value of an old type from a newer file can be labelled with the older
 * version a target understands.
 */
function typeIntroducedIn(type: number, dialect: RdbDialect): number | undefined {
  switch (type) {
    case RDB_TYPE.STRING:
    case RDB_TYPE.LIST:
    case RDB_TYPE.SET:
    case RDB_TYPE.ZSET:
    case RDB_TYPE.HASH:
      return 1
    case RDB_TYPE.HASH_ZIPMAP:
    case RDB_TYPE.LIST_ZIPLIST:
    case RDB_TYPE.SET_INTSET:
    case RDB_TYPE.ZSET_ZIPLIST:
      return 2
    case RDB_TYPE.HASH_ZIPLIST:
      return 2
    case RDB_TYPE.LIST_QUICKLIST:
      return 7
    case RDB_TYPE.ZSET_2:
    case RDB_TYPE.MODULE_PRE_GA:
    case RDB_TYPE.MODULE_2:
      return 8
    case RDB_TYPE.STREAM_LISTPACKS:
      return 9
    case RDB_TYPE.HASH_LISTPACK:
    case RDB_TYPE.ZSET_LISTPACK:
    case RDB_TYPE.LIST_QUICKLIST_2:
    case RDB_TYPE.STREAM_LISTPACKS_2:
      return 10
    case RDB_TYPE.SET_LISTPACK:
    case RDB_TYPE.STREAM_LISTPACKS_3:
      return 11
  }
  if (dialect === 'redis-ce' && type >= 22 && type <= 25) return 12
  if (dialect === 'valkey' && type === RDB_TYPE.VALKEY_HASH_2) return 80
  return undefined
}

/**
 * The version label a value of `type` from a file of `fileVersion` must carry for a server that
 * writes RDB `targetVersion`, or undefined when that server cannot take it at all. Types 22+ mean
 * different things in Redis CE and Valkey, so they never cross between the two; Valkey refuses the
 * Redis CE version range (12-79), so old types from such files are labelled 11 for it.
 */
export function restoreLabel(
  type: number,
  fileVersion: number,
  fileDialect: RdbDialect,
  targetVersion: number,
): number | undefined {
  const introduced = typeIntroducedIn(type, fileDialect)
  if (introduced === undefined) return undefined
  const targetDialect = dialectFor(targetVersion)
  if (type >= 22 && fileDialect !== targetDialect) return undefined
  if (introduced > targetVersion) return undefined
  let label = Math.min(fileVersion, targetVersion)
  if (targetDialect === 'valkey' && label >= 12 && label < 80) label = 11
  return label
}
