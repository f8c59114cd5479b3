import { formatBytesShort, formatCountShort, formatDurationShort } from '../format/units.js'
import type { AlertThresholds, MonitorEvent } from '../metrics/alerts.js'
import {
  CLOUDWATCH_COLUMNS,
  dataPlaneLine,
  fmtLag,
  fmtPercent,
  fmtTime,
  fmtUs,
  nodeState,
  truncate,
} from '../metrics/format.js'
import type { Sample, SeriesStore } from '../metrics/history.js'
import { formatArgs, type SlowlogEntry } from '../metrics/slowlog.js'
import { sparkChars } from '../format/sparkline.js'
import type { NodeStatus, Snapshot } from '../metrics/types.js'

/**
 * Everything the dashboard shows, computed from snapshots without blessed: rows, lines, layout.
 * Strings may carry blessed tags ({red-fg}...{/red-fg}); text from servers is escaped first.
 */

/** Escape blessed tag braces in server-provided text (hash-tagged keys like `{user1}:cart`). */
export function esc(text: string): string {
  return text.replace(/[{}]/g, (c) => (c === '{' ? '{open}' : '{close}'))
}

type SortKey = 'shard' | 'ops' | 'latency' | 'cpu' | 'memory' | 'lag' | 'hit' | 'clients' | 'address'
export const SORT_KEYS: SortKey[] = [
  'shard',
  'ops',
  'latency',
  'cpu',
  'memory',
  'lag',
  'hit',
  'clients',
  'address',
]

/** The chart windows the `w` key steps through, minutes. */
export const CHART_WINDOWS = [1, 5, 15] as const
type ChartWindow = (typeof CHART_WINDOWS)[number]

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

export interface ViewState {
  sort: SortKey
  descending: boolean
  filter: string
  paused: boolean
  selectedId?: string
  /** Minutes of history the charts show. */
  window: ChartWindow
  /** Where there is room for two charts only: the cluster's figures, or the selected node's. */
  chartScope: 'cluster' | 'node'
}

export function initialViewState(): ViewState {
  return { sort: 'shard', descending: false, filter: '', paused: false, window: 5, chartScope: 'cluster' }
}

interface Flags {
  down: boolean
  lagging: boolean
  hot: boolean
}

function isLagging(n: NodeStatus, t: AlertThresholds): boolean {
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

function nodeFlags(n: NodeStatus, t: AlertThresholds, hot: Set<string>): Flags {
  return { down: !n.up, lagging: isLagging(n, t), hot: hot.has(n.id) }
}

/** `primary`, `replica`, `down`, `up`, `lag`, `hot`, `shard:3` or `s3`, or any part of the address / id. */
export function matchesFilter(n: NodeStatus, filter: string, flags?: Flags): boolean {
  const terms = filter.trim().toLowerCase().split(/\s+/).filter(Boolean)
  return terms.every((term) => {
    const shard = /^(?:shard:|s)(\d+)$/.exec(term)
    if (shard) return n.shard === Number(shard[1])
    if (term === 'primary' || term === 'replica') return n.role === term
    if (term === 'down') return !n.up
    if (term === 'up') return n.up
    if (term === 'lag' || term === 'lagging') return flags?.lagging ?? false
    if (term === 'hot') return flags?.hot ?? false
    return n.address.toLowerCase().includes(term) || n.id.toLowerCase().startsWith(term)
  })
}

function sortValue(n: NodeStatus, key: SortKey): number | string {
  // Without live figures (nodes unreachable from here), CloudWatch's stand in.
  const cw = n.external ?? {}
  switch (key) {
    case 'ops':
      return n.opsPerSec ?? (cw.getTypeCmds ?? -1) + (cw.setTypeCmds ?? 0)
    case 'latency':
      return n.latencyUs ?? -1
    case 'cpu':
      return n.cpuPercent ?? cw.engineCpu ?? cw.cpu ?? -1
    case 'memory':
      return n.memory.used ?? cw.bytesUsed ?? -1
    case 'lag':
      return n.replication?.lagBytes ?? cw.replicationLag ?? -1
    case 'hit':
      return n.hitRatio ?? -1
    case 'clients':
      return n.clients.connected ?? cw.currConnections ?? -1
    case 'address':
      return n.address
    case 'shard':
      return n.shard
  }
}

/** Sort: by the key (numbers high first when descending), then shard, primary first, address. */
export function sortNodes(nodes: NodeStatus[], key: SortKey, descending: boolean): NodeStatus[] {
  const cmp = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0)
  const tie = (a: NodeStatus, b: NodeStatus) =>
    a.shard - b.shard || (a.role === b.role ? 0 : a.role === 'primary' ? -1 : 1) || cmp(a.address, b.address)
  return [...nodes].sort((a, b) => {
    const va = sortValue(a, key)
    const vb = sortValue(b, key)
    let c = typeof va === 'string' ? cmp(va, vb as string) : va - (vb as number)
    if (descending) c = -c
    return c || tie(a, b)
  })
}

