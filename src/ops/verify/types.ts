import type { EventSink } from '../events.js'

export type DifferenceCategory =
  'missing-in-target' | 'missing-in-source' | 'type' | 'value' | 'ttl' | 'count'

/** One difference, as printed and as written to --report (README: Command logs). */
export interface Difference {
  category: DifferenceCategory
  /** The key escaped the way redis-cli prints it (empty for `count`). */
  key: string
  /** The key's bytes as hex: exact, for scripts that act on the report. */
  keyHex: string
  /** Source db (standalone sources with several dbs; 0 otherwise). */
  db: number
  /** What differs, in words: 'hash field "f7": values differ', 'ttl 60000 ms vs none'. */
  detail: string
  sourceType?: string
  targetType?: string
  /** Remaining time to live in ms (-1: none), where it matters. */
  sourceTtlMs?: number
  targetTtlMs?: number
  /** Only with --show-values: the differing element or value on each side, escaped. */
  sourceValue?: string
  targetValue?: string
}

export type VerifyMode = 'full' | 'quick'

export interface VerifyOptions {
  mode?: VerifyMode
  /** Source db -> target db (a cluster target holds db 0 only). */
  dbMap?: Map<number, number>
  /** TTLs further apart than this (ms) are a difference (default 1000). */
  ttlToleranceMs?: number
  /** Passes over the differing keys, the first included (default 3). */
  passes?: number
  /** Wait between passes (ms, default 1000). */
  passIntervalMs?: number
  /** Keep the differing values in the report (default: keys only). */
  showValues?: boolean
  /** Keys per pipelined batch (default 2000: fewer, bigger writes; measured 5-10 % faster than 500). */
  batchKeys?: number
  /** Elements per chunk when comparing big collections (default 1000). */
  chunkElements?: number
  /** Called with every difference that survives the last pass (e.g. to write --report). */
  onDifference?: (d: Difference) => void
  onEvent?: EventSink
  signal?: AbortSignal
  /** At most this many commands per second to each node, source and target alike (undefined: no limit). */
  maxOps?: number
  /** Stop (exit 5) when a node owes replies and answers nothing this long; 0: never. Default 60 s. */
  stallTimeoutMs?: number
  /**
   * Stop comparing once this many differences are held (default 100,000; 0: no limit): each costs
   * ~2 KB until the last pass, and millions mean the datasets are far apart (a wrong or empty
   * target), which the first ones already show.
   */
  maxDifferences?: number
}

export interface VerifyReport {
  mode: VerifyMode
  identical: boolean
  /** Keys compared from the source side, and keys checked on the target side (reverse direction). */
  sourceKeys: number
  targetKeys: number
  /** Differences by category, after the last pass. */
  counts: Record<DifferenceCategory, number>
  /** The first differences (at most 20), for display. */
  examples: Difference[]
  /** Differences seen in the first pass that converged (replication in flight, expiry). */
  converged: number
  passes: number
  seconds: number
  keysPerSecond: number
  dbs: { source: number; target: number }[]
  /** Set when the comparison stopped at --max-differences: the counts are of the keys compared until then. */
  stoppedAt?: number
}

/** How many differences verify holds before it stops comparing (VerifyOptions.maxDifferences). */
export const DEFAULT_MAX_DIFFERENCES = 100_000
