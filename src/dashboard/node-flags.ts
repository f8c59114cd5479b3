import type { AlertThresholds } from '../metrics/alerts.js'
import type { NodeStatus } from '../metrics/types.js'

/** What makes a node's row stand out: down, lagging (past the alert thresholds) or hot. */

export interface Flags {
  down: boolean
  lagging: boolean
  hot: boolean
}

export function isLagging(n: NodeStatus, t: AlertThresholds): boolean {
  const r = n.replication
  if (!r || !n.up) return false
  return r.link === 'down' || (r.lagSeconds ?? 0) >= t.lagSeconds || (r.lagBytes ?? 0) >= t.lagBytes
}

/** Hot: CPU at 80% or more, or at least 1000 ops/s and twice the median of nodes of its role. */
export function hotNodes(nodes: NodeStatus[]): Set<string> {
  const hot = new Set<string>()
  for (const role of ['primary', 'replica'] as const) {
    const peers = nodes.filter((n) => n.role === role && n.opsPerSec !== undefined)
    const sorted = peers.map((n) => n.opsPerSec!).sort((a, b) => a - b)
    const median = sorted.length ? sorted[Math.floor((sorted.length - 1) / 2)] : 0
    for (const n of peers)
      if (n.opsPerSec! >= 1000 && n.opsPerSec! >= 2 * median && peers.length > 1) hot.add(n.id)
  }
  for (const n of nodes) if ((n.cpuPercent ?? 0) >= 80) hot.add(n.id)
  return hot
}

export function nodeFlags(n: NodeStatus, t: AlertThresholds, hot: Set<string>): Flags {
  return { down: !n.up, lagging: isLagging(n, t), hot: hot.has(n.id) }
}
/**
 * The marker column: down, lagging and hot rows carry a symbol as well as a color, for screens,
 * terminals and eyes without color.
 */
export const MARKS = { down: '✗', lagging: '!', hot: '▲' } as const

export function markOf(flags: Flags | undefined): string {
  if (!flags) return ' '
  return flags.down ? MARKS.down : flags.lagging ? MARKS.lagging : flags.hot ? MARKS.hot : ' '
}
