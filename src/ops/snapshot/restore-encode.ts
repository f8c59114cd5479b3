import type { RdbDialect } from '../../data/rdb/constants.js'
import type { RdbEntry } from '../../data/rdb/reader.js'
import { writeRestoreCommand } from '../../data/rdb/restore-command.js'
import { decodeForRebuild, rebuildTransaction, sameSlotKey } from '../../data/rdb/to-commands.js'
import type { RespError } from '../../wire/reply-parser.js'
import type { CommandBatch } from '../../wire/routed-pipeline.js'
import { errorMessage } from '../../errors.js'

/** A key rebuilt with commands: its MULTI ... EXEC block. */
interface RebuildBlockState {
  /** File offset of the key's entry. */
  offset: number
  /** Refusals of queued commands (the EXEC that follows is refused as a whole). */
  queueErrors: RespError[]
  existedAt?: number
  existedWhen?: 0 | 1
  /** The key's expire time (ms since the epoch), if it has one. */
  expireAt?: number
}

/** The tag of a command of a rebuild block; `exec` on its EXEC. */
export interface BlockTag {
  block: RebuildBlockState
  exec: boolean
}

/**
 * A command's tag: the file offset of its entry (to name the key in errors), -1 for SELECT, -2 for
 * DEL; a BlockTag for the commands of a key rebuilt with commands.
 */
export type Tag = number | BlockTag

/** DEL key, for a key that expired in the file but may still exist on the target (tag -2). */
export function encodeDel(batch: CommandBatch<Tag>, e: RdbEntry): void {
  batch.begin()
  batch.header(0x2a, 2)
  batch.text('DEL')
  if (e.keyIsPlain) batch.bulk(e.buf, e.keyStart, e.keyEnd)
  else batch.bulk(e.key)
  batch.end(-2)
}

/** How keys are rebuilt with commands (see rebuildTransaction). */
export interface RebuildOptions {
  dialect: RdbDialect
  legacyStreams: boolean
  tempSuffix: string
  cluster: boolean
}

/**
 * A key rebuilt with commands, as one MULTI ... EXEC block (see rebuildTransaction): without
 * `replace` it is built under a temporary key on its slot and moved with RENAMENX, so that a key
 * created meanwhile is left alone and counted, as RESTORE's BUSYKEY. Returns why the key cannot be
 * sent (a value that cannot be decoded), or undefined.
 */
export function encodeRebuild(
  batch: CommandBatch<Tag>,
  e: RdbEntry,
  replace: boolean,
  o: RebuildOptions,
): string | undefined {
  const key = Buffer.from(e.key)
  let tx
  try {
    const value = decodeForRebuild(e.rdbType, e.value, o.dialect)
    const tempKey = replace
      ? undefined
      : (sameSlotKey(key, o.tempSuffix) ?? (o.cluster ? undefined : Buffer.from(o.tempSuffix)))
    tx = rebuildTransaction(key, value, e.expireAt, { replace, tempKey, legacyStreams: o.legacyStreams })
  } catch (err) {
    return `cannot rebuild the value with commands: ${errorMessage(err)}`
  }
  const block: RebuildBlockState = {
    offset: e.offset,
    queueErrors: [],
    ...(e.expireAt !== undefined ? { expireAt: e.expireAt } : {}),
    ...(tx.existedAt !== undefined ? { existedAt: tx.existedAt, existedWhen: tx.existedWhen } : {}),
  }
  const last = tx.commands.length - 1
  tx.commands.forEach((args, i) => {
    batch.begin()
    batch.header(0x2a, args.length)
    for (const a of args) batch.bulk(a)
    batch.end({ block, exec: i === last })
  })
  return undefined
}

/** RESTORE key ttl payload [ABSTTL] [REPLACE] [IDLETIME s] [FREQ f], encoded in place. */
export function encodeRestore(batch: CommandBatch<Tag>, e: RdbEntry, label: number, replace: boolean): void {
  batch.begin()
  writeRestoreCommand(batch, e, label, { replace, lruLfu: true })
  batch.end(e.offset)
}