interface Column {
  title: string
  width: number
  align: 'left' | 'right'
  /** Lower comes first when the table is too narrow for every column. */
  priority?: number
  cell: (n: NodeStatus, flags?: Flags) => string
}

/**
 * The marker column: down, lagging and hot rows carry a symbol as well as a color, for screens,
 * terminals and eyes without color.
 */
export const MARKS = { down: '✗', lagging: '!', hot: '▲' } as const

function markOf(flags: Flags | undefined): string {
  if (!flags) return ' '
  return flags.down ? MARKS.down : flags.lagging ? MARKS.lagging : flags.hot ? MARKS.hot : ' '
}

const COLUMNS: Column[] = [
  { title: ' ', width: 1, align: 'left', priority: 0, cell: (_n, flags) => markOf(flags) },
  { title: 'NODE', width: 21, align: 'left', priority: 0, cell: (n) => n.address },
  { title: 'ROLE', width: 7, align: 'left', priority: 2, cell: (n) => n.role },
  { title: 'SH', width: 3, align: 'right', priority: 3, cell: (n) => String(n.shard) },
  { title: 'STATE', width: 7, align: 'left', priority: 0, cell: (n) => nodeState(n) },
  { title: 'OPS/S', width: 7, align: 'right', priority: 4, cell: (n) => formatCountShort(n.opsPerSec) },
  { title: 'LAT', width: 7, align: 'right', priority: 6, cell: (n) => fmtUs(n.latencyUs) },
  { title: 'P99', width: 7, align: 'right', priority: 5, cell: (n) => fmtUs(n.p99Us) },
  {
    title: 'CPU',
    width: 4,
    align: 'right',
    priority: 8,
    cell: (n) => (n.cpuPercent === undefined ? '-' : `${Math.round(n.cpuPercent)}%`),
  },
  { title: 'MEM', width: 7, align: 'right', priority: 9, cell: (n) => formatBytesShort(n.memory.used) },
  { title: 'HIT', width: 4, align: 'right', priority: 10, cell: (n) => fmtPercent(n.hitRatio) },
  { title: 'LAG', width: 14, align: 'left', priority: 1, cell: (n) => fmtLag(n) },
  { title: 'MEM%', width: 4, align: 'right', priority: 7, cell: (n) => fmtPercent(n.memory.usedFraction) },
  {
    title: 'CLI',
    width: 5,
    align: 'right',
    priority: 11,
    cell: (n) => formatCountShort(n.clients.connected),
  },
]

const CW_WIDTHS: Record<string, number> = {
  CPU: 4,
  'ENGINE CPU': 10,
  'MEM%': 4,
  'MEM USED': 8,
  CONNS: 5,
  'CMDS/MIN': 8,
  'HITS/MIN': 8,
  'MISSES/MIN': 10,
  'EVICTED/MIN': 11,
  'REPL LAG': 8,
}

/**
 * The table when the nodes cannot be reached from here: AWS's node names and CloudWatch's latest
 * figures (per minute for counters) in place of the live ones.
 */
