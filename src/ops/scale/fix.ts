/**
 * `kvtop scale --fix`: find slots left open by an interrupted move (importing / migrating state,
 * keys on a node that does not own the slot, slots nobody owns) and settle each one: finish the
 * move when its target can take it, roll it back to the owner otherwise.
 *
 * Which copy wins when a key exists twice: the one clients could see. While a slot migrates,
 * clients read a key on the source as long as it is there (so the source's copy wins over a
 * leftover on the target); copies on nodes nobody redirects to lose to the owner's.
 */
import type { NodeAddress } from '../../connect/client.js'
import { RespError } from '../../wire/reply-parser.js'
import { OperationError } from '../../errors.js'
import type { EventSink } from '../events.js'
import { refOf, type ClusterAdmin, type NodeRef } from './admin.js'
import {
  announceOwner,
  drainSlot,
  type BigKey,
  type DrainContext,
  type DrainResult,
  type MoveTuning,
} from './migrate.js'
import { countKeysInSlots } from './nodes.js'
import { SLOT_COUNT } from './planner.js'

export interface SlotNodeState {
  id: string
  address: string
  primary: boolean
  reachable: boolean
  failed: boolean
  /** Keys this node holds in the slot (0 when unreachable). */
  keys: number
  /** Slots this node owns, for choosing an owner for an uncovered slot. */
  slotsOwned: number
  importingFrom?: string
  migratingTo?: string
}

export interface SlotSituation {
  slot: number
  /** The owner most nodes agree on. */
  owner?: string
  nodes: SlotNodeState[]
}

type FixAction = 'finish' | 'rollback' | 'clear' | 'assign' | 'blocked'

interface SlotDecision {
  slot: number
  action: FixAction
  /** finish: the owner the keys leave. */
  from?: string
  /** finish: the new owner; rollback/clear/assign: the owner that keeps the slot. */
  to?: string
  reason: string
}

/** Does this slot need settling? */
export function isOpen(s: SlotSituation): boolean {
  if (!s.owner) return true
  return s.nodes.some(
    (n) =>
      n.importingFrom !== undefined ||
      n.migratingTo !== undefined ||
      (n.id !== s.owner && n.primary && n.keys > 0),
  )
}

const usable = (n: SlotNodeState | undefined): boolean => Boolean(n && n.primary && n.reachable && !n.failed)

/** Decide, from what every node reports, how to settle one open slot. Pure. */
export function decideSlot(s: SlotSituation): SlotDecision {
  const byId = new Map(s.nodes.map((n) => [n.id, n]))
  // Usable non-owners holding keys of the slot, the most keys first.
  const holders = s.nodes
    .filter((n) => usable(n) && n.keys > 0 && n.id !== s.owner)
    .sort((a, b) => b.keys - a.keys || a.address.localeCompare(b.address))
  const owner = s.owner ? byId.get(s.owner) : undefined
  if (!owner) return assignUnowned(s, holders)
  if (!usable(owner))
    return {
      slot: s.slot,
      action: 'blocked',
      reason: `the slot's owner ${owner.address} is down: wait for its replica to take over, then run --fix again`,
    }
  if (owner.migratingTo) return settleMigrating(s.slot, owner, byId.get(owner.migratingTo), holders)
  if (holders.length)
    return {
      slot: s.slot,
      action: 'rollback',
      to: owner.id,
      reason: `${holders.map((h) => h.address).join(', ')} hold keys of a slot owned by ${owner.address}: moving them to the owner (the owner's copies win)`,
    }
  return {
    slot: s.slot,
    action: 'clear',
    to: owner.id,
    reason: `stale importing/migrating state with no keys to move: cleared (${owner.address} keeps the slot)`,
  }
}

