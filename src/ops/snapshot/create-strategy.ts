import type { ConnectedTarget } from '../../connect/target.js'
import { OperationError } from '../../errors.js'
import type { NodePool } from '../../wire/node-pool.js'
import type { StallWatch } from '../../wire/stall-watch.js'
import type { ProgressTracker } from '../progress.js'
import type { EventSink } from '../events.js'
import type { SnapshotOutputs } from './outputs.js'
import type { SnapshotCreateOptions } from './create-options.js'
import type { CreatePlan } from './create-preflight.js'
import type { WriteState } from './create-write.js'

/**
 * How `snapshot create` reads the source into the files: one strategy per `--method` (scan:
 * create-scan.ts, sync: create-sync.ts). The run around it (create.ts) makes the checks that may
 * refuse before any file is written, watches for stalls, reports progress, and commits or discards
 * the files; the strategy opens the writers and fills them.
 */
export interface CreateStrategy {
  /** Refuse (a UsageError) when the endpoint refuses a command the strategy needs. */
  checkAllowed(refused: Set<string>, provider: string | undefined): void
  /** Whether the strategy may read a key twice: keys written are then fingerprinted and repeats dropped. */
  repeatsKeys(cluster: boolean): boolean
  /** Read the source into the run's files: open the writers (`run.state.writers`), write every key. */
  read(run: SnapshotRun): Promise<MethodResult>
}

/** What a strategy works with: the plan, the files' writers and the progress and stall watch shared by its reads. */
export interface SnapshotRun {
  deployment: ConnectedTarget
  /** The run's connections for single commands (INFO, FUNCTION DUMP ...): see create-calls.ts. */
  nodes: NodePool
  outputs: SnapshotOutputs
  options: SnapshotCreateOptions
  plan: CreatePlan
  cluster: boolean
  engine: string
  version: string
  state: WriteState
  /** The AUX fields of a file of this RDB version. */
  aux: (rdbVersion: number) => [string, string][]
  /** Progress per node (or node and db) read, reported with `total`. */
  trackers: Map<string, ProgressTracker>
  total: ProgressTracker
  stallWatch: StallWatch
  stallTimeoutMs: number
  emit: EventSink
  /** A warning: emitted now, and listed in the report. */
  warn: (message: string) => void
  warnings: string[]
}

/** What a strategy read. */
export interface MethodResult {
  rdbVersion: number
  functions: number
  vanished: number
  /** What the file holds when the server's RDB was copied as is (no writer). */
  rawStats?: { keys: number; expires: number; bytes: number }
}

/** What a strategy throws when the run was interrupted (Ctrl-C, SIGTERM): the files are discarded. */
export function interrupted(): OperationError {
  return new OperationError('interrupted: nothing was written', { resumable: false })
}
