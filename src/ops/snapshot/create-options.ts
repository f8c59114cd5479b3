import type { EventSink } from '../events.js'

export type SnapshotMethod = 'scan' | 'sync'

export interface SnapshotCreateOptions {
  method: SnapshotMethod
  /** Commands per second per node (scan method); undefined: unlimited. */
  maxOps?: number
  /** SCAN COUNT hint. */
  scanCount?: number
  signal?: AbortSignal
  /** A node that owes replies (SCAN/DUMP, or the SYNC stream) and sends nothing this long stops the snapshot (exit 5); 0: never. Default 60 s. */
  stallTimeoutMs?: number
  onEvent?: EventSink
  /** Milliseconds between progress events (default 250). */
  progressIntervalMs?: number
}
