import { randomBytes } from 'node:crypto'
import { versionAtLeast, type Capabilities } from '../../connect/capabilities.js'
import { rdbVersionForServer, typeInfo } from '../../data/rdb/constants.js'
import { restoreLabel } from '../../data/rdb/versions.js'
import { UsageError } from '../../errors.js'
import type { RebuildOptions } from './restore-encode.js'
import type { FileSummary } from './restore-file.js'
import type { RestoreContext, RestoreMode } from './restore-options.js'

/** How the values of a file are written to a target: RESTOREd with a version label, or rebuilt. */
export interface Encodings {
  engine: string
  /** The RDB version the target reads. */
  targetVersion: number
  /** RDB types RESTOREd, with the version label their payloads carry; other types are rebuilt with commands. */
  labels: Map<number, number>
  /** Values relabelled with the target's older RDB version. */
  relabelled: number
  rebuildOptions: RebuildOptions
}

/** The target as the choice sees it. */
interface TargetFacts {
  caps: Capabilities | undefined
  engine: string
  targetVersion: number
  mode: RestoreMode
  /** Every key rebuilt with commands (--mode logical, or auto with RESTORE refused). */
  allLogical: boolean
  cluster: boolean
}

/**
 * Which RDB types are RESTOREd (with the version label the target reads) and which are rebuilt with
 * commands: what the target cannot read, or everything with --mode logical or a target refusing
 * RESTORE. Refused when --mode dump meets a value the target cannot read, or a module value cannot
 * be restored at all.
 */
export function chooseEncodings(
  summary: FileSummary,
  caps: Capabilities | undefined,
  mode: RestoreMode,
  cluster: boolean,
  context: RestoreContext,
): Encodings {
  const engine = caps?.engine ?? 'redis'
  const refused = new Set(caps?.refused ?? [])
  const allLogical = mode === 'logical' || (mode === 'auto' && refused.has('restore'))
  if (allLogical && mode === 'auto')
    context.warn('the target refuses RESTORE for this user: every key is rebuilt with commands (--mode auto)')
  const targetVersion = caps ? rdbVersionForServer(engine, caps.version) : summary.header.version
  const facts: TargetFacts = { caps, engine, targetVersion, mode, allLogical, cluster }
  const { labels, rebuild } = sortTypes(summary, facts)
  const relabelled = countRelabelled(summary, labels)
  if (relabelled)
    context.warn(
      `${relabelled} values are labelled RDB ${targetVersion} for the target (their encodings predate it)`,
    )
  announceRebuild(summary, facts, rebuild, context)
  const rebuildOptions: RebuildOptions = {
    dialect: summary.header.dialect,
    legacyStreams: engine === 'redis' && caps !== undefined && !versionAtLeast(caps.version, '7.0.0'),
    tempSuffix: `__kvtop_restore_${randomBytes(6).toString('hex')}`,
    cluster,
  }
  return { engine, targetVersion, labels, relabelled, rebuildOptions }
}

/** Each type of the file: its RESTORE label, or rebuilt (with its key count); refused types throw. */
function sortTypes(
  summary: FileSummary,
  t: TargetFacts,
): { labels: Map<number, number>; rebuild: Map<number, number> } {
  const { version, dialect } = summary.header
  const labels = new Map<number, number>()
  const rebuild = new Map<number, number>()
  const unreadable: string[] = []
  const modules: string[] = []
  for (const [type, n] of summary.types) {
    const label = t.allLogical ? undefined : restoreLabel(type, version, dialect, t.targetVersion)
    const info = typeInfo(type, dialect)
    if (label !== undefined) labels.set(type, label)
    else if (t.mode === 'dump') unreadable.push(`type ${type} (${n} keys)`)
    else if (!info || info.kind === 'module') modules.push(`type ${type} (${n} keys)`)
    else rebuild.set(type, n)
  }
  const server = `the target (${t.engine} ${t.caps?.version}, RDB ${t.targetVersion})`
  if (unreadable.length) {
    throw new UsageError(
      `${server} cannot read values of ${unreadable.join(', ')} from this RDB ${version} file: nothing was restored`,
      {
        code: 'version',
        hint: 'Restore into a server of the version that wrote the file, or newer; or leave out --mode dump: --mode auto (the default) rebuilds those values with commands.',
      },
    )
  }
  if (modules.length) {
    throw new UsageError(
      `${t.allLogical ? 'module values cannot be rebuilt with commands' : `${server} cannot read`} (${modules.join(', ')}) from this RDB ${version} file: nothing was restored`,
      {
        code: 'version',
        hint: 'Module values are restored with RESTORE only: restore into a server with the module that can read the file (--mode dump).',
      },
    )
  }
  return { labels, rebuild }
}

function countRelabelled(summary: FileSummary, labels: Map<number, number>): number {
  let relabelled = 0
  for (const [type, label] of labels)
    if (label !== summary.header.version) relabelled += summary.types.get(type) ?? 0
  return relabelled
}

/** Says which keys are rebuilt with commands, and why (a warning in auto mode, a phase always). */
function announceRebuild(
  summary: FileSummary,
  t: TargetFacts,
  rebuild: Map<number, number>,
  { emit, warn }: RestoreContext,
): void {
  const { version, dialect } = summary.header
  const toRebuild = [...rebuild.values()].reduce((a, n) => a + n, 0)
  if (!toRebuild) return
  if (!t.allLogical) {
    const kinds = [...rebuild]
      .map(([type, n]) => `${n} ${typeInfo(type, dialect)?.kind} (${typeInfo(type, dialect)?.encoding})`)
      .join(', ')
    warn(
      `${toRebuild} keys are rebuilt with commands (--mode auto): the target (${t.engine} ${t.caps?.version}) reads RDB ${t.targetVersion} and cannot RESTORE their RDB ${version} encodings: ${kinds}`,
    )
  }
  emit({
    type: 'phase',
    phase: 'mode',
    detail: t.allLogical
      ? `${t.mode === 'logical' ? '--mode logical' : '--mode auto'}: every key rebuilt with commands`
      : `--mode ${t.mode}: RESTORE for ${summary.keys - toRebuild} keys, commands for ${toRebuild}`,
  })
}