/** Nobody owns the slot: the node holding most of its keys takes it, else the one owning fewest slots. */
function assignUnowned(s: SlotSituation, holders: SlotNodeState[]): SlotDecision {
  const pick =
    holders[0] ??
    s.nodes
      .filter(usable)
      .sort((a, b) => a.slotsOwned - b.slotsOwned || a.address.localeCompare(b.address))[0]
  if (!pick) return { slot: s.slot, action: 'blocked', reason: 'no primary answers' }
  return {
    slot: s.slot,
    action: 'assign',
    to: pick.id,
    reason: holders.length
      ? `no node owns the slot; ${pick.address} holds the most of its keys and takes it`
      : `no node owns the slot; ${pick.address} (fewest slots) takes it`,
  }
}

/** The owner was moving the slot out when the move stopped: finish it where the keys can go. */
function settleMigrating(
  slot: number,
  owner: SlotNodeState,
  target: SlotNodeState | undefined,
  holders: SlotNodeState[],
): SlotDecision {
  const name = target?.address ?? owner.migratingTo
  if (target && usable(target))
    return {
      slot,
      action: 'finish',
      from: owner.id,
      to: target.id,
      reason: `interrupted move from ${owner.address} to ${target.address}: finishing it`,
    }
  if (target && !target.reachable && !target.failed)
    return {
      slot,
      action: 'blocked',
      reason: `the move's target ${name} does not answer: bring it back (or let the cluster fail it over), then run --fix again`,
    }
  if (holders[0])
    return {
      slot,
      action: 'finish',
      from: owner.id,
      to: holders[0].id,
      reason: `the move's target ${name} is gone; ${holders[0].address} holds the moved keys (it took over that shard): finishing the move there`,
    }
  return {
    slot,
    action: 'rollback',
    to: owner.id,
    reason: `the move's target ${name} is gone and no other node holds keys of the slot: the slot stays with ${owner.address}${target?.failed ? ' (keys moved to the failed node before it failed are not reachable from here)' : ''}`,
  }
}

interface FixSlotResult extends SlotDecision {
  fromAddress?: string
  toAddress?: string
  keys: number
  done: boolean
  conflicts?: string[]
}

export interface FixReport {
  endpoint: string
  openSlots: number
  settled: number
  blocked: number
  slots: FixSlotResult[]
  bigKeys: BigKey[]
  keysMoved: number
  seconds: number
  warnings: string[]
}

export interface FixSurvey {
  situations: SlotSituation[]
  refs: Map<string, NodeRef>
  primaries: NodeRef[]
}

/** What --fix would do (--dry-run, or nothing open): every open slot's decision, nothing done yet. */
export function plannedFix(endpoint: string, survey: FixSurvey): FixReport {
  const slots = survey.situations.map((s) => {
    const d = decideSlot(s)
    return {
      ...d,
      ...(d.from ? { fromAddress: survey.refs.get(d.from)?.address } : {}),
      ...(d.to ? { toAddress: survey.refs.get(d.to)?.address } : {}),
      keys: 0,
      done: false,
    }
  })
  return {
    endpoint,
    openSlots: survey.situations.length,
    settled: 0,
    blocked: slots.filter((s) => s.action === 'blocked').length,
    slots,
    bigKeys: [],
    keysMoved: 0,
    seconds: 0,
    warnings: [],
  }
}

/** One primary's own report: its open slot states, its key count per slot, whether it answered. */
interface PrimaryView {
  importing: Map<number, string>
  migrating: Map<number, string>
  keys?: number[]
  reachable: boolean
}

