/** Human formatting for counts, bytes, rates and durations in views and summaries. */
export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)}G`
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`
  return String(Math.round(n))
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let v = n
  let i = 0
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return i === 0 ? `${Math.round(v)} B` : `${v.toFixed(1)} ${units[i]}`
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?'
  const s = Math.round(seconds)
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
}

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
