import { formatBytes, formatCount } from '../../format/units.js'
import { formatVerifyReport } from '../verify/format.js'
import type { PlanReport } from './preflight.js'
import type { Checkpoint, MigrateReport } from './types.js'

const MARK = { blocker: 'BLOCKER', warning: 'warning', ok: 'ok' }

export function formatPlan(p: PlanReport): string {
  const lines = [
    `${p.go ? 'GO' : 'NO-GO'}: ${p.source.engine} ${p.source.version} ${p.source.mode} (${formatCount(p.source.keys)} keys, ${formatBytes(p.source.usedMemory)}) -> ${p.target.engine} ${p.target.version} ${p.target.mode} (${formatCount(p.target.keys)} keys)`,
    '',
  ]
  for (const i of p.items) {
    lines.push(`${MARK[i.level].padEnd(8)} ${i.check}: ${i.summary}`)
    if (i.level !== 'ok') {
      if (i.why) lines.push(`         why: ${i.why}`)
      if (i.action) lines.push(`         do:  ${i.action}`)
    }
  }
  return lines.join('\n')
}

export function formatMigration(r: MigrateReport): string {
  const lines = [
    `${r.resumed ? `Resumed: copied ${formatCount(r.copiedThisRun)} more keys, ${formatCount(r.keys)} in all` : `Copied ${formatCount(r.keys)} keys`} (${formatBytes(r.bytes)}) in ${r.seconds.toFixed(1)}s, ${formatCount(r.keysPerSecond)} keys/s` +
      (r.vanished ? `; ${formatCount(r.vanished)} keys vanished while read` : ''),
  ]
  if (r.modeReason) lines.push(`Mode: ${r.mode}, chosen by --mode auto: ${r.modeReason}`)
  if (r.readReason) lines.push(`Read: ${r.read}, chosen by --read auto: ${r.readReason}`)
  else if (r.read === 'sync') lines.push('Read: sync (the replication snapshot of every source primary)')
  if (r.restarted?.length)
    lines.push(
      `Restarted from the beginning: ${r.restarted.join(', ')} (another server process than the checkpoint's: restarted or failed over)`,
    )
  if (r.liveCopies || r.liveDeletes)
    lines.push(
      `Live: ${formatCount(r.liveCopies)} keys copied again, ${formatCount(r.liveDeletes)} deleted; ${r.inSync ? 'in sync' : 'not in sync'}`,
    )
  if (r.errors.total) {
    lines.push(`${r.errors.total} writes failed on the target; first:`)
    for (const e of r.errors.first) lines.push(`  ${e}`)
  }
  if (r.verify) lines.push('', formatVerifyReport(r.verify))
  lines.push('', 'Cutover:')
  r.cutover.forEach((s, i) => lines.push(`  ${i + 1}. ${s}`))
  return lines.join('\n')
}

export function formatCheckpoint(c: Checkpoint): string {
  const nodes = Object.entries(c.nodes)
  const done = nodes.filter(([, n]) => n.done).length
  const keys = nodes.reduce((s, [, n]) => s + n.keys, 0)
  const options = [
    ...(c.slots ? [`slots ${c.slots.from}-${c.slots.to}`] : []),
    ...(c.mode !== 'dump' ? [`--mode ${c.mode}`] : []),
    ...(c.dbMap ? [`--db-map ${c.dbMap.split(',').join(' ')}`] : []),
  ]
  const lines = [
    `${c.finished ? 'finished' : `in progress: ${done} of ${nodes.length} source nodes done`}; ${formatCount(keys)} keys copied` +
      (c.live
        ? `; live: ${formatCount(c.liveCopies)} re-copied, ${formatCount(c.liveDeletes)} deleted, ${c.inSync ? 'in sync' : 'not in sync'}`
        : ''),
    `source ${c.source.primaries.join(', ')} -> target ${c.target.primaries.join(', ')}${options.length ? `, ${options.join(', ')}` : ''}`,
    `started ${new Date(c.startedAt).toISOString()}, last checkpoint ${new Date(c.updatedAt).toISOString()}`,
    '',
  ]
  for (const [id, n] of nodes) {
    const shard = c.shards[id.slice(0, id.lastIndexOf('/'))]
    const where = shard && shard.address !== id.slice(0, id.lastIndexOf('/')) ? ` (${shard.address})` : ''
    lines.push(
      `  ${(id + where).padEnd(28)} ${(n.done ? 'done' : `cursor ${n.cursor}`).padEnd(16)} ${formatCount(n.keys)} keys, ${formatBytes(n.bytes)}`,
    )
  }
  return lines.join('\n')
}
