import type { Topology } from '../../connect/topology.js'
import { SLOTS } from '../../wire/routed-pipeline.js'
import type { SnapshotMethod } from './create-options.js'
import type { MethodResult, SnapshotRun } from './create-strategy.js'

interface SnapshotFileReport {
  path: string
  keys: number
  expires: number
  bytes: number
  /** With --split: the slots whose keys this file holds. */
  slots?: [number, number]
}

export interface SnapshotCreateReport {
  method: SnapshotMethod
  /** RDB version of the files (that of the source's values). */
  rdbVersion: number
  source: { mode: Topology['mode']; engine: string; version: string; provider: string; primaries: string[] }
  files: SnapshotFileReport[]
  dbs: { db: number; keys: number }[]
  keys: number
  expires: number
  bytes: number
  functions: number
  /** Keys gone between SCAN and DUMP (deleted or expired meanwhile). */
  vanished: number
  /** Keys SCAN returned twice, written once. */
  duplicates: number
  seconds: number
  keysPerSecond: number
  warnings: string[]
}

/** What the run wrote, from the files' counts and the strategy's result; a repeat of SCAN's is a last warning. */
export function createReport(run: SnapshotRun, result: MethodResult, seconds: number): SnapshotCreateReport {
  const { state } = run
  const files = fileReports(run, result.rawStats)
  const keys = files.reduce((n, f) => n + f.keys, 0)
  if (state.duplicates) run.warn(`${state.duplicates} keys were returned twice by SCAN and written once`)
  return {
    method: run.options.method,
    rdbVersion: result.rdbVersion,
    source: {
      mode: run.deployment.topology.mode,
      engine: run.engine,
      version: run.version,
      provider: run.deployment.capabilities?.provider ?? 'self-managed',
      primaries: run.plan.primaries.map((p) => p.address),
    },
    files,
    dbs: run.plan.dbs.map((db) => ({ db, keys: state.dbKeys?.get(db) ?? 0 })),
    keys,
    expires: files.reduce((n, f) => n + f.expires, 0),
    bytes: files.reduce((n, f) => n + f.bytes, 0),
    functions: result.functions,
    vanished: result.vanished,
    duplicates: state.duplicates,
    seconds,
    keysPerSecond: seconds > 0 ? keys / seconds : 0,
    warnings: run.warnings,
  }
}

/** Each file: what it holds (the writer's count, or the server's RDB copied as is) and, split, its slots. */
function fileReports(run: SnapshotRun, rawStats: MethodResult['rawStats']): SnapshotFileReport[] {
  const { state } = run
  const split = state.split
  return run.outputs.files.map((f, i) => {
    const { keys, expires, bytes } = rawStats ?? state.writers[i].stats
    return {
      path: f.path,
      keys,
      expires,
      bytes,
      ...(split > 1 ? { slots: fileSlots(i, split) } : {}),
    }
  })
}

/** The slots of file `i` of `split`: one N-th of the slot range each. */
function fileSlots(i: number, split: number): [number, number] {
  return [Math.ceil((i * SLOTS) / split), Math.ceil(((i + 1) * SLOTS) / split) - 1]
}
