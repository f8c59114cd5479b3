/** Text for `kvtop scale`: the plan, the run's outcome, the --fix report, the refusals. */
import type { Capabilities } from '../../connect/capabilities.js'
import { UsageError } from '../../errors.js'
import { formatCount, formatDuration } from '../../format/units.js'
import { renderTable } from '../../format/table.js'
import type { AwsScaleResult } from './aws.js'
import type { AwsScalePlan } from './aws-plan.js'
import type { FixReport, FixSurvey } from './fix.js'
import { rangesText } from './planner.js'
import type { ScalePlan, ScaleReport } from './types.js'

const short = (id: string) => (/^[0-9a-f]{40}$/.test(id) ? id.slice(0, 8) : id)

function count(n: number): string {
  return n.toLocaleString('en-US')
}

export function formatPlan(plan: ScalePlan): string {
  const lines: string[] = []
  const what =
    plan.kind === 'scale-out' || plan.kind === 'scale-in'
      ? `${plan.kind} ${plan.shardsBefore} -> ${plan.shardsAfter} shards`
      : plan.kind === 'rebalance'
        ? `rebalance ${plan.shardsAfter} shards`
        : plan.kind === 'replicas'
          ? `replicas -> ${plan.replicasAfter} per shard`
          : 'no change needed'
  lines.push(`Plan for ${plan.endpoint}: ${what}`)
  if (plan.newNodes.count)
    lines.push(
      `New nodes: ${plan.newNodes.count} (${plan.newNodes.primaries} primaries, ${plan.newNodes.replicas} replicas), ` +
        (plan.newNodes.source === 'sandbox'
          ? `started in sandbox '${plan.newNodes.sandbox}'`
          : `given with --add-node: ${plan.newNodes.addresses.join(', ')}`),
    )
  lines.push('')
  lines.push(
    renderTable(
      ['shard', 'address', 'status', 'slots', 'after', 'keys', 'replicas'],
      plan.shards.map((s) => [
        short(s.shard),
        s.address ?? '(new node)',
        s.status,
        count(s.slotsBefore),
        count(s.slotsAfter),
        count(s.keys),
        s.replicasBefore === s.replicasAfter
          ? String(s.replicasAfter)
          : `${s.replicasBefore} -> ${s.replicasAfter}`,
      ]),
      ['left', 'left', 'left', 'right', 'right', 'right', 'right'],
    ),
  )
  if (plan.moves.length) {
    lines.push('', `Slot moves: ${count(plan.totals.slots)} slots, ~${count(plan.totals.keys)} keys`)
    for (const m of plan.moves)
      lines.push(
        `  ${m.fromAddress} -> ${m.toAddress ?? m.to}: ${count(m.slots)} slots (${rangesText(m.ranges)}), ~${count(m.keys)} keys`,
      )
  }
  if (plan.removals.length) {
    lines.push('', `Nodes removed${plan.removalReason ? ` (${plan.removalReason})` : ''}:`)
    for (const r of plan.removals)
      lines.push(
        `  ${r.address} ${r.role} ${short(r.id)}: forgotten by every node, then ${r.action === 'stop' ? 'stopped (the sandbox owns it)' : 'reset (CLUSTER RESET SOFT; left running)'}`,
      )
  }
  if (plan.moves.length || plan.kind === 'scale-out' || plan.kind === 'scale-in')
    lines.push(
      '',
      `Balance after: ${count(plan.balance.min)}-${count(plan.balance.max)} slots per shard, max deviation ${plan.balance.maxDeviationPercent} % (threshold ${plan.balance.thresholdPercent} %)`,
    )
  for (const n of plan.notes) lines.push(`Note: ${n}`)
  if (plan.noop) lines.push('', 'Nothing to do.')
  return lines.join('\n')
}