const CLOUDWATCH_TABLE: Column[] = [
  { title: 'NODE', width: 21, align: 'left', cell: (n) => (n.address === n.id ? '-' : n.address) },
  { title: 'AWS NODE', width: 20, align: 'left', cell: (n) => n.id },
  { title: 'ROLE', width: 7, align: 'left', cell: (n) => n.role },
  { title: 'SH', width: 3, align: 'right', cell: (n) => String(n.shard) },
  ...CLOUDWATCH_COLUMNS.map((c): Column => ({
    title: c.title,
    width: CW_WIDTHS[c.title] ?? c.title.length,
    align: c.align,
    cell: (n) => c.cell(n.external ?? {}),
  })),
]

export function fit(text: string, width: number, align: 'left' | 'right'): string {
  const t = text.length > width ? truncate(text, width) : text
  return align === 'right' ? t.padStart(width) : t.padEnd(width)
}

/**
 * Columns that fit in `width` characters: taken by priority (in order where none is given), each
 * one that fits added, shown in their own order.
 */
export function visibleColumns<C extends Pick<Column, 'width' | 'priority'> = Column>(
  width: number,
  columns: C[] = COLUMNS as unknown as C[],
): C[] {
  const ranked = columns
    .map((c, i) => ({ c, i, rank: c.priority ?? i }))
    .sort((a, b) => a.rank - b.rank || a.i - b.i)
  const chosen = new Set<number>()
  let used = 0
  for (const { c, i } of ranked) {
    const need = c.width + (chosen.size ? 1 : 0)
    if (used + need > width) {
      // Without a priority the columns are one ordered list: the first that does not fit ends it.
      if (c.priority === undefined) break
      continue
    }
    used += need
    chosen.add(i)
  }
  return columns.filter((_, i) => chosen.has(i))
}

/** The NODE column as wide as the longest address (up to its usual width): the rest get the room. */
function sizedToContent(columns: Column[], nodes: NodeStatus[]): Column[] {
  const longest = Math.max(4, ...nodes.map((n) => n.address.length))
  return columns.map((c) => (c.title === 'NODE' ? { ...c, width: Math.min(c.width, longest) } : c))
}

export interface TableRow {
  id: string
  /** Plain text of the row (tests and width). */
  text: string
  /** The row with color tags for its flags. */
  tagged: string
  flags: Flags
}

export function nodeTable(
  s: Snapshot,
  state: ViewState,
  t: AlertThresholds,
  width: number,
): { header: string; rows: TableRow[]; total: number } {
  const cols = visibleColumns(width, s.dataPlane ? CLOUDWATCH_TABLE : sizedToContent(COLUMNS, s.nodes))
  const hot = hotNodes(s.nodes)
  const withFlags = s.nodes.map((n) => ({ n, flags: nodeFlags(n, t, hot) }))
  const shown = withFlags.filter(({ n, flags }) => matchesFilter(n, state.filter, flags))
  const order = sortNodes(
    shown.map((x) => x.n),
    state.sort,
    state.descending,
  )
  const flagsById = new Map(withFlags.map((x) => [x.n.id, x.flags]))
  const header = cols.map((c) => fit(c.title, c.width, c.align)).join(' ')
  const rows = order.map((n) => {
    const flags = flagsById.get(n.id)!
    const text = cols.map((c) => fit(c.cell(n, flags), c.width, c.align)).join(' ')
    // Unreachable from here is not down: no red rows when only CloudWatch can be seen.
    const color =
      flags.down && !s.dataPlane ? 'red' : flags.lagging ? 'yellow' : flags.hot ? 'magenta' : undefined
    const tagged = color ? `{${color}-fg}${esc(text)}{/${color}-fg}` : esc(text)
    return { id: n.id, text, tagged, flags }
  })
  return { header, rows, total: s.nodes.length }
}

function sortLabel(state: ViewState): string {
  return `sort: ${state.sort}${state.descending ? ' desc' : ''}${state.filter ? ` | filter: ${state.filter}` : ''}${state.paused ? ' | PAUSED' : ''}`
}

interface HeaderPart {
  text: string
  /** Lower stays longer when the line is too narrow for every part. */
  priority: number
}

const plainLength = (t: string) => t.replace(/\{[^{}]*\}/g, '').length

