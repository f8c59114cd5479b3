import { formatCount, formatDuration } from '../format/units.js'

/** Where a live sync stands: what the progress view and the heartbeat lines say about it. */
export interface LagStatus {
  pending: number
  oldestAgeMs: number
  /** Confirmed caught up (nothing pending and nothing on its way) at the last check. */
  inSync: boolean
}

export function lagLine(lag: LagStatus): string {
  if (lag.pending === 0) return lag.inSync ? 'live: in sync, no change pending' : 'live: no change pending'
  return `live: ${formatCount(lag.pending)} changes pending, oldest ${formatDuration(lag.oldestAgeMs / 1000)}`
}