export function formatReport(report: ScaleReport): string {
  const lines: string[] = []
  const state = report.complete
    ? 'Done'
    : report.interrupted
      ? 'Stopped (interrupted)'
      : 'Finished with problems'
  lines.push(
    `${state} in ${formatDuration(report.seconds)}: ${count(report.slotsMoved)} slots and ${count(report.keysMoved)} keys moved` +
      (report.keysMoved ? ` (${formatCount(report.keysPerSecond)} keys/s)` : ''),
  )
  for (const a of report.added)
    lines.push(
      `  added ${a.role} ${a.address} ${short(a.id)}${a.primaryId ? ` (replica of ${short(a.primaryId)})` : ''}`,
    )
  for (const r of report.removed) lines.push(`  removed ${r.address} ${short(r.id)}: ${r.action}`)
  if (report.shards.length) {
    lines.push('')
    lines.push(
      renderTable(
        ['shard', 'primary', 'slots', 'ranges', 'keys', 'replicas'],
        report.shards.map((s) => [
          String(s.index),
          s.address,
          count(s.slotCount),
          rangesText(s.slots, 3),
          count(s.keys),
          String(s.replicas),
        ]),
        ['right', 'left', 'right', 'left', 'right', 'right'],
      ),
    )
    lines.push(
      `Balance: ${count(report.balance.min)}-${count(report.balance.max)} slots per shard, max deviation ${report.balance.maxDeviationPercent} %${report.balance.balanced ? '' : ' (NOT within the threshold)'}`,
    )
  }
  if (report.bigKeys.length) {
    lines.push('', `Big keys MIGRATE could not move within the timeout (${report.bigKeys.length}):`)
    for (const k of report.bigKeys)
      lines.push(
        `  "${k.key}" slot ${k.slot}${k.type ? ` ${k.type}` : ''}${k.bytes ? ` ${formatCount(k.bytes)} bytes` : ''}: ${k.source} -> ${k.target}`,
      )
  }
  if (report.openSlots.length)
    lines.push(
      `Open slots (still served correctly, through ASK): ${report.openSlots.join(', ')}`,
      'Raise --migrate-timeout and run `kvtop scale --fix` to finish them.',
    )
  for (const w of report.warnings) lines.push(`Warning: ${w}`)
  return lines.join('\n')
}

export function formatFix(report: FixReport): string {
  if (report.openSlots === 0) return `No open slots on ${report.endpoint}: nothing to fix.`
  const lines = [
    `${report.openSlots} open slot(s) on ${report.endpoint}: ${report.settled} settled, ${report.blocked} blocked, ${count(report.keysMoved)} keys moved in ${formatDuration(report.seconds)}`,
  ]
  for (const s of report.slots.slice(0, 50))
    lines.push(
      `  slot ${s.slot}: ${s.action}${s.done ? '' : ' (not done)'}: ${s.reason}${s.keys ? `; ${count(s.keys)} keys moved` : ''}`,
    )
  if (report.slots.length > 50) lines.push(`  ... and ${report.slots.length - 50} more (see --json)`)
  for (const k of report.bigKeys)
    lines.push(`  big key "${k.key}" slot ${k.slot}: ${k.source} -> ${k.target}: ${k.error}`)
  for (const w of report.warnings) lines.push(`Warning: ${w}`)
  return lines.join('\n')
}

function bytesText(n: number | undefined): string {
  return n === undefined ? '?' : `${(n / 1024 ** 3).toFixed(2)} GiB`
}

export function formatAwsPlan(plan: AwsScalePlan): string {
  const lines = [
    `Plan for ${plan.target.description} in ${plan.target.region} (${plan.status}, ${plan.engine ?? 'engine ?'}, ${plan.nodeType ?? 'node type ?'}):`,
    `  shards ${plan.shardsBefore} -> ${plan.shardsAfter}, replicas per shard ${plan.replicasBefore} -> ${plan.replicasAfter}` +
      (plan.nodeTypeAfter && plan.nodeTypeAfter !== plan.nodeType
        ? `, node type ${plan.nodeType} -> ${plan.nodeTypeAfter}`
        : ''),
  ]
  if (plan.steps.length) {
    lines.push('', 'Steps (each waits until the deployment is available again):')
    plan.steps.forEach((s, i) => {
      lines.push(`  ${i + 1}. ${s.operation}: ${s.kind} ${s.from} -> ${s.to}`)
      lines.push(`     request: ${JSON.stringify(s.request)}`)
      if (s.explanation) lines.push(`     ${s.explanation}`)
    })
  }
  const m = plan.memory
  if (m.source === 'cloudwatch') {
    lines.push('', "Memory (CloudWatch, each shard's primary):")
    lines.push(
      renderTable(
        ['shard', 'primary', 'used', 'maxmemory', 'used %'],
        m.shards.map((s) => [
          s.shard,
          s.primary ?? '?',
          bytesText(s.bytesUsed),
          bytesText(s.maxBytes),
          s.usedPercent === undefined ? '?' : `${s.usedPercent}`,
        ]),
        ['left', 'left', 'right', 'right', 'right'],
      ),
    )
    if (m.projectedPercent !== undefined)
      lines.push(
        `After: ~${bytesText(m.perShardAfterBytes)} per shard of ${bytesText(m.capacityAfterBytes)} = ${m.projectedPercent} % (limit ${m.limitPercent} %; assumes the data spreads evenly)`,
      )
  }
  for (const b of plan.blockers) lines.push(`Blocker: ${b}`)
  for (const w of plan.warnings) lines.push(`Warning: ${w}`)
  if (plan.noop) lines.push('', 'Nothing to change.')
  return lines.join('\n')
}