/** The parts that fit on one line of `room` characters, in their own order, dropping the least important first. */
function fitParts(parts: HeaderPart[], room: number): string {
  const kept = [...parts]
  const length = () => kept.reduce((sum, p, i) => sum + plainLength(p.text) + (i ? 2 : 0), 0)
  while (kept.length > 1 && length() > room) {
    const worst = kept.reduce((w, p, i) => (p.priority > kept[w].priority ? i : w), 0)
    kept.splice(worst, 1)
  }
  return kept.map((p) => p.text).join('  ')
}

/**
 * The header's lines: two where the screen is tall enough, else one (`maxLines` 1) with what matters
 * in an incident kept first: nodes up, cluster state, alerts, ops/s. `width` is the header's inner
 * width; the CloudWatch-only line wraps to it.
 */
export function headerLines(s: Snapshot, state: ViewState, width = Infinity, maxLines = 2): string[] {
  if (s.dataPlane) return cloudWatchOnlyHeader(s, state, width)
  const d = s.deployment
  const c = s.cluster
  const allUp = c.nodesUp === d.nodes
  const p = (text: string | undefined, priority: number): HeaderPart[] => (text ? [{ text, priority }] : [])
  const kvtop = p('{bold}kvtop{/bold}', 0)
  const up = p(`${allUp ? '' : '{red-fg}'}${c.nodesUp}/${d.nodes} nodes up${allUp ? '' : '{/red-fg}'}`, 0)
  const clusterState = p(
    d.clusterState
      ? `state ${d.clusterState === 'ok' ? d.clusterState : `{red-fg}${d.clusterState}{/red-fg}`}`
      : undefined,
    1,
  )
  const alerts = p(`alerts ${s.alerts.length ? `{red-fg}${s.alerts.length}{/red-fg}` : '0'}`, 0)
  const ops = p(`ops/s ${formatCountShort(c.opsPerSec)}`, 1)
  const mem = p(
    `mem ${formatBytesShort(c.memoryUsed)}${c.maxmemory ? `/${formatBytesShort(c.maxmemory)}` : ''}`,
    3,
  )
  const hit = p(`hit ${fmtPercent(c.hitRatio)}`, 4)
  const shards = p(`${d.shards} shard${d.shards === 1 ? '' : 's'}`, 3)
  const mode = p(d.mode, 5)
  const engine = p(d.engine && d.version ? `${d.engine} ${d.version}` : '?', 6)
  const provider = p(d.provider ?? '?', 7)
  const slots = p(d.slotsCovered !== undefined ? `slots ${d.slotsCovered}/16384` : undefined, 6)
  const keys = p(`keys ${formatCountShort(c.keys)}`, 8)
  const clients = p(`clients ${formatCountShort(c.connectedClients)}`, 8)
  const round = p(`round ${s.roundMs}ms @ ${fmtTime(s.at)}`, 9)
  // Paused and a filter change what is on screen: they stay; the sort order is on the table already.
  const paused = p(state.paused ? 'PAUSED' : undefined, 0)
  const filter = p(state.filter ? `filter: ${state.filter}` : undefined, 1)
  const sort = p(`sort: ${state.sort}${state.descending ? ' desc' : ''}`, 9)
  // blessed wraps a line as long as the box is wide: one column less than the width.
  const room = width - 1
  if (maxLines >= 2) {
    const first = [kvtop, provider, engine, mode, shards, up, slots, clusterState].flat()
    const second = [ops, hit, mem, keys, clients, alerts, round].flat()
    return [fitParts(first, room), fitParts([...second, { text: sortLabel(state), priority: 0 }], room)]
  }
  return [
    fitParts(
      [
        kvtop,
        up,
        clusterState,
        alerts,
        paused,
        filter,
        ops,
        mem,
        hit,
        shards,
        mode,
        engine,
        provider,
        slots,
        keys,
        clients,
        sort,
        round,
      ].flat(),
      room,
    ),
  ]
}