/** Read every primary's view of the slots and its key counts; return the slots that need settling. */
export async function surveyOpenSlots(admin: ClusterAdmin): Promise<FixSurvey> {
  const topology = await admin.topology()
  const primaries = topology.nodes.filter((n) => n.role === 'primary')
  const refs = new Map(topology.nodes.map((n) => [n.id, refOf(n)]))
  const votes: Map<string, number>[] = Array.from({ length: SLOT_COUNT }, () => new Map())
  const views = new Map<string, PrimaryView>()
  for (const p of primaries) views.set(p.id, await readPrimaryView(admin, p, votes))
  const { owners, slotsOwned } = slotOwners(votes)
  const situations: SlotSituation[] = []
  for (let slot = 0; slot < SLOT_COUNT; slot++) {
    const situation: SlotSituation = {
      slot,
      ...(owners[slot] ? { owner: owners[slot] } : {}),
      nodes: primaries.map((p) => nodeState(p, views.get(p.id)!, slot, slotsOwned)),
    }
    if (isOpen(situation)) situations.push(situation)
  }
  return { situations, refs, primaries: primaries.filter((p) => p.health !== 'failed').map(refOf) }
}

type Primary = Awaited<ReturnType<ClusterAdmin['topology']>>['nodes'][number]

/** Ask one primary for its CLUSTER NODES and its keys per slot; its view of who owns what is a vote. */
async function readPrimaryView(
  admin: ClusterAdmin,
  p: Primary,
  votes: Map<string, number>[],
): Promise<PrimaryView> {
  const view: PrimaryView = { importing: new Map(), migrating: new Map(), reachable: false }
  if (p.health === 'failed') return view
  try {
    const rows = await admin.nodesView(p)
    const me = rows.find((r) => r.myself)
    for (const i of me?.importing ?? []) view.importing.set(i.slot, i.from)
    for (const m of me?.migrating ?? []) view.migrating.set(m.slot, m.to)
    // A node's claim about its own slots weighs more than what it heard about others'.
    for (const r of rows)
      if (r.role === 'primary')
        for (const [a, b] of r.slots)
          for (let s = a; s <= b; s++) votes[s].set(r.id, (votes[s].get(r.id) ?? 0) + (r.myself ? 1.5 : 1))
    const allSlots = Array.from({ length: SLOT_COUNT }, (_, i) => i)
    view.keys = await countKeysInSlots(admin, p, allSlots)
    view.reachable = true
  } catch {
    view.reachable = false
  }
  return view
}

/** The owner of each slot by most votes, and how many slots each owner ends up with. */
function slotOwners(votes: Map<string, number>[]) {
  const slotsOwned = new Map<string, number>()
  const owners: (string | undefined)[] = votes.map((v) => {
    let best: string | undefined
    let bestVotes = 0
    for (const [id, n] of v) if (n > bestVotes) [best, bestVotes] = [id, n]
    if (best) slotsOwned.set(best, (slotsOwned.get(best) ?? 0) + 1)
    return best
  })
  return { owners, slotsOwned }
}

function nodeState(
  p: Primary,
  view: PrimaryView,
  slot: number,
  slotsOwned: Map<string, number>,
): SlotNodeState {
  return {
    id: p.id,
    address: p.address,
    primary: true,
    reachable: view.reachable,
    failed: p.health === 'failed',
    keys: view.keys?.[slot] ?? 0,
    slotsOwned: slotsOwned.get(p.id) ?? 0,
    ...(view.importing.has(slot) ? { importingFrom: view.importing.get(slot) } : {}),
    ...(view.migrating.has(slot) ? { migratingTo: view.migrating.get(slot) } : {}),
  }
}

interface FixOptions {
  tuning: MoveTuning
  onEvent?: EventSink
  timeoutMs: number
}

async function setslot(admin: ClusterAdmin, node: NodeAddress, args: (string | number)[]): Promise<void> {
  await admin.call(node, ['CLUSTER', 'SETSLOT', ...args])
}

/** Give a non-owner holder an open state for the slot, so MIGRATE may run there. */
async function openForMove(
  admin: ClusterAdmin,
  n: SlotNodeState,
  ref: NodeRef,
  slot: number,
  ownerId: string,
) {
  if (n.importingFrom === undefined && n.migratingTo === undefined)
    await setslot(admin, ref, [slot, 'IMPORTING', ownerId])
}

