import { formatBytesShort, formatCountShort } from '../format/units.js'
import { fmtLag, fmtPercent, fmtUs, truncate } from '../metrics/format.js'
import type { NodeStatus, Snapshot } from '../metrics/types.js'
import { fit, visibleColumns, type Column } from './columns.js'
import { esc } from './markup.js'
import { MARKS } from './node-flags.js'

/**
 * The fleet view of `kvtop top` over several deployments: one line per deployment, computed from
 * its latest snapshot without blessed.
 */

/** One deployment as the fleet view knows it: its latest snapshot, or why there is none. */
export interface FleetEntry {
  name: string
  snapshot?: Snapshot
  /** The deployment could not be reached (as the connection error said it). */
  error?: string
}

type FleetHealth = 'ok' | 'warning' | 'critical' | 'down' | 'connecting'

export function fleetHealth(e: FleetEntry): FleetHealth {
  if (e.error) return 'down'
  const s = e.snapshot
  if (!s) return 'connecting'
  if (s.cluster.nodes > 0 && s.cluster.nodesUp === 0 && !s.dataPlane) return 'down'
  if (s.alerts.some((a) => a.severity === 'critical')) return 'critical'
  return s.alerts.some((a) => a.severity === 'warning') ? 'warning' : 'ok'
}

/** The replica furthest behind (bytes first, then seconds), for the LAG column. */
function worstLagging(s: Snapshot): NodeStatus | undefined {
  let worst: NodeStatus | undefined
  const key = (n: NodeStatus) => [
    n.replication?.link === 'down' ? 1 : 0,
    n.replication?.lagBytes ?? -1,
    n.replication?.lagSeconds ?? -1,
  ]
  for (const n of s.nodes) {
    if (!n.up || !n.replication) continue
    if (!worst) {
      worst = n
      continue
    }
    const [a, b] = [key(n), key(worst)]
    const i = a.findIndex((v, k) => v !== b[k])
    if (i >= 0 && a[i] > b[i]) worst = n
  }
  return worst
}

/** A cluster has no p99 of its own: the worst node's is what a client can meet (as the dashboard's chart). */
function worstP99(s: Snapshot): number | undefined {
  const p99s = s.nodes.flatMap((n) => (n.up && n.p99Us !== undefined ? [n.p99Us] : []))
  return p99s.length ? Math.max(...p99s) : undefined
}

function alertsCell(e: FleetEntry): string {
  if (e.error) return e.error
  const s = e.snapshot
  if (!s) return ''
  if (s.dataPlane) return `CloudWatch only: ${s.dataPlane.reason ?? 'nodes not reachable from here'}`
  if (!s.alerts.length) return '0'
  return `${s.alerts.length} ${s.alerts[0].message}`
}

type FleetColumn = Column<FleetEntry, Snapshot | undefined> & { priority: number }

const HEALTH_MARK: Record<FleetHealth, string> = {
  ok: ' ',
  warning: MARKS.lagging,
  critical: MARKS.down,
  down: MARKS.down,
  connecting: ' ',
}

const FLEET_COLUMNS: FleetColumn[] = [
  { title: ' ', width: 1, align: 'left', priority: 0, cell: (e) => HEALTH_MARK[fleetHealth(e)] },
  { title: 'CLUSTER', width: 24, align: 'left', priority: 0, cell: (e) => e.name },
  { title: 'HEALTH', width: 10, align: 'left', priority: 0, cell: (e) => fleetHealth(e) },
  {
    title: 'NODES',
    width: 5,
    align: 'right',
    priority: 3,
    cell: (_e, s) => (s ? `${s.cluster.nodesUp}/${s.cluster.nodes}` : '-'),
  },
  {
    title: 'OPS/S',
    width: 7,
    align: 'right',
    priority: 1,
    cell: (_e, s) => formatCountShort(s?.cluster.opsPerSec),
  },
  {
    title: 'P99',
    width: 7,
    align: 'right',
    priority: 4,
    cell: (_e, s) => fmtUs(s ? worstP99(s) : undefined),
  },
  {
    title: 'MEM',
    width: 6,
    align: 'right',
    priority: 5,
    cell: (_e, s) => formatBytesShort(s?.cluster.memoryUsed),
  },
  {
    title: 'MEM%',
    width: 4,
    align: 'right',
    priority: 6,
    cell: (_e, s) =>
      fmtPercent(
        s?.cluster.maxmemory && s.cluster.memoryUsed !== undefined
          ? s.cluster.memoryUsed / s.cluster.maxmemory
          : undefined,
      ),
  },
  {
    title: 'WORST LAG',
    width: 13,
    align: 'left',
    priority: 2,
    cell: (_e, s) => {
      const n = s ? worstLagging(s) : undefined
      return n ? fmtLag(n) : '-'
    },
  },
]

interface FleetRow {
  name: string
  health: FleetHealth
  /** Plain text of the row (tests and width). */
  text: string
  /** The row with a colour tag for its health. */
  tagged: string
}

const MIN_ALERTS = 20

const HEALTH_COLOUR: Partial<Record<FleetHealth, string>> = {
  warning: 'yellow',
  critical: 'red',
  down: 'red',
}

/** The table: a header and one row per deployment, in the order given, `width` characters wide. */
export function fleetTable(
  entries: readonly FleetEntry[],
  width: number,
): { header: string; rows: FleetRow[] } {
  const longest = Math.max(7, ...entries.map((e) => e.name.length))
  const sized = FLEET_COLUMNS.map((c) =>
    c.title === 'CLUSTER' ? { ...c, width: Math.min(c.width, longest) } : c,
  )
  // The alerts say what is wrong: they keep room of their own before the figures get theirs.
  const cols = visibleColumns(Math.max(0, width - MIN_ALERTS - 1), sized)
  const used = cols.reduce((n, c) => n + c.width + 1, 0)
  const alertsWidth = width - used
  const line = (cells: string[], alerts: string) => {
    const text = cells.join(' ')
    return alertsWidth >= 6 ? `${text} ${truncate(alerts, alertsWidth)}`.trimEnd() : text.trimEnd()
  }
  const header = line(
    cols.map((c) => fit(c.title, c.width, c.align)),
    'ALERTS',
  )
  const rows = entries.map((e): FleetRow => {
    const health = fleetHealth(e)
    const text = line(
      cols.map((c) => fit(c.cell(e, e.snapshot), c.width, c.align)),
      alertsCell(e),
    )
    const colour = HEALTH_COLOUR[health]
    return {
      name: e.name,
      health,
      text,
      tagged: colour ? `{${colour}-fg}${esc(text)}{/${colour}-fg}` : esc(text),
    }
  })
  return { header, rows }
}

/** The line above the table: how many deployments in which health, and the keys. */
export function fleetHeader(entries: readonly FleetEntry[]): string {
  const counts = new Map<FleetHealth, number>()
  for (const e of entries) counts.set(fleetHealth(e), (counts.get(fleetHealth(e)) ?? 0) + 1)
  const order: FleetHealth[] = ['ok', 'warning', 'critical', 'down', 'connecting']
  const parts = order.filter((h) => counts.get(h)).map((h) => `${counts.get(h)} ${h}`)
  return `kvtop fleet  ${entries.length} deployments  ${parts.join('  ')}  (Enter: open, q: quit)`
}
