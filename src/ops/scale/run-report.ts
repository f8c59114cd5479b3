/** The report of a scale run: started empty, finished from the cluster as the run left it. */
import { countSlots } from '../../connect/cluster-parsers.js'
import { recordSandboxLayout } from '../../sandbox/grow.js'
import type { EventSink } from '../events.js'
import { balanceOf } from './balance.js'
import {
  JOIN_TIMEOUT_MS,
  type ScaleContext,
  type ScalePlan,
  type ScaleReport,
  type ScaleRun,
} from './types.js'
import type { ExecuteOptions, PreparedScale } from './types.js'

/** A run of the plan with an empty report; warnings go both into the report and out as events. */
export function startRun(ctx: ScaleContext, prepared: PreparedScale, options: ExecuteOptions): ScaleRun {
  const { plan, internals } = prepared
  const emit: EventSink = options.onEvent ?? (() => {})
  const warnings: string[] = []
  const warn = (message: string) => {
    warnings.push(message)
    emit({ type: 'warning', message })
  }
  const report: ScaleReport = {
    endpoint: plan.endpoint,
    kind: plan.kind,
    complete: false,
    interrupted: false,
    seconds: 0,
    slotsMoved: 0,
    keysMoved: 0,
    migrateSeconds: 0,
    keysPerSecond: 0,
    added: [],
    removed: [],
    openSlots: [],
    bigKeys: [],
    replacedSlots: 0,
    shards: [],
    balance: plan.balance,
    warnings,
  }
  return { ctx, plan, internals, options, emit, warn, report }
}

/** The shards, keys and balance as the run left them (and the sandbox's recorded layout). */
export async function finishReport(
  ctx: ScaleContext,
  report: ScaleReport,
  plan: ScalePlan,
): Promise<ScaleReport> {
  const { admin } = ctx
  const topology = await admin.waitConsistent(JOIN_TIMEOUT_MS)
  const primaries = topology.nodes.filter((n) => n.role === 'primary' && n.health !== 'failed')
  report.shards = []
  for (const p of primaries.filter((x) => x.slots.length > 0)) {
    report.shards.push({
      index: p.shard,
      id: p.id,
      address: p.address,
      slots: p.slots,
      slotCount: countSlots(p.slots),
      keys: Number(await admin.call(p, ['DBSIZE'])),
      replicas: topology.nodes.filter((n) => n.primaryId === p.id && n.health !== 'failed').length,
    })
  }
  const counts = new Map(report.shards.map((s) => [s.id, s.slotCount]))
  const targets = report.shards.map((s) => ({
    id: s.id,
    weight: plan.shards.find((x) => x.shard === s.id)?.weight ?? 1,
  }))
  if (targets.length) report.balance = balanceOf(counts, targets, plan.balance.thresholdPercent)
  if (ctx.sandbox) {
    await recordSandboxLayout(
      ctx.sandbox.name,
      topology.nodes
        .filter((n) => n.host === '127.0.0.1' || n.host === 'localhost')
        .map((n) => ({ port: n.port, role: n.role, shard: n.shard })),
      ctx.env,
    )
  }
  return report
}
