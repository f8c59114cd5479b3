import { formatBytesShort, formatCountShort, formatDurationShort } from '../format/units.js'
import { fmtPercent, fmtTime, fmtUs, nodeState } from '../metrics/format.js'
import type { NodeStatus, Snapshot } from '../metrics/types.js'
import { esc } from './markup.js'

/** The details window of the selected node (Enter). */
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
