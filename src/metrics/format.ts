import { formatBytesShort, formatCountShort, formatDurationShort } from '../format/units.js'
import { renderTable } from '../format/table.js'
import type { MonitorEvent } from './alerts.js'
import type { ShardReplication } from './replication.js'
import { type CommandLogGroup, type SlowlogGroup } from './log-groups.js'
import { formatArgs, type LargeLogKind } from './log-reply.js'
import { type CommandLogEntry, type SlowlogEntry } from './slowlog.js'
import type { DataPlaneStatus, NodeStatus, Snapshot } from './types.js'

/** Plain-text presentation of monitoring data (tables for `status`, `replication`, `slowlog`). */

export function fmtPercent(fraction: number | undefined, digits = 0): string {
  return fraction === undefined ? '-' : `${(fraction * 100).toFixed(digits)}%`
}

export function fmtUs(us: number | undefined): string {
  if (us === undefined) return '-'
  if (us < 1000) return `${us < 10 ? us.toFixed(1) : Math.round(us)}us`
  if (us < 1e6) return `${(us / 1000).toFixed(us < 1e4 ? 2 : 1)}ms`
  return `${(us / 1e6).toFixed(2)}s`
}

export function fmtTime(at: number): string {
  const d = new Date(at)
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}:${String(d.getSeconds()).padStart(2, '0')}`
}

export function fmtLag(n: NodeStatus): string {
  const r = n.replication
  if (!r) return ''
  if (r.link === 'down' && r.lagBytes === undefined) return 'link down'
  const text = `${formatBytesShort(r.lagBytes)}/${formatDurationShort(r.lagSeconds)}`
  return r.link === 'down' ? `${text} (link down)` : text
}

export function nodeState(n: NodeStatus): string {
  if (n.up) return n.loading ? 'loading' : 'up'
  if (n.state === 'unreachable') return 'unreachable'
  return n.state === 'timeout' ? 'timeout' : n.state === 'connecting' ? 'connecting' : 'down'
}

function deploymentLine(s: Snapshot): string {
  const d = s.deployment
  const parts = [
    d.provider ?? 'unknown provider',
    d.engine && d.version ? `${d.engine} ${d.version}` : undefined,
    d.mode,
    `${d.shards} shard${d.shards === 1 ? '' : 's'}`,
    `${s.cluster.nodesUp}/${d.nodes} nodes up`,
    d.slotsCovered !== undefined ? `${d.slotsCovered}/16384 slots` : undefined,
    d.clusterState ? `state ${d.clusterState}` : undefined,
  ]
  return parts.filter(Boolean).join(' | ')
}

function totalsLine(s: Snapshot): string {
  const c = s.cluster
  return [
    `ops/s ${formatCountShort(c.opsPerSec)}`,
    `hit ${fmtPercent(c.hitRatio)}`,
    `mem ${formatBytesShort(c.memoryUsed)}${c.maxmemory ? `/${formatBytesShort(c.maxmemory)}` : ''}`,
    `keys ${formatCountShort(c.keys)}`,
    `clients ${formatCountShort(c.connectedClients)}`,
    `net in ${formatBytesShort(c.netInputBytesPerSec)}/s out ${formatBytesShort(c.netOutputBytesPerSec)}/s`,
  ].join(' | ')
}

export function formatNodeTable(nodes: NodeStatus[]): string {
  // Shown only when some node has them: the availability zone (Valkey 8) and I/O threads at work.
  const az = nodes.some((n) => n.availabilityZone)
  const io = nodes.some((n) => n.ioThreads?.active)
  const headers = [
    'NODE',
    'ROLE',
    'SHARD',
    ...(az ? ['AZ'] : []),
    'STATE',
    'OPS/S',
    'LAT',
    'P99',
    'CPU',
    'MEM',
    'HIT',
    'CLIENTS',
    'KEYS',
    ...(io ? ['IO THREADS'] : []),
    'LAG',
  ]
  const rows = nodes.map((n) => [
    n.address,
    n.role,
    String(n.shard),
    ...(az ? [n.availabilityZone ?? '-'] : []),
    nodeState(n),
    formatCountShort(n.opsPerSec),
    fmtUs(n.latencyUs),
    fmtUs(n.p99Us),
    n.cpuPercent === undefined ? '-' : `${n.cpuPercent.toFixed(0)}%`,
    n.memory.maxmemory
      ? `${formatBytesShort(n.memory.used)}/${formatBytesShort(n.memory.maxmemory)}`
      : formatBytesShort(n.memory.used),
    fmtPercent(n.hitRatio),
    formatCountShort(n.clients.connected),
    formatCountShort(n.keys),
    ...(io ? [ioCell(n)] : []),
    fmtLag(n),
  ])
  return renderTable(headers, rows, [
    'left',
    'left',
    'right',
    ...(az ? (['left'] as const) : []),
    'left',
    'right',
    'right',
    'right',
    'right',
    'right',
    'right',
    'right',
    'right',
    ...(io ? (['left'] as const) : []),
    'left',
  ])
}

/** `on` with the reads and writes per second done on I/O threads, or `off`. */
function ioCell(n: NodeStatus): string {
  const t = n.ioThreads
  if (!t) return '-'
  if (!t.active) return 'off'
  const rw = (t.readsPerSec ?? 0) + (t.writesPerSec ?? 0)
  return t.readsPerSec === undefined && t.writesPerSec === undefined
    ? 'on'
    : `on ${formatCountShort(rw)} io/s`
}

export function formatEvent(e: MonitorEvent): string {
  return `${fmtTime(e.at)} ${e.type.padEnd(14)} ${e.message}`
}

export function formatStatus(s: Snapshot, options: { events?: MonitorEvent[] } = {}): string {
  const lines = [deploymentLine(s), totalsLine(s), '', formatNodeTable(s.nodes)]
  if (s.external) {
    lines.push(
      '',
      `${s.external.source}: ${s.external.at ? `as of ${fmtTime(s.external.at)}` : 'no data yet'}${s.external.error ? ` (error: ${s.external.error})` : ''}`,
    )
  }
  if (s.alerts.length) {
    lines.push('', 'ALERTS')
    for (const a of s.alerts) lines.push(`  ${a.severity.padEnd(8)} ${a.message}`)
  }
  const events = options.events ?? []
  if (events.length) {
    lines.push('', 'EVENTS')
    for (const e of events) lines.push(`  ${formatEvent(e)}`)
  }
  return lines.join('\n')
}

/** The one line `status`, `top` and `triage` print when only CloudWatch could be read. */
export function dataPlaneLine(d: DataPlaneStatus): string {
  return (
    `nodes unreachable from here${d.reason ? ` (${d.reason})` : ''}: showing CloudWatch only; ` +
    'run kvtop from inside the VPC (bastion, SSM port forwarding) for live figures'
  )
}

const pctFigure = (v: number | undefined) => (v === undefined ? '-' : `${v.toFixed(0)}%`)

/** Per-node figures of a CloudWatch-only status, by kvtop's CloudWatch metric names. */
export const CLOUDWATCH_COLUMNS: {
  title: string
  align: 'left' | 'right'
  cell: (m: Record<string, number>) => string
}[] = [
  { title: 'CPU', align: 'right', cell: (m) => pctFigure(m.cpu) },
  { title: 'ENGINE CPU', align: 'right', cell: (m) => pctFigure(m.engineCpu) },
  { title: 'MEM%', align: 'right', cell: (m) => pctFigure(m.memoryUsagePercent) },
  { title: 'MEM USED', align: 'right', cell: (m) => formatBytesShort(m.bytesUsed) },
  { title: 'CONNS', align: 'right', cell: (m) => formatCountShort(m.currConnections) },
  {
    title: 'CMDS/MIN',
    align: 'right',
    cell: (m) =>
      m.getTypeCmds === undefined && m.setTypeCmds === undefined
        ? '-'
        : formatCountShort((m.getTypeCmds ?? 0) + (m.setTypeCmds ?? 0)),
  },
  { title: 'HITS/MIN', align: 'right', cell: (m) => formatCountShort(m.hits) },
  { title: 'MISSES/MIN', align: 'right', cell: (m) => formatCountShort(m.misses) },
  { title: 'EVICTED/MIN', align: 'right', cell: (m) => formatCountShort(m.evictions) },
  { title: 'REPL LAG', align: 'right', cell: (m) => formatDurationShort(m.replicationLag) },
]

/**
 * `status` when the nodes cannot be reached: the line saying so, the deployment as AWS describes
 * it, and every node's latest CloudWatch figures (60 s periods: counters are per minute).
 */
export function formatCloudWatchOnly(
  s: Snapshot,
  options: {
    events?: MonitorEvent[]
    /** Print the line saying why (default true; once per --watch). */ notice?: boolean
  } = {},
): string {
  const d = s.deployment
  const ext = s.external
  const lines = [
    ...(options.notice === false ? [] : [dataPlaneLine(s.dataPlane ?? { reachable: false })]),
    [
      d.provider ?? 'unknown provider',
      d.engine && d.version ? `${d.engine} ${d.version}` : d.engine,
      d.mode,
      `${d.shards} shard${d.shards === 1 ? '' : 's'}`,
      `${d.nodes} node${d.nodes === 1 ? '' : 's'} (as AWS describes them)`,
      ext
        ? `${ext.source} ${ext.at ? `as of ${fmtTime(ext.at)}` : 'no data'}${ext.error ? ` (error: ${ext.error})` : ''}`
        : undefined,
    ]
      .filter(Boolean)
      .join(' | '),
    '',
  ]
  const rows = s.nodes.map((n) => [
    n.id,
    n.address === n.id ? '-' : n.address,
    n.role,
    String(n.shard),
    ...CLOUDWATCH_COLUMNS.map((c) => c.cell(n.external ?? {})),
  ])
  lines.push(
    renderTable(['NODE', 'ADDRESS', 'ROLE', 'SHARD', ...CLOUDWATCH_COLUMNS.map((c) => c.title)], rows, [
      'left',
      'left',
      'left',
      'right',
      ...CLOUDWATCH_COLUMNS.map((c) => c.align),
    ]),
  )
  const events = options.events ?? s.events
  if (events.length) {
    lines.push('', 'EVENTS')
    for (const e of events) lines.push(`  ${formatEvent(e)}`)
  }
  return lines.join('\n')
}

export function formatReplication(shards: ShardReplication[]): string {
  const out: string[] = []
  for (const s of shards) {
    const backlog = s.backlog
      ? `backlog ${formatBytesShort(s.backlog.size)}${s.backlog.active ? '' : ' (inactive)'}`
      : 'backlog -'
    out.push(
      `shard ${s.shard}  primary ${s.primaryAddress ?? '?'}${s.primaryUp ? '' : ' (down)'}  offset ${s.primaryOffset ?? '-'}  writes ${s.writeBytesPerSec === undefined ? '-' : `${formatBytesShort(s.writeBytesPerSec)}/s`}  ${backlog}  full syncs ${s.fullSyncs ?? '-'}`,
    )
    if (!s.replicas.length) {
      out.push('  (no replicas)', '')
      continue
    }
    const rows = s.replicas.map((r) => [
      `  ${r.address}`,
      r.up ? 'up' : 'down',
      r.link,
      r.state ?? '-',
      r.offset === undefined ? '-' : String(r.offset),
      r.lagBytes === undefined ? '-' : String(r.lagBytes),
      formatDurationShort(r.lagSeconds),
      r.backlogHeadroomBytes === undefined ? '-' : formatBytesShort(r.backlogHeadroomBytes),
      formatDurationShort(r.backlogHeadroomSeconds),
      r.fullResyncRisk ? 'yes' : 'no',
    ])
    out.push(
      renderTable(
        [
          '  REPLICA',
          'NODE',
          'LINK',
          'STATE',
          'OFFSET',
          'LAG BYTES',
          'LAG',
          'HEADROOM',
          'HEADROOM TIME',
          'RESYNC RISK',
        ],
        rows,
        ['left', 'left', 'left', 'left', 'right', 'right', 'right', 'right', 'right', 'left'],
      ),
      '',
    )
  }
  return out.join('\n').trimEnd()
}

export function formatSlowlog(entries: SlowlogEntry[]): string {
  if (!entries.length) return 'No slowlog entries.'
  const rows = entries.map((e) => [
    fmtTime(e.at),
    fmtUs(e.durationUs),
    e.address,
    String(e.shard),
    e.role,
    truncate(formatArgs(e), 80),
    e.client,
  ])
  return renderTable(['TIME', 'DURATION', 'NODE', 'SHARD', 'ROLE', 'COMMAND', 'CLIENT'], rows, [
    'left',
    'right',
    'left',
    'right',
    'left',
    'left',
    'left',
  ])
}

/** One entry on one line, fixed columns (for `slowlog --follow`). */
export function formatSlowlogLine(e: SlowlogEntry): string {
  return `${fmtTime(e.at)} ${fmtUs(e.durationUs).padStart(8)}  ${e.address.padEnd(21)} s${String(e.shard).padEnd(3)} ${e.role.padEnd(7)}  ${formatArgs(e)}  (${e.client})`
}

export function formatSlowlogGroups(groups: SlowlogGroup[]): string {
  if (!groups.length) return 'No slowlog entries.'
  return groupsTable(groups, (g) => [fmtUs(g.totalUs), fmtUs(g.avgUs), fmtUs(g.maxUs)])
}

/** Slowlog and COMMANDLOG groups share one table; only the measure (time or size) differs. */
function groupsTable<G extends { pattern: string; count: number; nodes: unknown[]; lastAt: number }>(
  groups: G[],
  totalAvgMax: (g: G) => [string, string, string],
): string {
  const rows = groups.map((g) => [
    truncate(g.pattern, 60),
    String(g.count),
    ...totalAvgMax(g),
    String(g.nodes.length),
    fmtTime(g.lastAt),
  ])
  return renderTable(['PATTERN', 'COUNT', 'TOTAL', 'AVG', 'MAX', 'NODES', 'LAST'], rows, [
    'left',
    'right',
    'right',
    'right',
    'right',
    'right',
    'left',
  ])
}

/** `kvtop slowlog --kind large-request|large-reply`: one row per entry, its size instead of a time. */
export function formatCommandLog(entries: CommandLogEntry[], kind: LargeLogKind): string {
  if (!entries.length) return `No ${kind} entries.`
  const rows = entries.map((e) => [
    fmtTime(e.at),
    formatBytesShort(e.bytes),
    e.address,
    String(e.shard),
    e.role,
    truncate(formatArgs(e), 80),
    e.client,
  ])
  return renderTable(
    ['TIME', kind === 'large-request' ? 'REQUEST' : 'REPLY', 'NODE', 'SHARD', 'ROLE', 'COMMAND', 'CLIENT'],
    rows,
    ['left', 'right', 'left', 'right', 'left', 'left', 'left'],
  )
}

/** One COMMANDLOG size entry on one line, fixed columns (for `slowlog --kind ... --follow`). */
export function formatCommandLogLine(e: CommandLogEntry): string {
  return `${fmtTime(e.at)} ${formatBytesShort(e.bytes).padStart(8)}  ${e.address.padEnd(21)} s${String(e.shard).padEnd(3)} ${e.role.padEnd(7)}  ${formatArgs(e)}  (${e.client})`
}

export function formatCommandLogGroups(groups: CommandLogGroup[], kind: LargeLogKind): string {
  if (!groups.length) return `No ${kind} entries.`
  return groupsTable(groups, (g) => [
    formatBytesShort(g.totalBytes),
    formatBytesShort(g.avgBytes),
    formatBytesShort(g.maxBytes),
  ])
}

export function truncate(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, Math.max(0, width - 1))}…`
}
