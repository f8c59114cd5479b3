import type { SeriesStore } from '../metrics/history.js'
import type { Snapshot } from '../metrics/types.js'
import type { LineChart } from './blessed.js'
import { windowLabel } from './chart-window.js'
import { chartData, chartScale } from './charts.js'
import type { Layout, Rect } from './layout.js'
import { plainLength } from './markup.js'
import type { ViewState } from './view-state.js'
import type { DashboardWidgets, PanelLabels } from './widgets.js'

/** The dashboard's line charts: which series each one shows, and drawing them from the history. */

interface ChartSeries {
  title: string
  /** The history series (`cluster:ops`, `<node id>:latency`, ...). */
  key: string
  color: string
}

interface ChartSpec {
  chart: LineChart
  rect: Rect | undefined
  label: string
  series: ChartSeries[]
}

/**
 * What each chart shows. With room for three: the cluster's ops/s, its latency (average and the
 * worst node's p99), and the selected node's ops/s on a scale of its own (a node's line drawn on
 * the cluster's scale would lie flat along the bottom). With room for two, `c` switches both
 * between the cluster and the selected node.
 */
export function chartSpecs(
  wd: DashboardWidgets,
  l: Layout,
  snapshot: Snapshot | undefined,
  state: ViewState,
): ChartSpec[] {
  const sel = snapshot?.nodes.find((n) => n.id === state.selectedId)
  const scope = sel && !l.node && state.chartScope === 'node' ? sel : undefined
  const key = scope ? scope.id : 'cluster'
  const who = scope ? scope.address : 'cluster'
  const specs: ChartSpec[] = [
    {
      chart: wd.ops,
      rect: l.ops,
      label: `ops/s ${who}`,
      series: [{ title: who, key: `${key}:ops`, color: 'green' }],
    },
    {
      chart: wd.latency,
      rect: l.latency,
      label: `latency usec${scope ? ` ${who}` : ''}`,
      series: [
        { title: 'avg', key: `${key}:latency`, color: 'yellow' },
        { title: scope ? 'p99' : 'p99 worst node', key: `${key}:p99`, color: 'red' },
      ],
    },
  ]
  if (l.node && sel)
    specs.push({
      chart: wd.node,
      rect: l.node,
      label: `ops/s ${sel.address}`,
      series: [{ title: sel.address, key: `${sel.id}:ops`, color: 'cyan' }],
    })
  return specs
}

/**
 * A chart's label on a chart `width` wide: the title, and with two series a colored key for each,
 * by their first words where the full names do not fit; `fallback` is the title alone.
 */
export function chartLabel(
  title: string,
  series: ChartSeries[],
  width: number,
): { text: string; fallback?: string } {
  if (series.length < 2) return { text: title }
  const key = (x: ChartSeries, name: string) => `{${x.color}-fg}━{/${x.color}-fg} ${name}`
  const full = `${title}  ${series.map((x) => key(x, x.title)).join(' ')}`
  const short = `${title} ${series.map((x) => key(x, x.title.split(' ')[0])).join(' ')}`
  return { text: plainLength(full) <= width - 4 ? full : short, fallback: title }
}

/** What every chart is drawn from. */
interface ChartSource {
  history: SeriesStore
  state: ViewState
  /** Between rounds: what the history holds of the window. */
  intervalMs: number
  /** Points per chart at most. */
  chartPoints?: number
}

/** Draw one chart (none where it is hidden or too small to draw anything useful). */
export function drawChart(
  { chart, rect, label, series }: ChartSpec,
  from: ChartSource,
  labels: PanelLabels,
): void {
  if (!rect || chart.hidden || (chart.width as number) < 20 || (chart.height as number) < 6) return
  const width = chart.width as number
  // Two points per column: the braille canvas has two dots across each character cell.
  const points = Math.min(from.chartPoints ?? Infinity, Math.max(2, (width - 8) * 2))
  const windowMs = from.state.window * 60_000
  const data = series.map((x) => ({
    title: x.title,
    style: { line: x.color },
    ...chartData(from.history.get(x.key), windowMs, points),
  }))
  const max = Math.max(0, ...data.flatMap((d) => d.y))
  // Scale to short labels ourselves: blessed-contrib's own abbreviation misaligns its axis.
  const { divisor, suffix } = chartScale(max)
  if (divisor !== 1) for (const d of data) d.y = d.y.map((v) => v / divisor)
  const top = Math.max(...data.map((d) => Math.max(...d.y)))
  const window = windowLabel(from.state.window, from.history.capacity, from.intervalMs)
  const { text, fallback } = chartLabel(`${label}${suffix} · ${window}`, series, width)
  labels.set(chart, text, fallback)
  // The top of the y axis as blessed-contrib computes it (the largest value plus a fifth), given
  // up front: left to itself it recomputes it over every series for every point it draws.
  chart.options.maxY = max > 0 ? top + (top - (chart.options.minY ?? 0)) * 0.2 : 1
  // Every label would overlap on a narrow chart: show one in N.
  const shown = Math.max(...data.map((d) => d.x.length))
  ;(chart.options as { showNthLabel?: number }).showNthLabel = Math.max(
    1,
    Math.ceil(shown / Math.max(1, (width - 10) / 7)),
  )
  chart.setData(data)
}
