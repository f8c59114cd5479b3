import { formatBytesShort, formatCountShort } from '../format/units.js'
import type { AlertThresholds } from '../metrics/alerts.js'
import { CLOUDWATCH_COLUMNS, fmtLag, fmtPercent, fmtUs, nodeState } from '../metrics/format.js'
import type { NodeStatus, Snapshot } from '../metrics/types.js'
import { fit, visibleColumns, type Column as TableColumn } from './columns.js'
import { esc } from './markup.js'
import { matchesFilter } from './node-filter.js'
import { hotNodes, markOf, nodeFlags, type Flags } from './node-flags.js'
import { sortNodes } from './node-sort.js'
import type { ViewState } from './view-state.js'

/** The nodes table: its columns (live figures, or CloudWatch's), rows filtered, sorted and colored. */

type Column = TableColumn<NodeStatus, Flags>

export const NODE_COLUMNS: Column[] = [
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
  const cols = visibleColumns(width, s.dataPlane ? CLOUDWATCH_TABLE : sizedToContent(NODE_COLUMNS, s.nodes))
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