/** What settling the open slots shares: the cluster, the nodes by id, and where warnings go. */
interface FixRun {
  admin: ClusterAdmin
  tuning: MoveTuning
  refs: Map<string, NodeRef>
  primaries: NodeRef[]
  hooks: { onWarning(m: string): void; onBigKey(k: BigKey): void }
}

/**
 * A non-owner's keys of the slot, drained into `target` (whose copies win: keep-target), the slot
 * opened there first (as importing from `openFrom`) when it is not open yet.
 */
async function drainHolder(
  run: FixRun,
  holder: SlotNodeState,
  target: NodeRef,
  slot: number,
  openFrom: string,
  result: FixSlotResult,
): Promise<DrainResult> {
  const { admin } = run
  const ref = run.refs.get(holder.id)!
  await openForMove(admin, holder, ref, slot, openFrom)
  const drained = await withConn(admin, ref, (conn) =>
    drainSlot(
      { admin, conn, source: ref, target, tuning: run.tuning, hooks: run.hooks, rule: 'keep-target' },
      slot,
    ),
  )
  result.keys += drained.keys
  if (drained.conflicts.length) result.conflicts = [...(result.conflicts ?? []), ...drained.conflicts]
  return drained
}

/** finish: the move goes on to its target, then every other node forgets the slot's state. Settled? */
async function finishMove(
  run: FixRun,
  s: SlotSituation,
  decision: SlotDecision,
  result: FixSlotResult,
): Promise<boolean> {
  const { admin, refs, primaries, hooks } = run
  const byId = new Map(s.nodes.map((n) => [n.id, n]))
  const to = refs.get(decision.to!)!
  const others = s.nodes.filter((n) => n.reachable && !n.failed && n.id !== decision.to)
  const from = refs.get(decision.from!)!
  const dest = byId.get(to.id)!
  const src = byId.get(from.id)!
  if (dest.importingFrom !== from.id) await setslot(admin, to, [s.slot, 'IMPORTING', from.id])
  if (src.migratingTo !== to.id) await setslot(admin, from, [s.slot, 'MIGRATING', to.id])
  // Keys on third nodes nobody redirects to: into the target, whose visible copies win.
  for (const h of others.filter((n) => n.id !== from.id && n.keys > 0))
    await drainHolder(run, h, to, s.slot, from.id, result)
  const drainCtx = (conn: DrainContext['conn']): DrainContext => ({
    admin,
    conn,
    source: from,
    target: to,
    tuning: run.tuning,
    hooks,
    rule: 'replace-on-busy',
  })
  const drained = await withConn(admin, from, (conn) => drainSlot(drainCtx(conn), s.slot))
  result.keys += drained.keys
  if (drained.stuck.length) {
    hooks.onWarning(`slot ${s.slot}: ${drained.stuck.length} big key(s) could not move; the slot stays open`)
    return false
  }
  await withConn(admin, from, (conn) =>
    announceOwner({ admin, conn, source: from, target: to, primaries, hooks }, [s.slot], drainCtx(conn)),
  )
  for (const n of others.filter((o) => o.id !== from.id && (o.importingFrom || o.migratingTo || o.keys > 0)))
    await clearState(admin, refs.get(n.id)!, s.slot)
  return true
}

/**
 * rollback, clear, assign: the slot stays with (or is given to) its owner, and keys elsewhere come
 * back to it. Settled?
 */