/** The header when only CloudWatch can be seen: the deployment as AWS describes it, and the line saying why. */
function cloudWatchOnlyHeader(s: Snapshot, state: ViewState, width: number): string[] {
  const d = s.deployment
  const ext = s.external
  const parts = [
    `{bold}kvtop{/bold}`,
    d.provider ?? '?',
    d.engine && d.version ? `${d.engine} ${d.version}` : (d.engine ?? '?'),
    d.mode,
    `${d.shards} shard${d.shards === 1 ? '' : 's'}`,
    `${d.nodes} node${d.nodes === 1 ? '' : 's'} (AWS)`,
    ext
      ? `${ext.source} ${ext.at ? `as of ${fmtTime(ext.at)}` : 'no data'}${ext.error ? ` {red-fg}${esc(ext.error)}{/red-fg}` : ''}`
      : undefined,
    sortLabel(state),
  ].filter((p): p is string => Boolean(p))
  // One line: the parts that fit (a wrapped line would push the notice out of the header). blessed
  // wraps a line as long as the box is wide: one column less than the width.
  const room = width - 1
  let first = parts[0]
  for (const p of parts.slice(1)) {
    if (plainLength(first) + 2 + plainLength(p) > room) break
    first += `  ${p}`
  }
  const notice = Number.isFinite(width)
    ? wrapText(dataPlaneLine(s.dataPlane!), Math.max(20, room), '  ').slice(0, 3)
    : [dataPlaneLine(s.dataPlane!)]
  return [first, ...notice.map((l) => `{yellow-fg}${esc(l)}{/yellow-fg}`)]
}

/** A sparkline of the last `width` values. */
export function sparkline(values: number[], width: number): string {
  return sparkChars(values.slice(-width))
}

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

export function slowlogLines(entries: SlowlogEntry[], width: number): string[] {
  if (!entries.length) return ['(no slow commands)']
  // The command first: on a narrow panel the node is what gets cut.
  return entries.map((e) =>
    esc(
      truncate(`${fmtTime(e.at)} ${fmtUs(e.durationUs).padStart(7)} ${formatArgs(e)}  @${e.address}`, width),
    ),
  )
}

const SEVERITY_COLOR: Record<string, string> = { critical: 'red', warning: 'yellow', info: 'green' }

/** The alert log, newest first; long messages wrap onto indented lines of at most `width`. */
export function eventLines(events: MonitorEvent[], width: number): string[] {
  if (!events.length) return ['(no alerts)']
  const out: string[] = []
  for (const e of events) {
    const color = SEVERITY_COLOR[e.severity] ?? 'white'
    for (const line of wrapText(`${fmtTime(e.at)} ${e.type} ${e.message}`, width, '  '))
      out.push(`{${color}-fg}${esc(line)}{/${color}-fg}`)
  }
  return out
}

/** Word-wrap to `width`, continuation lines indented; words longer than a line are cut. */
function wrapText(text: string, width: number, indent = ''): string[] {
  const lines: string[] = []
  let line = ''
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const candidate = line ? `${line} ${word}` : lines.length ? `${indent}${word}` : word
    if (candidate.length <= width || !line)
      line = candidate.length > width ? truncate(candidate, width) : candidate
    else {
      lines.push(line)
      const next = `${indent}${word}`
      line = next.length > width ? truncate(next, width) : next
    }
  }
  if (line) lines.push(line)
  return lines
}

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

