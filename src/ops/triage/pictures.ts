import { downsampleMax, sparkChars } from '../../format/sparkline.js'
import type { CloudWatchSeries, CloudWatchSummary } from './types.js'

/**
 * The report's pictures of CloudWatch: a sparkline per node and metric, and Mermaid `xychart-beta`
 * charts (GitHub and GitLab draw them) of the figures that matter in an incident. Every point
 * shown is the highest of the periods it stands for, so a spike is never averaged away.
 */

/** Characters in a sparkline: 3 hours of 60 s periods are 180 values, 3 to a character. */
const SPARK_WIDTH = 60
/** Points in a chart, at most. */
const CHART_POINTS = 36

const UNITS: Record<string, string> = {
  cpu: '%',
  engineCpu: '%',
  memoryUsagePercent: '%',
  replicationLag: 's',
  readLatency: 'us',
  writeLatency: 'us',
}

const round = (v: number) => Math.round(v * 100) / 100
const utc = (ms: number) => new Date(ms).toISOString().slice(11, 16)

/** The table of sparklines: one row per node and metric, with its peak and when (UTC). */
export function sparklineTable(cw: CloudWatchSummary): string[] {
  if (!cw.series || !Object.keys(cw.series).length) return []
  const out = [
    `Each line spans the ${cw.hours} hours; a character is the highest of the periods it covers, a blank a gap.`,
    '',
    '| node | metric | peak | at (UTC) | trend |',
    '|---|---|---|---|---|',
  ]
  for (const [id, byMetric] of Object.entries(cw.series)) {
    for (const [metric, s] of Object.entries(byMetric).sort(([a], [b]) => a.localeCompare(b))) {
      const peak = cw.peaks?.[id]?.[metric]
      const spark = sparkChars(downsampleMax(s.values, SPARK_WIDTH))
      out.push(
        `| ${id} | ${metric} | ${peak ? `${round(peak.value)}${UNITS[metric] ?? ''}` : ''} | ${peak ? utc(peak.at) : ''} | \`${spark}\` |`,
      )
    }
  }
  return out
}

interface ChartSpec {
  title: string
  yAxis: string
  /** The value of one node at one period, from its metrics there; undefined when it has none. */
  value: (at: (metric: string) => number | undefined) => number | undefined
  /** How the nodes' values combine: summed (counts), or the worst node's. */
  across: 'sum' | 'max'
}

const either = (a: number | undefined, b: number | undefined) =>
  a === undefined ? b : b === undefined ? a : Math.max(a, b)

/** The figures that matter in an incident, in the order they are read. */
const CHARTS: ChartSpec[] = [
  {
    title: 'Commands per period, all nodes (GetTypeCmds + SetTypeCmds)',
    yAxis: 'commands',
    value: (m) => {
      const get = m('getTypeCmds')
      const set = m('setTypeCmds')
      return get === undefined && set === undefined ? undefined : (get ?? 0) + (set ?? 0)
    },
    across: 'sum',
  },
  {
    title: 'Request latency, worst node (usec)',
    yAxis: 'usec',
    value: (m) => either(m('readLatency'), m('writeLatency')),
    across: 'max',
  },
  {
    title: 'Memory used, fullest node (% of maxmemory)',
    yAxis: '%',
    value: (m) => m('memoryUsagePercent'),
    across: 'max',
  },
  {
    title: 'Replication lag, worst replica (seconds)',
    yAxis: 'seconds',
    value: (m) => m('replicationLag'),
    across: 'max',
  },
  { title: 'Evictions per period, all nodes', yAxis: 'keys', value: (m) => m('evictions'), across: 'sum' },
]

/** Mermaid xychart-beta blocks for the figures that have data. */
export function mermaidCharts(cw: CloudWatchSummary): string[] {
  const nodes = Object.values(cw.series ?? {})
  const any = nodes.flatMap((byMetric) => Object.values(byMetric))[0]
  if (!any) return []
  const { start, periodSeconds } = any
  const slots = any.values.length
  const at = (s: CloudWatchSeries | undefined, i: number) => s?.values[i] ?? undefined
  const out: string[] = []
  const perBucket = Math.max(1, Math.ceil(slots / CHART_POINTS))
  for (const chart of CHARTS) {
    const combined: (number | null)[] = []
    for (let i = 0; i < slots; i++) {
      const values = nodes
        .map((byMetric) => chart.value((metric) => at(byMetric[metric], i)))
        .filter((v): v is number => v !== undefined)
      combined.push(
        values.length
          ? chart.across === 'sum'
            ? values.reduce((a, b) => a + b, 0)
            : Math.max(...values)
          : null,
      )
    }
    if (combined.every((v) => v === null)) continue
    const points: { label: string; value: number }[] = []
    for (let b = 0; b * perBucket < slots; b++) {
      const bucket = combined.slice(b * perBucket, (b + 1) * perBucket).filter((v): v is number => v !== null)
      // A bucket without data is left out: the x axis is a list of times, not a scale.
      if (bucket.length)
        points.push({
          label: utc(start + b * perBucket * periodSeconds * 1000),
          value: round(Math.max(...bucket)),
        })
    }
    out.push(
      '```mermaid',
      'xychart-beta',
      `  title "${chart.title}"`,
      `  x-axis [${points.map((p) => `"${p.label}"`).join(', ')}]`,
      `  y-axis "${chart.yAxis}"`,
      `  line [${points.map((p) => p.value).join(', ')}]`,
      '```',
      '',
    )
  }
  if (!out.length) return []
  out.pop()
  const minutes = (perBucket * periodSeconds) / 60
  return [
    `Periods of ${periodSeconds / 60} min; each point is the highest in ${minutes} min (UTC).`,
    '',
    ...out,
  ]
}
