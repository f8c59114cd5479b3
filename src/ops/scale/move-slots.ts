/**
 * The middle phase of a scale: slots move to their new owners in groups, a few sources at a time,
 * each source running one MIGRATE loop, with progress on slots and keys.
 */
import { KvtopError, OperationError } from '../../errors.js'
import type { RawRespConnection } from '../../wire/connection.js'
import { ProgressTracker } from '../progress.js'
import { refOf, type ClusterAdmin, type NodeRef } from './admin.js'
import { moveSlotGroup, type GroupResult } from './migrate.js'
import { slotGroups } from './planner.js'
import type { ScaleRun } from './types.js'

interface GroupMove {
  target: NodeRef
  slots: number[]
}

/** What the workers of one slot-moving phase share. */
interface MovePhase {
  run: ScaleRun
  nodeOf(id: string): NodeRef
  /** The primaries told about each slot's new owner: the existing ones and the new targets. */
  announced: NodeRef[]
  queue: [string, GroupMove[]][]
  slots: ProgressTracker
  keys: ProgressTracker
  failure?: unknown
}

/** Work per source, so that a source runs one MIGRATE loop at a time. */
function groupBySource(phase: Pick<MovePhase, 'run' | 'nodeOf' | 'announced'>): [string, GroupMove[]][] {
  const { plan, options } = phase.run
  const bySource = new Map<string, GroupMove[]>()
  for (const m of plan.moves) {
    const target = phase.nodeOf(m.to)
    if (!phase.announced.some((p) => p.id === target.id)) phase.announced.push(target)
    const groups = slotGroups({ from: m.from, to: m.to, ranges: m.ranges, slots: m.slots }, options.slotGroup)
    const list = bySource.get(m.from) ?? []
    list.push(...groups.map((slots) => ({ target, slots })))
    bySource.set(m.from, list)
  }
  return [...bySource.entries()]
}

/** A stalled node: the stall's error (naming the node), not what it caused on this loop. */
function moveFailure(admin: ClusterAdmin, source: NodeRef, err: unknown): unknown {
  return (
    admin.stallError ??
    (err instanceof KvtopError
      ? err
      : new OperationError(
          `moving slots from ${source.address} stopped: ${err instanceof Error ? err.message : String(err)}`,
          {
            code: 'move-failed',
            resumable: true,
            hint: 'Slots being moved are left open and still served: run `kvtop scale --fix` to settle them, then run the scale again.',
            cause: err,
          },
        ))
  )
}

function recordGroup(phase: MovePhase, source: NodeRef, group: GroupMove, result: GroupResult): void {
  const { report, warn } = phase.run
  phase.slots.add(result.moved.length)
  report.slotsMoved += result.moved.length
  report.keysMoved += result.keys
  report.replacedSlots += result.replaced
  report.openSlots.push(...result.open)
  if (result.open.length)
    warn(
      `slot(s) ${result.open.join(', ')} stay open: big key(s) could not move from ${source.address} to ${group.target.address} within the MIGRATE timeout`,
    )
}

function moveGroup(phase: MovePhase, conn: RawRespConnection, source: NodeRef, group: GroupMove) {
  const { ctx, options, report, emit, warn } = phase.run
  return moveSlotGroup(
    {
      admin: ctx.admin,
      conn,
      source,
      target: group.target,
      primaries: phase.announced,
      tuning: options.tuning,
      hooks: {
        onKeys: (n) => phase.keys.add(n),
        onWarning: warn,
        onBigKey: (k) => {
          report.bigKeys.push(k)
          emit({ type: 'big-key', ...k })
        },
        hardStop: options.hardStop,
      },
    },
    group.slots,
  )
}

/** Moves one source's slot groups over one connection; false when the worker should stop. */
async function moveFromSource(phase: MovePhase, source: NodeRef, groups: GroupMove[]): Promise<boolean> {
  const { ctx, options, report } = phase.run
  const conn = await ctx.admin.open(source)
  try {
    for (const group of groups) {
      if (phase.failure) return false
      if (options.signal?.aborted || options.hardStop?.aborted) {
        report.interrupted = true
        return false
      }
      recordGroup(phase, source, group, await moveGroup(phase, conn, source, group))
    }
  } catch (err) {
    phase.failure ??= moveFailure(ctx.admin, source, err)
  } finally {
    conn.close()
  }
  return true
}

async function worker(phase: MovePhase): Promise<void> {
  for (;;) {
    const next = phase.queue.shift()
    if (!next || phase.failure) return
    const [sourceId, groups] = next
    if (!(await moveFromSource(phase, phase.nodeOf(sourceId), groups))) return
  }
}

async function moveAll(run: ScaleRun, nodeOf: (id: string) => NodeRef, primaries: NodeRef[]): Promise<void> {
  const { options, report, emit, plan } = run
  const announced = [...primaries]
  const phase: MovePhase = {
    run,
    nodeOf,
    announced,
    queue: groupBySource({ run, nodeOf, announced }),
    slots: new ProgressTracker('slots', 'slots', plan.totals.slots),
    keys: new ProgressTracker('keys', 'keys', plan.totals.keys),
  }
  const ticker = setInterval(() => {
    emit(phase.slots.snapshot())
    emit(phase.keys.snapshot())
  }, 500)
  const migrateStart = Date.now()
  try {
    const workers = Math.max(1, Math.min(options.parallel, phase.queue.length))
    await Promise.all(Array.from({ length: workers }, () => worker(phase)))
  } finally {
    clearInterval(ticker)
    report.migrateSeconds = (Date.now() - migrateStart) / 1000
    report.keysPerSecond =
      report.migrateSeconds > 0 ? Math.round(report.keysMoved / report.migrateSeconds) : 0
    emit(phase.slots.snapshot())
    emit(phase.keys.snapshot())
  }
  if (phase.queue.length && !phase.failure && (options.signal?.aborted || options.hardStop?.aborted))
    report.interrupted = true
  if (phase.failure) throw phase.failure
}

/** Moves the plan's slots to their owners (the new shards' primaries by placeholder in `newPrimaries`). */
export async function moveSlots(run: ScaleRun, newPrimaries: Map<string, NodeRef>): Promise<void> {
  const { admin } = run.ctx
  const { plan } = run
  const topology = await admin.topology()
  const primaries = topology.nodes.filter((n) => n.role === 'primary' && n.health !== 'failed').map(refOf)
  const nodeOf = (id: string): NodeRef => {
    const ref = newPrimaries.get(id) ?? primaries.find((p) => p.id === id)
    if (!ref)
      throw new OperationError(`node ${id} of the plan is no longer in the cluster`, { resumable: true })
    return ref
  }
  if (!plan.moves.length) return
  run.emit({
    type: 'phase',
    phase: 'moving slots',
    detail: `${plan.totals.slots} slots, ~${plan.totals.keys} keys, ${plan.moves.length} move(s)`,
  })
  await moveAll(run, nodeOf, primaries)
}
