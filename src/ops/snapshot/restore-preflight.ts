import { randomBytes } from 'node:crypto'
import type { Deployment } from '../../connect/deployment.js'
import { versionAtLeast } from '../../connect/capabilities.js'
import { rdbVersionForServer, typeInfo } from '../../data/rdb/constants.js'
import { restoreLabel } from '../../data/rdb/versions.js'
import { openRawNode } from '../../wire/node.js'
import { UsageError } from '../../errors.js'
import type { EventSink } from '../events.js'
import { summarize, type FileSummary } from './restore-file.js'
import { startFileCheck, type FileCheck } from './restore-file-check.js'
import type { RebuildOptions } from './restore-encode.js'
import { countExisting } from './restore-existing.js'
import type { RestoreMode, RestoreOptions } from './restore-options.js'

/** What the restore writes, and how: decided before anything is written. */
export interface RestorePlan {
  path: string
  summary: FileSummary
  mode: RestoreMode
  cluster: boolean
  engine: string
  /** The RDB version the target reads. */
  targetVersion: number
  /** File db -> target db. */
  targetDb: (db: number) => number
  /** RDB types RESTOREd, with the version label their payloads carry; other types are rebuilt with commands. */
  labels: Map<number, number>
  /** Values relabelled with the target's older RDB version. */
  relabelled: number
  rebuildOptions: RebuildOptions
}

export interface RestoreContext {
  emit: EventSink
  warn: (message: string) => void
}

/**
 * Every check that may refuse a restore, with nothing written: the file (structure and CRC-64),
 * the target's databases and RDB version against the file's, RESTORE refused for the user, and
 * keys of the file that exist on the target (refused unless --replace; confirmed with it).
 */
