import { buildDumpPayload } from '../../data/rdb/dump.js'
import { RdbEntry, type RdbHeader } from '../../data/rdb/reader.js'
import { typeInfo } from '../../data/rdb/constants.js'
import { restoreLabel } from '../../data/rdb/versions.js'
import { decodeForRebuild, rebuildTransaction } from '../../data/rdb/to-commands.js'
import type { RdbTarget } from './rdb-target.js'
import type { ReplayItem } from './sources.js'

/**
 * The RDB version to label an entry's RESTORE payload with for `target`, or 'rebuild' when the
 * target cannot read the value's encoding (it is rebuilt with commands). Module values go as labelled.
 */
export function restoreLabelFor(rec: RdbEntry, header: RdbHeader, target?: RdbTarget): number | 'rebuild' {
  const version = header.version
  if (!target || target.version >= version) return version
  const fits = restoreLabel(rec.rdbType, version, header.dialect, target.version)
  if (fits !== undefined) return fits
  return typeInfo(rec.rdbType, header.dialect)?.kind === 'module' ? version : 'rebuild'
}

const RESTORE = Buffer.from('RESTORE')
const REPLACE = Buffer.from('REPLACE')
const ABSTTL = Buffer.from('ABSTTL')
const NO_TTL = Buffer.from('0')

/**
 * RESTORE commands (absolute TTL) for an RDB's entries, with the db each belongs to; for a target
 * that cannot read an entry's encoding, the MULTI ... EXEC block that rebuilds it with commands.
 */
export function* rdbItems(
  records: Iterable<unknown>,
  file: string,
  header: RdbHeader,
  keysOnly = false,
  target?: RdbTarget,
): Generator<ReplayItem> {
  for (const rec of records) {
    if (!(rec instanceof RdbEntry)) continue
    if (keysOnly) {
      yield { args: [RESTORE, rec.key], file, offset: rec.offset, size: rec.size, db: rec.db }
      continue
    }
    const label = restoreLabelFor(rec, header, target)
    if (label === 'rebuild') {
      // Sent as a block: all of the key or none of it, replacing what the target holds (as RESTORE
      // ... REPLACE would).
      const value = decodeForRebuild(rec.rdbType, rec.value, header.dialect)
      const tx = rebuildTransaction(Buffer.from(rec.key), value, rec.expireAt, {
        replace: true,
        legacyStreams: target!.legacyStreams,
      })
      target!.onRebuilt?.(file, header)
      for (let i = 0; i < tx.commands.length; i++) {
        yield {
          args: tx.commands[i],
          file,
          offset: rec.offset,
          size: i === 0 ? rec.size : 0,
          db: rec.db,
          ...(i > 0 ? { continues: true } : {}),
        }
      }
      continue
    }
    const payload = buildDumpPayload(rec.rdbType, rec.value, label)
    const args = [
      RESTORE,
      Buffer.from(rec.key),
      rec.expireAt === undefined ? NO_TTL : Buffer.from(String(rec.expireAt)),
      payload,
      REPLACE,
    ]
    if (rec.expireAt !== undefined) args.push(ABSTTL)
    yield { args, file, offset: rec.offset, size: rec.size, db: rec.db }
  }
}