export function formatAwsResult(result: AwsScaleResult): string {
  const lines = [
    `${result.complete ? 'Done' : 'Requested'} in ${formatDuration(result.seconds)}: ${result.target.description} now has ${result.shards} shard(s), ${result.replicas} replica(s) per shard${result.nodeType ? `, ${result.nodeType}` : ''} (${result.status})`,
  ]
  for (const s of result.steps)
    lines.push(
      `  ${s.operation} ${s.kind} ${s.from} -> ${s.to}: ${s.status}${s.seconds ? ` after ${formatDuration(s.seconds)}` : ''}`,
    )
  return lines.join('\n')
}

/** One line of the live slot distribution while AWS reshards. */
export function formatSlotLine(shards: { address: string; slotCount: number }[]): string {
  return `  slots: ${shards.map((s) => `${s.address}=${s.slotCount}`).join('  ')}`
}

/** The slot distribution cannot be shown (the endpoint did not answer): the scale goes on. */
export function formatSlotsNotShown(err: unknown): string {
  return `Slot distribution not shown: ${(err as Error).message}`
}

/** Why a scale stopped short, and what to run next (the report above gives the details). */
export function formatIncomplete(report: ScaleReport): string {
  return report.interrupted
    ? 'Interrupted: no slot is left open. Run the same command again to continue.'
    : report.openSlots.length
      ? 'Some slots are still open: run `kvtop scale --fix` (with a larger --migrate-timeout) to finish them.'
      : 'The scale did not complete: see the warnings above.'
}

/** The open slots --fix is about to settle, the first 20 of them. */
export function formatOpenSlots(survey: FixSurvey): string {
  const open = survey.situations
  return `${open.length} open slot(s): ${open
    .slice(0, 20)
    .map((s) => s.slot)
    .join(', ')}${open.length > 20 ? ' ...' : ''}`
}

/** `kvtop scale` pointed at something that is not a Redis Cluster. */
export function notAClusterRefusal(endpoint: string, mode: string): UsageError {
  return new UsageError(
    `${endpoint} is not a Redis Cluster (${mode}): kvtop scale changes a cluster's shards`,
    { hint: 'For a cluster-mode-disabled ElastiCache group use `kvtop scale aws --replicas R`.' },
  )
}

/** The endpoint refuses the commands self-managed scaling needs (managed service, ACL, disabled). */
export function refusalMessage(capabilities: Capabilities, needed: string[]): UsageError | undefined {
  const refused = capabilities.refusals.filter((r) => needed.includes(r.command))
  const managed = capabilities.provider !== 'self-managed'
  if (!refused.length && !managed) return undefined
  const names = (refused.length ? refused.map((r) => r.command) : needed)
    .map((c) => c.toUpperCase())
    .join(' and ')
  const why = managed
    ? `managed service: ${capabilities.provider === 'memorydb' ? 'MemoryDB' : 'ElastiCache'}`
    : refused.some((r) => r.reason === 'acl')
      ? "the user's ACL forbids it"
      : refused.some((r) => r.reason === 'disabled')
        ? 'renamed or disabled on the server'
        : 'a server setting forbids it'
  return new UsageError(`the endpoint refuses ${names} (${why}): use \`kvtop scale aws\``, {
    code: 'refused',
    hint: managed
      ? 'Managed clusters change shape through the AWS APIs: kvtop scale aws --elasticache RG | --memorydb NAME.'
      : 'Self-managed scaling needs CLUSTER SETSLOT and MIGRATE (and CLUSTER MEET to add nodes): connect as a user allowed to run them, or for ElastiCache/MemoryDB use `kvtop scale aws`.',
  })
}
