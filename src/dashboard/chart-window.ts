/** How much history the charts show (the `w` key) and how much the monitor keeps for them. */

/** The chart windows the `w` key steps through, minutes. */
export const CHART_WINDOWS = [1, 5, 15] as const
export type ChartWindow = (typeof CHART_WINDOWS)[number]

/** At most this many samples per series: at short intervals 15 minutes would cost too much memory. */
const MAX_HISTORY = 3600

/** Samples the history keeps for the longest chart window at `intervalMs` between rounds. */
export function historySizeFor(intervalMs: number): number {
  const longest = Math.max(...CHART_WINDOWS) * 60_000
  return Math.min(MAX_HISTORY, Math.ceil(longest / Math.max(1, intervalMs)) + 1)
}

/** The chart window's label: its minutes, and what the history holds when that is less. */
export function windowLabel(minutes: number, capacity: number, intervalMs: number): string {
  // A window of N rounds holds N samples (the oldest one interval after the window opens).
  const keptMinutes = (capacity * intervalMs) / 60_000
  return keptMinutes + 1e-9 >= minutes
    ? `${minutes}m`
    : `${minutes}m (${Math.max(1, Math.floor(keptMinutes))}m kept)`
}
