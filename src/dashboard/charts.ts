import { sparkChars } from '../format/sparkline.js'
import type { Sample } from '../metrics/history.js'

/** What the charts and sparklines draw from the history: points, labels, y-axis units. */

/** A sparkline of the last `width` values. */
export function sparkline(values: number[], width: number): string {
  return sparkChars(values.slice(-width))
}

/** Units for a chart's y axis so that labels stay short. */
export function chartScale(max: number): { divisor: number; suffix: string } {
  if (max >= 1e9) return { divisor: 1e9, suffix: ' (G)' }
  if (max >= 1e6) return { divisor: 1e6, suffix: ' (M)' }
  if (max >= 1e4) return { divisor: 1e3, suffix: ' (k)' }
  return { divisor: 1, suffix: '' }
}

/**
 * Chart data for a series: the samples of the last `windowMs`, at most `maxPoints` of them (each
 * point the largest of the samples it stands for, so that a spike survives), x labels mm:ss, and
 * at least two points.
 */
export function chartData(
  samples: Sample[],
  windowMs: number,
  maxPoints = Infinity,
): { x: string[]; y: number[] } {
  const newest = samples.at(-1)?.at ?? 0
  const inWindow = samples.filter((p) => p.at > newest - windowMs)
  const buckets = Math.max(2, Math.floor(maxPoints))
  const groups: Sample[][] = []
  if (inWindow.length <= buckets) for (const p of inWindow) groups.push([p])
  else
    for (let b = 0; b < buckets; b++)
      groups.push(
        inWindow.slice(
          Math.floor((b * inWindow.length) / buckets),
          Math.floor(((b + 1) * inWindow.length) / buckets),
        ),
      )
  const x = groups.map((g) => {
    const d = new Date(g[g.length - 1].at)
    return `${String(d.getMinutes()).padStart(2, '0')}:${String(d.getSeconds()).padStart(2, '0')}`
  })
  const y = groups.map((g) => Math.max(...g.map((p) => p.value)))
  while (y.length < 2) {
    x.unshift('')
    y.unshift(0)
  }
  return { x, y }
}
