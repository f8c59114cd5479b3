/**
 * The one table of thresholds: the monitor's alerts and triage's findings read the same figures, so
 * that a lag or a memory level the dashboard flags is one triage reports too (and the other way round).
 */
export const THRESHOLDS = {
  /** Replication lag that raises an alert and a finding; critical (triage) from `lagSecondsCritical`. */
  lagSeconds: 5,
  lagSecondsCritical: 30,
  lagBytes: 8 * 1024 * 1024,
  /** used_memory / maxmemory at or above this fraction; critical (triage) from `memoryFractionCritical`. */
  memoryFraction: 0.9,
  memoryFractionCritical: 0.97,
  fragmentation: 1.5,
  fragmentationMinBytes: 100 * 1024 * 1024,
  cpuPercent: 80,
  backlogHeadroomSeconds: 60,
  slowUs: 100_000,
  /** COMMANDLOG (Valkey 8.1+): a request or reply this big is a warning, smaller logged ones a note. */
  largeRequestBytes: 1024 * 1024,
  largeReplyBytes: 1024 * 1024,
  commandP99Us: 10_000,
  bigKeyBytes: 1024 * 1024,
  bigKeyBytesCritical: 64 * 1024 * 1024,
  outputBufferBytes: 16 * 1024 * 1024,
  queryBufferBytes: 64 * 1024 * 1024,
  clientsFraction: 0.8,
  hotKeyFreq: 100,
} as const
