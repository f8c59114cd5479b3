import type { AlertThresholds } from '../metrics/alerts.js'
import { fmtLag, truncate } from '../metrics/format.js'
import type { SeriesStore } from '../metrics/history.js'
import type { Snapshot } from '../metrics/types.js'
import { sparkline } from './charts.js'
import { esc } from './markup.js'
import { isLagging } from './node-flags.js'
import { sortNodes } from './node-sort.js'

/** Replication lag per replica: a sparkline of recent lag (bytes) and the current figures. */
export function lagLines(
  s: Snapshot,
  history: SeriesStore,
  width: number,
  t: AlertThresholds,
  maxLines = Infinity,
): string[] {
  const replicas = s.nodes.filter((n) => n.role === 'replica')
  if (!replicas.length) return ['(no replicas)']
  // Only the lines the panel shows are built: each costs a sparkline.
  return sortNodes(replicas, 'shard', false)
    .slice(0, maxLines)
    .map((n) => {
      const figures = n.up ? fmtLag(n) || '-' : 'down'
      const name = truncate(n.address, Math.max(4, width - figures.length - 1))
      // The sparkline gets what is left; none when the panel is narrow.
      const sparkWidth = Math.max(0, width - name.length - figures.length - 2)
      const spark =
        sparkWidth >= 4
          ? sparkline(
              history.tail(`${n.id}:lag`, sparkWidth).map((x) => x.value),
              sparkWidth,
            ).padEnd(sparkWidth) + ' '
          : ''
      const line = `${esc(name)} ${spark}${esc(figures)}`
      if (!n.up) return `{red-fg}${line}{/red-fg}`
      return isLagging(n, t) ? `{yellow-fg}${line}{/yellow-fg}` : line
    })
}
