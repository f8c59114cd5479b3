/**
 * Figures for people, one implementation each, used by every view: tables, reports, progress
 * lines. Two widths where the product needs both: the plain form for sentences and reports
 * ("1.5 KiB", "12.3k", "2m05s") and the short form for table cells ("1.5K", "12k", "0.5s").
 */

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB']

/** n scaled down by 1024 until it is under 1024 (or the units run out): the value and its unit index. */
function scaleBinary(n: number): { value: number; unit: number } {
  let value = n
  let unit = 0
  while (Math.abs(value) >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024
    unit++
  }
  return { value, unit }
}

/** `512 B`, `1.5 KiB`, `5.0 GiB`; `-` when unknown. */
export function formatBytes(n: number | undefined): string {
  if (n === undefined) return '-'
  const { value, unit } = scaleBinary(n)
  return unit === 0 ? `${Math.round(value)} B` : `${value.toFixed(1)} ${BYTE_UNITS[unit]}`
}

/** `512B`, `1.5K`, `47.7M`, `1023K` (no decimal from 100 up): for table cells. `-` when unknown. */
export function formatBytesShort(n: number | undefined): string {
  if (n === undefined) return '-'
  const { value, unit } = scaleBinary(n)
  if (unit === 0) return `${Math.round(value)}B`
  return `${Math.abs(value) >= 100 ? value.toFixed(0) : value.toFixed(1)}${BYTE_UNITS[unit][0]}`
}

/** `999`, `9999`, `12.3k`, `2.5M`: exact below ten thousand. */
export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)}G`
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`
  return String(Math.round(n))
}

/** `3.3` (small fractions keep a decimal), `42`, `1.2k`, `57k`, `2.5M`: for table cells. `-` when unknown. */
export function formatCountShort(n: number | undefined): string {
  if (n === undefined) return '-'
  const abs = Math.abs(n)
  if (abs < 1000) return abs < 10 && !Number.isInteger(n) ? n.toFixed(1) : String(Math.round(n))
  if (abs < 1e6) return `${(n / 1e3).toFixed(abs < 1e4 ? 1 : 0)}k`
  if (abs < 1e9) return `${(n / 1e6).toFixed(abs < 1e7 ? 1 : 0)}M`
  return `${(n / 1e9).toFixed(1)}G`
}

/** A minute or more: `1m05s`, `2h01m` (rounded to the second first, so never `1m60s`). */
function minutesAndHours(seconds: number): string {
  const s = Math.round(seconds)
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
}

/** `42s`, `2m05s`, `2h01m`; `?` when not a duration (an ETA with no rate yet). */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?'
  return seconds < 59.5 ? `${Math.round(seconds)}s` : minutesAndHours(seconds)
}

/** `0.5s`, `42s`, `1m15s`, `2h01m`: tenths below ten seconds (replication lag). `-` when unknown. */
export function formatDurationShort(seconds: number | undefined): string {
  if (seconds === undefined) return '-'
  if (seconds < 10) return `${seconds.toFixed(1)}s`
  return seconds < 59.5 ? `${Math.round(seconds)}s` : minutesAndHours(seconds)
}
