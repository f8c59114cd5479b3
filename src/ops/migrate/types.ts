import type { VerifyReport } from '../verify/types.js'
import type { EventSink } from '../events.js'

export interface SlotRange {
  from: number
  to: number
}

export type CopyMode = 'dump' | 'logical'
export type MigrateMode = CopyMode | 'auto'
/** How the bulk copy reads the source: SCAN + DUMP per key, or each primary's replication snapshot (SYNC). */
export type ReadMethod = 'scan' | 'sync'

export interface MigrateOptions {
  live?: boolean
  /** With --live: stop once the bulk copy is done and no change is pending (scripts, tests). */
  untilSynced?: boolean
  checkpointPath?: string
  /** Source commands per second per node; the final verify keeps to it too (source and target). */
  maxOps?: number
  replace?: boolean
  /** With --replace and a target that holds keys: asked before anything is written (throws to refuse). */
  confirmReplace?: (targetKeys: number) => Promise<void>
  /**
   * dump (default): DUMP/RESTORE, refused before copying when the target cannot read the source's
   * payloads; logical: values rebuilt with type commands (portable across versions and engines);
   * auto: logical when the target cannot read the source's payloads, dump otherwise.
   */
  mode?: MigrateMode
  slots?: SlotRange
  dbMap?: Map<number, number>
  verify?: boolean
  signal?: AbortSignal
  onEvent?: EventSink
  /** Stop (exit 5, resumable) when a node owes replies and sends none this long; 0: never. Default 60 s. */
  stallTimeoutMs?: number
  /** Keys per SCAN page (COUNT hint). */
  scanCount?: number
  /**
   * scan (default): SCAN + PEXPIRETIME + DUMP per key; sync: every primary's replication snapshot
   * (SYNC), refused (exit 2) where the source refuses SYNC; auto: sync where permitted, scan otherwise.
   */
  read?: ReadMethod | 'auto'
}

/** Per source shard and db, what the checkpoint keeps: enough to resume the scan where it stood. */
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

/**
 * Which server process a shard's SCAN cursor belongs to. A cursor is a position in one process's
 * hash table: another process (a restart, a failover, even behind the same address) has another
 * table, so its scan starts over.
 */
export interface ShardIdentity {
  /** The shard's primary when the checkpoint was written. */
  address: string
  /** INFO server run_id: new for every server process. */
  runId: string
  /** INFO replication master_replid: new for every restart and every promotion. */
  replid: string
}

/** What identifies a deployment across runs, whatever its addresses do (failovers). */
export interface DeploymentIdentity {
  mode: 'standalone' | 'replicated' | 'cluster'
  /** Primary addresses (display; for a standalone one, its identity together with `replid`). */
  primaries: string[]
  /** Cluster: every node id (primaries and replicas); a failover keeps them, another cluster shares none. */
  nodeIds?: string[]
  /** Standalone: the primary's replication id; after a failover the new primary carries it as master_replid2. */
  replid?: string
}

/** The checkpoint format version this kvtop writes and reads. */
export const CHECKPOINT_VERSION = 2

export interface Checkpoint {
  kind: 'kvtop-migrate'
  version: typeof CHECKPOINT_VERSION
  /** Where from and to (addresses and ids only, never credentials). */
  source: DeploymentIdentity
  target: DeploymentIdentity
  slots?: SlotRange
  /**
   * The copy mode (--mode auto recorded as what it chose) and --db-map ("3:0,4:0"; "" for none) of
   * the run that started it: a resume must give the same (or --mode auto).
   */
  mode: CopyMode
  dbMap: string
  /**
   * How the last run read the source (absent: scan, as before --read). A sync-read shard never has a
   * cursor: it is done, or read again from the start, so either method may resume the other's.
   */
  read?: ReadMethod
  live: boolean
  startedAt: number
  updatedAt: number
  /**
   * Source shards by key: their slot ranges for a cluster source ("0-5460", "0-99,200-300"), the
   * primary's address otherwise. A failover moves a shard to another address under the same key.
   */
  shards: Record<string, ShardIdentity>
  /** `<shard key>/<db>` -> progress. */
  nodes: Record<string, NodeCheckpoint>
  liveCopies: number
  liveDeletes: number
  inSync: boolean
  finished: boolean
}

export interface MigrateReport {
  resumed: boolean
  /** How values were copied: --mode, or what --mode auto chose (always set by runMigration). */
  mode?: CopyMode
  /** With --mode auto: why that mode. */
  modeReason?: string
  /** How the source was read (--read, or what --read auto chose), and with auto why. */
  read?: ReadMethod
  readReason?: string
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
  /** Source shards whose scan started over because their server process changed since the checkpoint. */
  restarted?: string[]
  seconds: number
  keysPerSecond: number
  errors: { total: number; first: string[] }
  verify?: VerifyReport
  cutover: string[]
}
