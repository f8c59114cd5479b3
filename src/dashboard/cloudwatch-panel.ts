import { formatCountShort } from '../format/units.js'
import { fmtTime, truncate } from '../metrics/format.js'
import type { Snapshot } from '../metrics/types.js'
import { esc } from './markup.js'

/** The CloudWatch (or other external source) panel: one line per node with its figures. */
export function externalLines(s: Snapshot, width: number): string[] {
  const ext = s.external
  if (!ext) return []
  const lines = [
    `${ext.source}: ${ext.at ? `as of ${fmtTime(ext.at)}` : 'waiting for data'}${ext.error ? ` {red-fg}${esc(ext.error)}{/red-fg}` : ''}`,
  ]
  for (const n of s.nodes) {
    const m = ext.nodes[n.id]
    if (!m) continue
    // The node, then its figures packed on indented lines that fit the panel.
    let line = n.address
    for (const [k, v] of Object.entries(m).sort(([a], [b]) => a.localeCompare(b))) {
      const part = `${k}=${formatCountShort(v)}`
      if (line.length + 1 + part.length > width && line.trim()) {
        lines.push(esc(truncate(line, width)))
        line = '  '
      }
      line += (line.trim() ? ' ' : '') + part
    }
    lines.push(esc(truncate(line, width)))
  }
  return lines
}
