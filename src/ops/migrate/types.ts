import type { VerifyReport } from '../verify/types.js'
import type { EventSink } from '../progress.js'

export interface SlotRange {
  from: number
  to: number
}

export interface MigrateOptions {
  live?: boolean
  /** With --live: stop once the bulk copy is done and no change is pending (scripts, tests). */
  untilSynced?: boolean
  checkpointPath?: string
  /** Source commands per second per node. */
  maxOps?: number
  replace?: boolean
  /** dump (default): DUMP/RESTORE; logical: values rebuilt with type commands (portable across versions). */
  mode?: 'dump' | 'logical'
  slots?: SlotRange
  dbMap?: Map<number, number>
  verify?: boolean
  signal?: AbortSignal
  onEvent?: EventSink
  /** Stop (exit 5, resumable) when a node owes replies and sends none this long; 0: never. Default 60 s. */
  stallTimeoutMs?: number
  /** Keys per SCAN page (COUNT hint). */
  scanCount?: number
}

/** Per source node, what the checkpoint keeps: enough to resume the scan where it stood. */
export interface NodeCheckpoint {
  db: number
  targetDb: number
  /** SCAN cursor from which no key has been copied yet (every key before it is on the target). */
  cursor: string
  done: boolean
  keys: number
  bytes: number
  vanished: number
}

export interface Checkpoint {
  kind: 'kvtop-migrate'
  version: 1
  /** Where from and to (addresses only, never credentials). */
  source: string[]
  target: string[]
  slots?: SlotRange
  live: boolean
  startedAt: number
  updatedAt: number
  /** `address/db` -> progress. */
  nodes: Record<string, NodeCheckpoint>
  liveCopies: number
  liveDeletes: number
  inSync: boolean
  finished: boolean
}

export interface MigrateReport {
  resumed: boolean
  /** Keys on the target from the bulk copy, this run and the runs it resumes. */
  keys: number
  /** Of those, copied by this run (a resumed run copies only what was left). */
  copiedThisRun: number
  bytes: number
  vanished: number
  /** Keys copied again because they changed (--live), and keys deleted on the target because they went away. */
  liveCopies: number
  liveDeletes: number
  inSync: boolean
  seconds: number
  keysPerSecond: number
  errors: { total: number; first: string[] }
  verify?: VerifyReport
  cutover: string[]
}
