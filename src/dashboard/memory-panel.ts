import { formatBytesShort } from '../format/units.js'
import { truncate } from '../metrics/format.js'
import type { Snapshot } from '../metrics/types.js'

function bar(fraction: number, width: number): string {
  const f = Math.max(0, Math.min(1, fraction))
  const full = Math.round(f * width)
  return '█'.repeat(full) + '░'.repeat(Math.max(0, width - full))
}

/**
 * Memory per shard (its primary): a bar against maxmemory. A shard without maxmemory has no bar
 * (a bar against nothing would read as full): its share of the memory in use and "no limit".
 */
export function memoryLines(s: Snapshot, width: number): string[] {
  const total = s.shards.reduce((sum, x) => sum + (x.memoryUsed ?? 0), 0)
  return s.shards.map((sh) => {
    const label = `s${sh.index}`.padEnd(4)
    const used = sh.memoryUsed
    const cap = sh.maxmemory || undefined
    if (!cap) {
      const share = used !== undefined && total > 0 ? `${Math.round((used / total) * 100)}%` : undefined
      const start = `${label}${formatBytesShort(used).padStart(6)}  `
      const variants = [
        ...(share ? [`${start}${share} of all, no limit`, `${start}${share}  no limit`] : []),
        `${start}no limit`,
      ]
      return truncate(variants.find((v) => v.length <= width) ?? variants[variants.length - 1], width)
    }
    const fraction = used === undefined ? 0 : used / cap
    const text = `${formatBytesShort(used)}/${formatBytesShort(cap)}`
    const barWidth = Math.max(3, width - label.length - text.length - 2)
    const b = bar(fraction, barWidth)
    const colored = fraction >= 0.9 ? `{red-fg}${b}{/red-fg}` : b
    return `${label}${colored} ${text}`
  })
}