export async function preflightRestore(
  deployment: Deployment,
  path: string,
  options: RestoreOptions,
  { emit, warn }: RestoreContext,
): Promise<RestorePlan> {
  const fileCheck = options.fileCheck ?? startFileCheck(path, emit)
  await fileCheck.size
  const caps = deployment.capabilities
  const cluster = deployment.topology.mode === 'cluster'
  const refused = new Set(caps?.refused ?? [])
  const mode = options.mode ?? 'auto'
  if (refused.has('restore') && mode === 'dump') {
    throw new UsageError('the target refuses RESTORE for this user', {
      code: 'refused',
      hint: '--mode dump writes keys with RESTORE: grant +restore to the ACL user, or use --mode auto or logical (ordinary write commands).',
    })
  }

  // 1. The file, verified end to end.
  const summary = await verifyFile(path, fileCheck, options, { emit, warn })

  // 2. Where each database goes.
  const dbMap = options.dbMap ?? new Map<number, number>()
  const targetDb = (db: number) => dbMap.get(db) ?? db
  const merged = mapDatabases(summary, dbMap, targetDb, cluster, options, warn)

  // 3. Can the target read these values?
  const encodings = chooseEncodings(summary, caps, mode, refused, cluster, { emit, warn })

  // Every target database must exist (a standalone has 16 by default).
  if (!cluster) await openDatabases(deployment, merged.keys())

  // 4. Existing keys: refused unless --replace, before anything is written.
  await checkExisting(deployment, path, summary.keys, merged, targetDb, options, emit)
  return { path, summary, mode, cluster, targetDb, ...encodings }
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

/**
 * Which RDB types are RESTOREd (with the version label the target reads) and which are rebuilt with
 * commands: what the target cannot read, or everything with --mode logical or a target refusing
 * RESTORE. Refused when --mode dump meets a value the target cannot read, or a module value cannot
 * be restored at all.
 */
function chooseEncodings(
  summary: FileSummary,
  caps: Deployment['capabilities'],
  mode: RestoreMode,
  refused: Set<string>,
  cluster: boolean,
  { emit, warn }: RestoreContext,
): Pick<RestorePlan, 'engine' | 'targetVersion' | 'labels' | 'relabelled' | 'rebuildOptions'> {
  const engine = caps?.engine ?? 'redis'
  const targetVersion = caps ? rdbVersionForServer(engine, caps.version) : summary.header.version
  const dialect = summary.header.dialect
  const allLogical = mode === 'logical' || (mode === 'auto' && refused.has('restore'))
  if (allLogical && mode === 'auto')
    warn('the target refuses RESTORE for this user: every key is rebuilt with commands (--mode auto)')
  const labels = new Map<number, number>()
  /** RDB types rebuilt with commands, with their key counts. */
  const rebuild = new Map<number, number>()
  const unreadable: string[] = []
  const modules: string[] = []
  for (const [type, n] of summary.types) {
    const label = allLogical
      ? undefined
      : restoreLabel(type, summary.header.version, summary.header.dialect, targetVersion)
    const info = typeInfo(type, dialect)
    if (label !== undefined) labels.set(type, label)
    else if (mode === 'dump') unreadable.push(`type ${type} (${n} keys)`)
    else if (!info || info.kind === 'module') modules.push(`type ${type} (${n} keys)`)
    else rebuild.set(type, n)
  }
  if (unreadable.length) {
    throw new UsageError(
      `the target (${engine} ${caps?.version}, RDB ${targetVersion}) cannot read values of ${unreadable.join(', ')} from this RDB ${summary.header.version} file: nothing was restored`,
      {
        code: 'version',
        hint: 'Restore into a server of the version that wrote the file, or newer; or leave out --mode dump: --mode auto (the default) rebuilds those values with commands.',
      },
    )
  }
  if (modules.length) {
    throw new UsageError(
      `${allLogical ? 'module values cannot be rebuilt with commands' : `the target (${engine} ${caps?.version}, RDB ${targetVersion}) cannot read`} (${modules.join(', ')}) from this RDB ${summary.header.version} file: nothing was restored`,
      {
        code: 'version',
        hint: 'Module values are restored with RESTORE only: restore into a server with the module that can read the file (--mode dump).',
      },
    )
  }
  let relabelled = 0
  for (const [type, label] of labels)
    if (label !== summary.header.version) relabelled += summary.types.get(type) ?? 0
  if (relabelled) {
    warn(`${relabelled} values are labelled RDB ${targetVersion} for the target (their encodings predate it)`)
  }
  const toRebuild = [...rebuild.values()].reduce((a, n) => a + n, 0)
  if (toRebuild && !allLogical) {
    const kinds = [...rebuild]
      .map(([type, n]) => `${n} ${typeInfo(type, dialect)?.kind} (${typeInfo(type, dialect)?.encoding})`)
      .join(', ')
    warn(
      `${toRebuild} keys are rebuilt with commands (--mode auto): the target (${engine} ${caps?.version}) reads RDB ${targetVersion} and cannot RESTORE their RDB ${summary.header.version} encodings: ${kinds}`,
    )
  }
  if (toRebuild)
    emit({
      type: 'phase',
      phase: 'mode',
      detail: allLogical
        ? `${mode === 'logical' ? '--mode logical' : '--mode auto'}: every key rebuilt with commands`
        : `--mode ${mode}: RESTORE for ${summary.keys - toRebuild} keys, commands for ${toRebuild}`,
    })
  const rebuildOptions: RebuildOptions = {
    dialect,
    legacyStreams: engine === 'redis' && caps !== undefined && !versionAtLeast(caps.version, '7.0.0'),
    tempSuffix: `__kvtop_restore_${randomBytes(6).toString('hex')}`,
    cluster,
  }

  return { engine, targetVersion, labels, relabelled, rebuildOptions }
}

async function openDatabases(deployment: Deployment, dbs: Iterable<number>): Promise<void> {
  for (const db of dbs) {
    if (db === 0) continue
    const conn = await openRawNode(deployment.spec, deployment.primaries[0], { db, name: 'kvtop-restore' })
    conn.close()
  }
}

/** Keys of the file that exist on the target: refused unless --replace; with it, the user is asked first (when the command asks: not with --yes). */
async function checkExisting(
  deployment: Deployment,
  path: string,
  keys: number,
  merged: Map<number, number[]>,
  targetDb: (db: number) => number,
  options: RestoreOptions,
  emit: EventSink,
): Promise<void> {
  if (options.replace && options.confirmReplace) {
    const existing = await countExisting(deployment, path, merged, targetDb, options, emit)
    if (existing.count) await options.confirmReplace(existing.count, keys)
  }
  if (!options.replace) {
    const existing = await countExisting(deployment, path, merged, targetDb, options, emit)
    if (existing.count) {
      throw new UsageError(
        `${existing.count} of ${keys} keys already exist on the target (e.g. "${existing.example}"): nothing was restored`,
        { code: 'exists', hint: 'Pass --replace to overwrite them, or restore into an empty target.' },
      )
    }
  }
}