async function keepOwner(
  run: FixRun,
  s: SlotSituation,
  decision: SlotDecision,
  result: FixSlotResult,
): Promise<boolean> {
  const { admin, refs, hooks } = run
  const byId = new Map(s.nodes.map((n) => [n.id, n]))
  const to = refs.get(decision.to!)!
  const others = s.nodes.filter((n) => n.reachable && !n.failed && n.id !== decision.to)
  const owner = byId.get(to.id)!
  if (decision.action === 'assign') {
    if (owner.importingFrom || owner.migratingTo) await setslot(admin, to, [s.slot, 'STABLE'])
    await admin.call(to, ['CLUSTER', 'ADDSLOTS', s.slot])
  } else if (owner.migratingTo || owner.importingFrom) {
    // The owner must stop redirecting (and accept RESTORE) before keys come back to it.
    await setslot(admin, to, [s.slot, 'STABLE'])
  }
  let stuck = false
  for (const h of others.filter((n) => n.keys > 0 && n.primary)) {
    const drained = await drainHolder(run, h, to, s.slot, to.id, result)
    const ref = refs.get(h.id)!
    if (drained.stuck.length) {
      hooks.onWarning(
        `slot ${s.slot}: big key(s) on ${ref.address} could not move; the slot stays open there`,
      )
      stuck = true
      continue
    }
    await clearState(admin, ref, s.slot)
  }
  for (const n of others.filter((o) => (o.importingFrom || o.migratingTo) && o.keys === 0))
    await clearState(admin, refs.get(n.id)!, s.slot)
  return !stuck
}

/** Settle every open slot; returns what was done, slot by slot. */
export async function fixOpenSlots(
  admin: ClusterAdmin,
  endpoint: string,
  options: FixOptions,
  survey?: FixSurvey,
): Promise<FixReport> {
  const started = Date.now()
  const emit = options.onEvent ?? (() => {})
  const warnings: string[] = []
  const bigKeys: BigKey[] = []
  const { situations, refs, primaries } = survey ?? (await surveyOpenSlots(admin))
  const results: FixSlotResult[] = []
  emit({ type: 'phase', phase: 'fix', detail: `${situations.length} open slot(s)` })
  const hooks = {
    onWarning: (m: string) => {
      warnings.push(m)
      emit({ type: 'warning', message: m })
    },
    onBigKey: (k: BigKey) => {
      bigKeys.push(k)
      emit({ type: 'big-key', ...k })
    },
  }
  const run: FixRun = { admin, tuning: options.tuning, refs, primaries, hooks }
  let done = 0
  for (const s of situations) {
    const decision = decideSlot(s)
    const result: FixSlotResult = {
      ...decision,
      ...(decision.from ? { fromAddress: refs.get(decision.from)?.address } : {}),
      ...(decision.to ? { toAddress: refs.get(decision.to)?.address } : {}),
      keys: 0,
      done: false,
    }
    results.push(result)
    if (decision.action === 'blocked') {
      hooks.onWarning(`slot ${s.slot}: ${decision.reason}`)
      continue
    }
    const settled =
      decision.action === 'finish'
        ? await finishMove(run, s, decision, result)
        : await keepOwner(run, s, decision, result)
    if (!settled) continue
    result.done = true
    done++
    emit({ type: 'progress', task: 'open slots', done, total: situations.length, unit: 'slots' })
  }
  return {
    endpoint,
    openSlots: situations.length,
    settled: results.filter((r) => r.done).length,
    blocked: results.filter((r) => r.action === 'blocked').length,
    slots: results,
    bigKeys,
    keysMoved: results.reduce((n, r) => n + r.keys, 0),
    seconds: (Date.now() - started) / 1000,
    warnings,
  }
}

async function clearState(admin: ClusterAdmin, node: NodeRef, slot: number): Promise<void> {
  const reply = await admin.tryCall(node, ['CLUSTER', 'SETSLOT', slot, 'STABLE'])
  if (reply instanceof RespError && !/only with masters/i.test(reply.message))
    throw new OperationError(`CLUSTER SETSLOT ${slot} STABLE on ${node.address}: ${reply.message}`, {
      resumable: true,
    })
}

async function withConn<T>(
  admin: ClusterAdmin,
  node: NodeRef,
  fn: (conn: DrainContext['conn']) => Promise<T>,
): Promise<T> {
  const conn = await admin.open(node)
  try {
    return await fn(conn)
  } finally {
    conn.close()
  }
}
