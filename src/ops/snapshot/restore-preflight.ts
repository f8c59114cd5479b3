import type { ConnectedTarget } from '../../connect/target.js'
import { openRawNode } from '../../wire/node.js'
import { UsageError } from '../../errors.js'
import type { EventSink } from '../events.js'
import { summarize, type FileSummary } from './restore-file.js'
import { startFileCheck, type FileCheck } from './restore-file-check.js'
import { chooseEncodings, type Encodings } from './restore-encodings.js'
import { countExisting, startOccupancyCheck } from './restore-existing.js'
import type { RestoreContext, RestoreMode, RestoreOptions } from './restore-options.js'

/** What the restore writes, and how: decided before anything is written. */
export interface RestorePlan extends Encodings {
  path: string
  summary: FileSummary
  mode: RestoreMode
  cluster: boolean
  /** File db -> target db. */
  targetDb: (db: number) => number
}

/**
 * Every check that may refuse a restore, with nothing written: the file (structure and CRC-64),
 * the target's databases and RDB version against the file's, RESTORE refused for the user, and
 * keys of the file that exist on the target (refused unless --replace; confirmed with it).
 * What the target is asked that needs nothing from the file (which databases hold keys) is asked
 * while the file is being read; nothing is written before the file's verdict.
 */
export async function preflightRestore(
  target: ConnectedTarget,
  path: string,
  options: RestoreOptions,
  context: RestoreContext,
): Promise<RestorePlan> {
  const fileCheck = options.fileCheck ?? startFileCheck(path, context.emit)
  await fileCheck.size
  const mode = options.mode ?? 'auto'
  refuseDumpWithoutRestore(target, mode)
  // With --replace --yes existing keys are neither counted nor refused: nothing to ask.
  const askExisting = !options.replace || options.confirmReplace !== undefined
  const occupancy = askExisting ? startOccupancyCheck(target) : undefined
  const cluster = target.topology.mode === 'cluster'

  // 1. The file, verified end to end.
  const summary = await verifyFile(path, fileCheck, options, context)

  // 2. Where each database goes.
  const dbMap = options.dbMap ?? new Map<number, number>()
  const targetDb = (db: number) => dbMap.get(db) ?? db
  const merged = mapDatabases(summary, dbMap, targetDb, cluster, options, context.warn)

  // 3. Can the target read these values?
  const encodings = chooseEncodings(summary, target.capabilities, mode, cluster, context)

  // Every target database must exist (a standalone has 16 by default).
  if (!cluster) await openDatabases(target, merged.keys())

  // 4. Existing keys: refused unless --replace, before anything is written.
  const plan: RestorePlan = { path, summary, mode, cluster, targetDb, ...encodings }
  if (occupancy) await checkExisting(target, plan, merged, options, context.emit, await occupancy)
  return plan
}

/** --mode dump writes with RESTORE only: refused at once when the user may not RESTORE. */
function refuseDumpWithoutRestore(target: ConnectedTarget, mode: RestoreMode): void {
  if (mode !== 'dump' || !target.capabilities?.refused.includes('restore')) return
  throw new UsageError('the target refuses RESTORE for this user', {
    code: 'refused',
    hint: '--mode dump writes keys with RESTORE: grant +restore to the ACL user, or use --mode auto or logical (ordinary write commands).',
  })
}

/** The file's summary; refused when its CRC-64 does not match (unless --ignore-checksum). */
async function verifyFile(
  path: string,
  fileCheck: FileCheck,
  options: RestoreOptions,
  { emit, warn }: RestoreContext,
): Promise<FileSummary> {
  let summary = await fileCheck.summary
  if (summary.checksum !== 'ok' && (summary.checksum !== 'mismatch' || options.ignoreChecksum))
    summary = await summarize(path, emit, await fileCheck.size, true)
  if (summary.checksum === 'mismatch' && !options.ignoreChecksum) {
    throw new UsageError(
      `${path}: the CRC-64 checksum does not match (stored ${summary.stored}, computed ${summary.computed}): nothing was restored`,
      {
        code: 'checksum',
        hint: 'The file is damaged. To restore what it holds anyway, pass --ignore-checksum.',
      },
    )
  }
  if (summary.checksum === 'mismatch')
    warn('the file fails its CRC-64 check; restoring anyway (--ignore-checksum)')
  if (summary.checksum === 'disabled')
    warn('the file carries no checksum (saved with rdbchecksum no): it could not be verified')
  if (summary.modules.length)
    warn(`module AUX data (${summary.modules.join(', ')}) cannot be restored with commands and was skipped`)
  return summary
}

/** Target db -> the file dbs that go to it; refused when a cluster would need a db other than 0. */
function mapDatabases(
  summary: FileSummary,
  dbMap: Map<number, number>,
  targetDb: (db: number) => number,
  cluster: boolean,
  options: RestoreOptions,
  warn: (message: string) => void,
): Map<number, number[]> {
  for (const from of dbMap.keys()) {
    if (!summary.dbKeys.has(from))
      warn(`--db-map ${from}:${dbMap.get(from)}: the file has no keys in db ${from}`)
  }
  if (cluster) {
    const bad = [...summary.dbKeys].filter(([db]) => targetDb(db) !== 0)
    if (bad.length) {
      throw new UsageError(
        `the target is a cluster and holds only db 0, but the file has keys in ${bad.map(([db, n]) => `db ${db} (${n} keys)`).join(', ')}: nothing was restored`,
        { code: 'db-refused', hint: `Map them to db 0: ${bad.map(([db]) => `--db-map ${db}:0`).join(' ')}` },
      )
    }
  }
  const merged = new Map<number, number[]>()
  for (const db of summary.dbKeys.keys()) merged.set(targetDb(db), [...(merged.get(targetDb(db)) ?? []), db])
  if (!options.replace) {
    for (const [to, froms] of merged) {
      if (froms.length > 1) {
        warn(
          `dbs ${froms.join(', ')} all go to db ${to}: a key present in more than one of them is refused as existing`,
        )
      }
    }
  }
  return merged
}

async function openDatabases(target: ConnectedTarget, dbs: Iterable<number>): Promise<void> {
  for (const db of dbs) {
    if (db === 0) continue
    const conn = await openRawNode(target.spec, target.primaries[0], { db, name: 'kvtop-restore' })
    conn.close()
  }
}

/** Keys of the file that exist on the target: refused unless --replace; with it, the user is asked first (when the command asks: not with --yes). */
async function checkExisting(
  target: ConnectedTarget,
  plan: RestorePlan,
  merged: Map<number, number[]>,
  options: RestoreOptions,
  emit: EventSink,
  occupied: Set<number> | undefined,
): Promise<void> {
  const { path, targetDb } = plan
  const keys = plan.summary.keys
  const existing = await countExisting(target, path, merged, targetDb, options, emit, occupied)
  if (!existing.count) return
  if (options.replace) return options.confirmReplace!(existing.count, keys)
  throw new UsageError(
    `${existing.count} of ${keys} keys already exist on the target (e.g. "${existing.example}"): nothing was restored`,
    { code: 'exists', hint: 'Pass --replace to overwrite them, or restore into an empty target.' },
  )
}