export function nodeDetails(n: NodeStatus, s: Snapshot): string[] {
  const repl = s.replication.find((r) => r.shard === n.shard)
  const replica = repl?.replicas.find((r) => r.id === n.id)
  const lines = [
    `{bold}${esc(n.address)}{/bold}  ${n.role}  shard ${n.shard}  ${nodeState(n)}${n.error ? `  {red-fg}${esc(n.error)}{/red-fg}` : ''}`,
    `id ${n.id}`,
    `${n.engine ?? '?'} ${n.version ?? ''}  uptime ${formatDurationShort(n.uptimeSeconds)}  poll ${n.pollMs ?? '-'} ms`,
    n.slots.length ? `slots ${n.slots.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(' ')}` : '',
    '',
    `ops/s ${formatCountShort(n.opsPerSec)}  latency ${fmtUs(n.latencyUs)}  p50 ${fmtUs(n.p50Us)}  p99 ${fmtUs(n.p99Us)}  cpu ${n.cpuPercent === undefined ? '-' : `${n.cpuPercent.toFixed(1)}%`}`,
    `hit ${fmtPercent(n.hitRatio, 1)}  net in ${formatBytesShort(n.netInputBytesPerSec)}/s out ${formatBytesShort(n.netOutputBytesPerSec)}/s  errors/s ${formatCountShort(n.errorsPerSec)}`,
    `evictions/s ${formatCountShort(n.evictionsPerSec)}  expired/s ${formatCountShort(n.expiredPerSec)}  clients ${formatCountShort(n.clients.connected)} (blocked ${formatCountShort(n.clients.blocked)})`,
    `memory ${formatBytesShort(n.memory.used)} / max ${n.memory.maxmemory ? formatBytesShort(n.memory.maxmemory) : 'none'}  rss ${formatBytesShort(n.memory.rss)}  peak ${formatBytesShort(n.memory.peak)}  frag ${n.memory.fragmentationRatio ?? '-'}  ${n.memory.policy ?? ''}`,
    `keys ${formatCountShort(n.keys)}  with ttl ${formatCountShort(n.expires)}`,
  ]
  if (n.role === 'primary' && repl) {
    lines.push(
      '',
      `replication offset ${repl.primaryOffset ?? '-'}  writes ${repl.writeBytesPerSec === undefined ? '-' : `${formatBytesShort(repl.writeBytesPerSec)}/s`}  backlog ${formatBytesShort(repl.backlog?.size)}  full syncs ${repl.fullSyncs ?? '-'}`,
    )
  }
  if (replica) {
    lines.push(
      '',
      `replica of ${repl?.primaryAddress ?? '?'}  link ${replica.link}  offset ${replica.offset ?? '-'}  lag ${replica.lagBytes ?? '-'} bytes / ${formatDurationShort(replica.lagSeconds)}`,
      `backlog headroom ${formatBytesShort(replica.backlogHeadroomBytes)} (${formatDurationShort(replica.backlogHeadroomSeconds)})  full resync risk ${replica.fullResyncRisk ? '{red-fg}yes{/red-fg}' : 'no'}`,
    )
  }
  if (n.topCommands.length) {
    lines.push('', 'top commands')
    for (const c of n.topCommands) {
      lines.push(
        `  ${c.command.padEnd(22)} ${formatCountShort(c.opsPerSec).padStart(7)}/s  ${fmtUs(c.usecPerCall).padStart(8)}  p99 ${fmtUs(c.p99Us)}`,
      )
    }
  }
  if (n.latencyEvents?.length) {
    lines.push('', 'latency monitor')
    for (const e of n.latencyEvents)
      lines.push(`  ${e.event.padEnd(22)} latest ${e.latestMs} ms  max ${e.maxMs} ms  at ${fmtTime(e.at)}`)
  }
  if (n.external) {
    lines.push('', s.external?.source ?? 'external')
    for (const [k, v] of Object.entries(n.external)) lines.push(`  ${k.padEnd(28)} ${v}`)
  }
  return lines.filter((l, i, all) => !(l === '' && all[i - 1] === ''))
}

export const HELP_LINES = [
  '{bold}kvtop top{/bold}',
  '',
  '  q, Ctrl-C     quit',
  '  ↑ ↓, j k      move the selection',
  '  PgUp PgDn     page through nodes',
  '  s / S         next sort column / reverse the order',
  '  /             filter: words from an address, primary, replica, down, lag, hot, s3 (shard 3)',
  '  Esc           clear the filter, close a window',
  '  p             pause / resume the display',
  '  w             chart window: 1, 5 or 15 minutes (of the history kept)',
  '  c             charts: the cluster or the selected node (when only two fit)',
  '  Enter         details of the selected node',
  '  ?             this help',
  '',
  `Rows: {red-fg}${MARKS.down} down{/red-fg}  {yellow-fg}${MARKS.lagging} lagging{/yellow-fg}  {magenta-fg}${MARKS.hot} hot{/magenta-fg}`,
]

export { computeLayout, type Layout, type Rect } from './layout.js'
