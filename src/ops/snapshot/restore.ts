import type { ConnectedTarget } from '../../connect/target.js'
import { restoreLabel } from '../../data/rdb/versions.js'
import { RdbReader } from '../../data/rdb/reader.js'
import { OperationError, UsageError } from '../../errors.js'
import { encodeRestore, type Tag } from './restore-encode.js'
import { restoreFunctions } from './restore-functions.js'
import { KeyWriter } from './restore-keys.js'
import type { RestoreContext, RestoreOptions, RestoreReport } from './restore-options.js'
import { preflightRestore, type RestorePlan } from './restore-preflight.js'

export { RESTORE_MODES } from './restore-options.js'
export type { RestoreMode, RestoreOptions, RestoreReport } from './restore-options.js'

/**
 * `kvtop snapshot restore`: RESTORE every key of an RDB file into a standalone server or a cluster,
 * pipelined per node. A preflight decides everything before anything is written (the file verified
 * end to end, structure and CRC-64; existing keys refused unless `replace`; databases a cluster
 * cannot hold refused unless mapped; how each type is written); then the plan is carried out:
 * function libraries, then keys.
 */
export async function restoreSnapshot(
  target: ConnectedTarget,
  path: string,
  options: RestoreOptions = {},
): Promise<RestoreReport> {
  const started = performance.now()
  const warnings: string[] = []
  const context = restoreContext(options, warnings)
  const plan = await preflightRestore(target, path, options, context)
  const functions = await writeFunctions(target, plan, options, context)
  const report = emptyReport(target, plan, functions, warnings)
  await new KeyWriter(target, plan, options, report, context).run()
  report.seconds = (performance.now() - started) / 1000
  report.keysPerSecond = report.seconds > 0 ? report.restored / report.seconds : 0
  refuseIncomplete(report, options)
  return report
}

/** The operation's events and warnings (kept for the report). */
function restoreContext(options: RestoreOptions, warnings: string[]): RestoreContext {
  const emit = options.onEvent ?? (() => {})
  return {
    emit,
    warn: (message: string) => {
      warnings.push(message)
      emit({ type: 'warning', message })
    },
  }
}

/** The file's function libraries (FUNCTION RESTORE), labelled for the target: how many were restored. */
async function writeFunctions(
  target: ConnectedTarget,
  plan: RestorePlan,
  options: RestoreOptions,
  context: RestoreContext,
): Promise<number> {
  const { summary } = plan
  if (!summary.functions.length) return 0
  const label =
    restoreLabel(0, summary.header.version, summary.header.dialect, plan.targetVersion) ?? plan.targetVersion
  return restoreFunctions(target, summary.functions, label, options.replace, context.warn)
}

/** A restore that did not write every key is an error: interrupted, keys refused, or keys created meanwhile. */
function refuseIncomplete(report: RestoreReport, options: RestoreOptions): void {
  if (options.signal?.aborted) {
    throw new OperationError(`interrupted after ${report.restored} of ${report.keys} keys`, {
      resumable: true,
      hint: 'Run it again with --replace to restore the rest (keys already restored are overwritten).',
    })
  }
  if (report.failed) {
    const first = report.errors[0]
    throw new OperationError(
      `${report.failed} of ${report.keys} keys could not be restored (${report.restored} were): ${first.message} (e.g. "${first.example}")`,
      { resumable: true, hint: 'Fix the cause, then run it again with --replace.' },
    )
  }
  if (report.existing) {
    throw new UsageError(
      `${report.existing} keys were created on the target by another client during the restore and were not overwritten (${report.restored} restored)`,
      { code: 'exists', hint: 'Run it again with --replace to overwrite them.' },
    )
  }
}

function emptyReport(
  target: ConnectedTarget,
  plan: RestorePlan,
  functions: number,
  warnings: string[],
): RestoreReport {
  const { summary } = plan
  const caps = target.capabilities
  return {
    file: plan.path,
    rdbVersion: summary.header.version,
    checksum: summary.checksum,
    target: {
      mode: target.topology.mode,
      engine: plan.engine,
      version: caps?.version ?? '',
      primaries: target.primaries.map((p) => p.address),
    },
    dbs: [...summary.dbKeys]
      .sort((a, b) => a[0] - b[0])
      .map(([from, keys]) => ({ from, to: plan.targetDb(from), keys })),
    keys: summary.keys,
    restored: 0,
    expired: 0,
    existing: 0,
    failed: 0,
    errors: [],
    functions,
    relabelled: plan.relabelled,
    mode: plan.mode,
    rebuilt: 0,
    seconds: 0,
    keysPerSecond: 0,
    warnings,
  }
}

/**
 * The RESTORE commands `restoreSnapshot` would send, written as a RESP stream (for `redis-cli
 * --pipe`, and as the benchmark's anchor). Keys are not routed: for a standalone target.
 */
export async function writeRestoreStream(
  path: string,
  sink: NodeJS.WritableStream & import('node:stream').Writable,
  options: { replace?: boolean; now?: number } = {},
): Promise<{ commands: number; bytes: number }> {
  const [stats] = await writeRestoreStreams(path, [sink], () => 0, options)
  return stats
}

/**
 * The same, split over several sinks by key (`pick` returns the sink's index): one stream per
 * cluster node, each fit for its own `redis-cli --pipe`. Only db 0 keys when split (a cluster has one db).
 */
export async function writeRestoreStreams(
  path: string,
  sinks: (NodeJS.WritableStream & import('node:stream').Writable)[],
  pick: (key: Buffer) => number,
  options: { replace?: boolean; now?: number } = {},
): Promise<{ commands: number; bytes: number }[]> {
  const { RespCommandWriter } = await import('../../wire/command-writer.js')
  const { CommandBatch } = await import('../../wire/routed-pipeline.js')
  const writers = sinks.map((sink) => new RespCommandWriter(sink))
  const reader = RdbReader.fromFile(path, { reuseBuffers: true })
  const now = options.now ?? Date.now()
  let currentDb = 0
  let version = 0
  for await (const records of reader.batches()) {
    const batches = sinks.map(() => new CommandBatch<Tag>(256 * 1024))
    for (const rec of records) {
      if (rec.kind === 'header') version = rec.header.version
      if (rec.kind !== 'entry') continue
      if (rec.expireAt !== undefined && rec.expireAt <= now) continue
      const batch = batches[sinks.length === 1 ? 0 : pick(rec.key)]
      if (rec.db !== currentDb) {
        if (sinks.length > 1) throw new UsageError(`key in db ${rec.db}: a split stream holds db 0 only`)
        batch.append(Buffer.from(`*2\r\n$6\r\nSELECT\r\n$${String(rec.db).length}\r\n${rec.db}\r\n`), -1)
        currentDb = rec.db
      }
      encodeRestore(batch, rec, version, options.replace ?? false)
    }
    for (let n = 0; n < writers.length; n++)
      if (batches[n].count) await writers[n].writeRaw(batches[n].bytes(), batches[n].count)
  }
  for (const w of writers) await w.end()
  return writers.map((w) => w.stats)
}
