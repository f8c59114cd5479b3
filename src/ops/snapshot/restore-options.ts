import type { ChecksumStatus } from '../../data/rdb/reader.js'
import type { EventSink } from '../events.js'
import type { FileCheck } from './restore-file-check.js'

/**
 * How keys are written: `dump` RESTOREs every key (a value the target cannot read is refused before
 * anything is sent); `logical` rebuilds every key with ordinary commands (SET, RPUSH, SADD, HSET,
 * ZADD, XADD ..., one MULTI/EXEC per key); `auto` RESTOREs what the target reads and rebuilds with
 * commands the values whose encoding is newer than the target's RDB version (a Valkey 8 or Redis
 * 7.2 file into Redis 7.0: listpack sets, streams), saying so — or everything when the target
 * refuses RESTORE.
 */
export type RestoreMode = 'auto' | 'dump' | 'logical'
export const RESTORE_MODES: RestoreMode[] = ['auto', 'dump', 'logical']

/** What an operation step reports through: events, and warnings (kept for the report). */
export interface RestoreContext {
  emit: EventSink
  warn: (message: string) => void
}

export interface RestoreOptions {
  /** Default 'auto'. */
  mode?: RestoreMode
  /** Overwrite keys that exist on the target (RESTORE ... REPLACE). */
  replace?: boolean
  /** With --replace: called when keys of the file exist on the target, before anything is written (throws to refuse). */
  confirmReplace?: (existing: number, total: number) => Promise<void>
  /** File db -> target db. */
  dbMap?: Map<number, number>
  /** Restore even when the file's CRC-64 does not match. */
  ignoreChecksum?: boolean
  signal?: AbortSignal
  onEvent?: EventSink
  /** The file's verification, already started (startFileCheck: while the target was being connected); else it starts here. */
  fileCheck?: FileCheck
  /** Bytes per write to one node, and writes in flight per node. */
  batchBytes?: number
  window?: number
  now?: () => number
  /** A target node that owes replies and sends nothing this long stops the restore (exit 5); 0: never. Default 60 s. */
  stallTimeoutMs?: number
  /** Back-off before each new try of keys refused for now (OOM, LOADING, TRYAGAIN ...); its length bounds the tries. */
  retryDelaysMs?: readonly number[]
}

export interface RestoreReport {
  file: string
  rdbVersion: number
  checksum: ChecksumStatus
  target: { mode: string; engine: string; version: string; primaries: string[] }
  /** Per file db: where its keys went and how many. */
  dbs: { from: number; to: number; keys: number }[]
  keys: number
  restored: number
  /** Keys whose expire time had passed: not sent. */
  expired: number
  /** Keys refused because they exist (BUSYKEY), when another client created them meanwhile. */
  existing: number
  failed: number
  errors: { message: string; count: number; example: string }[]
  functions: number
  /** Values relabelled with the target's older RDB version (their types are known to it). */
  relabelled: number
  /** --mode as given. */
  mode: RestoreMode
  /** Keys written with commands instead of RESTORE (sent, whether or not the target took them). */
  rebuilt: number
  seconds: number
  keysPerSecond: number
  warnings: string[]
}
