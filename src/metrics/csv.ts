import type { NodeStatus, Snapshot } from './types.js'

/**
 * `kvtop status --watch --csv`: one header line, then one row per node per round. Empty cells are
 * figures not known yet (rates need two polls) or that do not apply (lag on a primary). Times are
 * epoch milliseconds, as in the JSON; rates per second.
 */
export const STATUS_CSV_COLUMNS: { name: string; cell: (n: NodeStatus, s: Snapshot) => unknown }[] = [
  { name: 'at', cell: (_n, s) => s.at },
  { name: 'round', cell: (_n, s) => s.round },
  { name: 'node', cell: (n) => n.address },
  { name: 'role', cell: (n) => n.role },
  { name: 'shard', cell: (n) => n.shard },
  { name: 'up', cell: (n) => n.up },
  { name: 'health', cell: (n) => n.health },
  { name: 'opsPerSec', cell: (n) => n.opsPerSec },
  { name: 'latencyUs', cell: (n) => n.latencyUs },
  { name: 'hitRatio', cell: (n) => n.hitRatio },
  { name: 'cpuPercent', cell: (n) => n.cpuPercent },
  { name: 'memoryUsed', cell: (n) => n.memory.used },
  { name: 'maxmemory', cell: (n) => n.memory.maxmemory },
  { name: 'connectedClients', cell: (n) => n.clients.connected },
  { name: 'keys', cell: (n) => n.keys },
  { name: 'evictionsPerSec', cell: (n) => n.evictionsPerSec },
  { name: 'lagBytes', cell: (n) => n.replication?.lagBytes },
  { name: 'lagSeconds', cell: (n) => n.replication?.lagSeconds },
  { name: 'link', cell: (n) => n.replication?.link },
  { name: 'error', cell: (n) => n.error },
]

/** RFC 4180: a cell with a comma, quote or line break is quoted, its quotes doubled. */
export function csvCell(value: unknown): string {
  if (value === undefined || value === null) return ''
  const text =
    typeof value === 'number' && !Number.isInteger(value) ? String(+value.toFixed(4)) : String(value)
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text
}

export function statusCsvHeader(): string {
  return STATUS_CSV_COLUMNS.map((c) => c.name).join(',')
}

export function statusCsvRows(snapshot: Snapshot): string[] {
  return snapshot.nodes.map((n) => STATUS_CSV_COLUMNS.map((c) => csvCell(c.cell(n, snapshot))).join(','))
}
