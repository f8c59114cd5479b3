import { renderTable } from '../format/table.js'
import type { DiscoveryReport } from './discover-service.js'

function ranges(slots: [number, number][]): string {
  if (!slots.length) return '-'
  return slots.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(',')
}

export function formatDiscovery(report: DiscoveryReport): string {
  const { topology: t, capabilities: c } = report
  const lines = [
    `Endpoint:  ${report.endpoint}`,
    `Engine:    ${c.engine} ${c.version}`,
    `Provider:  ${c.provider}`,
    `Mode:      ${t.mode}${t.mode === 'cluster' ? ` (${t.shards.length} shards, ${t.slotsCovered}/16384 slots covered, state ${t.clusterState ?? 'unknown'})` : ''}`,
    '',
    renderTable(
      ['NODE', 'ROLE', 'SHARD', 'SLOTS', 'HEALTH', 'ID'],
      t.nodes.map((n) => [
        n.address,
        n.role,
        String(n.shard),
        ranges(n.slots),
        n.up ? n.health : `DOWN (${n.health})`,
        /^[0-9a-f]{40}$/.test(n.id) ? n.id.slice(0, 12) : n.id,
      ]),
    ),
    '',
    `Refused:   ${c.refused.length ? c.refused.join(', ') : 'none'}`,
  ]
  if (c.unsupported.length) lines.push(`Not in this version: ${c.unsupported.join(', ')}`)
  // Never sent to find out (they would act if run): without ACL DRYRUN or ACL GETUSER for this
  // user their first real use tells.
  if (c.unknown.length) lines.push(`Could not probe (told at first use): ${c.unknown.join(', ')}`)
  return lines.join('\n')
}
