/**
 * Slot migration with the standard Redis Cluster protocol: SETSLOT IMPORTING on the target,
 * MIGRATING on the source, GETKEYSINSLOT + MIGRATE in pipelined key batches (the next
 * GETKEYSINSLOT rides in the same write as the MIGRATE before it), then SETSLOT NODE on the
 * target, the source and every other primary. Clients see only ASK and MOVED redirections.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { RawRespConnection } from '../../wire/connection.js'
import { RespError, type Reply } from '../../wire/reply-parser.js'
import type { CommandArg } from '../../wire/encode.js'
import { classifyError, firstWord } from '../../wire/classify.js'
import { escapeBytes } from '../../data/escape.js'
import { OperationError } from '../../errors.js'
import { toText, type ClusterAdmin, type NodeRef } from './admin.js'

export interface MoveTuning {
  /** Keys per MIGRATE command. */
  batch: number
  /** MIGRATE's I/O timeout in milliseconds (how long the source waits on the target). */
  timeoutMs: number
}

export interface BigKey {
  /** The key, escaped the way redis-cli prints it. */
  key: string
  slot: number
  source: string
  target: string
  type?: string
  bytes?: number
  error: string
}

interface MoveHooks {
  onKeys?: (count: number) => void
  onWarning?: (message: string) => void
  onBigKey?: (key: BigKey) => void
  /** Stop between key batches, leaving the slot open (finished later by `scale --fix`). */
  hardStop?: AbortSignal
}

/**
 * How keys that exist on both sides are settled. `replace-on-busy`: the source is authoritative
 * (the hot path: clients read a key on the source while it is there, so a target copy is a stale
 * leftover of an interrupted MIGRATE). `keep-target`: the target's copy wins and the source's
 * duplicate is deleted (cold clean-up moves of keys clients could not see).
 */
type ConflictRule = 'replace-on-busy' | 'replace' | 'keep-target'

export interface DrainResult {
  keys: number
  stuck: BigKey[]
  /** The target held copies of keys still on the source; the source's copies replaced them. */
  replaced: boolean
  /** keep-target: keys whose source copy was dropped because the target had its own. */
  conflicts: string[]
}

class MoveInterrupted extends OperationError {
  constructor(readonly slot: number) {
    super(`stopped in the middle of slot ${slot}: the slot is left open (importing/migrating)`, {
      code: 'interrupted',
      resumable: true,
      hint: 'Run `kvtop scale --fix` on the same cluster to finish the open slots, then run the scale again.',
    })
  }
}

/**
 * The error of a MIGRATE reply as the target gave it: the source wraps the target's refusals as
 * `ERR Target instance replied with error: BUSYKEY ...`; its own errors (IOERR, NOKEY ...) as they are.
 */
function migrateErrorText(reply: RespError): string {
  const m = /^ERR Target instance replied with error: (.*)$/s.exec(reply.message)
  return m ? m[1] : reply.message
}

function isIoError(reply: Reply): boolean {
  return reply instanceof RespError && reply.prefix === 'IOERR'
}

/**
 * Refusals that pass (the one reply classifier, on the target's own error): the cluster settling,
 * a load or a failover in progress, the target out of memory for now.
 */
function isTransient(reply: Reply): boolean {
  return reply instanceof RespError && classifyError({ message: migrateErrorText(reply) }) === 'retryable'
}

/**
 * Replies once none is a transient refusal (or the wait is over): after a MIGRATE timed out, the
 * whole cluster may answer CLUSTERDOWN until its peers see the busy target again.
 */
async function untilSettled(read: () => Promise<Reply[]>): Promise<Reply[]> {
  for (let attempt = 1; ; attempt++) {
    const replies = await read()
    if (attempt >= TRANSIENT_RETRIES || !replies.some(isTransient)) return replies
    await sleep(TRANSIENT_WAIT_MS)
  }
}

function isBusyKey(reply: Reply): boolean {
  return reply instanceof RespError && firstWord(migrateErrorText(reply)) === 'BUSYKEY'
}

/**
 * How long a target that timed out a MIGRATE gets to answer PING before it counts as lost: it may
 * still be restoring the big key that timed out (seconds for a multi-million-member set).
 */
const BUSY_TARGET_MS = 10_000

/** How long a slot waits out transient refusals in all: 50 x 200 ms. */
const TRANSIENT_RETRIES = 50
const TRANSIENT_WAIT_MS = 200

/** MIGRATE may run long on a big key (its own timeout bounds each I/O step): no call timeout, the stall watch covers it. */
const MIGRATE_CALL = { timeoutMs: 0 }

function asKeys(reply: Reply, what: string): Buffer[] {
  if (reply instanceof RespError) throw new OperationError(`${what}: ${reply.message}`, { resumable: true })
  if (!Array.isArray(reply)) return []
  return reply.map((k) => (Buffer.isBuffer(k) ? k : Buffer.from(String(k))))
}

function migrateCommand(
  admin: ClusterAdmin,
  target: NodeRef,
  keys: readonly Buffer[],
  timeoutMs: number,
  replace: boolean,
): CommandArg[] {
  return [
    'MIGRATE',
    target.host,
    target.port,
    '',
    0,
    Math.max(1, Math.round(timeoutMs)),
    ...(replace ? ['REPLACE'] : []),
    ...admin.migrateAuthArgs(),
    'KEYS',
    ...keys,
  ]
}

async function describeBigKey(
  conn: RawRespConnection,
  key: Buffer,
  slot: number,
  source: NodeRef,
  target: NodeRef,
  error: string,
): Promise<BigKey> {
  const [type, bytes] = await untilSettled(() =>
    conn.pipeline([
      ['TYPE', key],
      ['MEMORY', 'USAGE', key, 'SAMPLES', 0],
    ]),
  )
  return {
    key: escapeBytes(key),
    slot,
    source: source.address,
    target: target.address,
    ...(type instanceof RespError ? {} : { type: toText(type) }),
    ...(typeof bytes === 'number' ? { bytes } : {}),
    error,
  }
}

export interface DrainContext {
  admin: ClusterAdmin
  /** A dedicated connection to the source: MIGRATE loops must not queue behind control calls. */
  conn: RawRespConnection
  source: NodeRef
  target: NodeRef
  tuning: MoveTuning
  hooks: MoveHooks
  rule: ConflictRule
}

/**
 * Move every key of `slot` from the source to the target with MIGRATE, batch by batch. Keys that
 * cannot be moved within the timeout one at a time are big keys: they stay on the source (the slot
 * stays open) and are reported.
 */
export async function drainSlot(ctx: DrainContext, slot: number): Promise<DrainResult> {
  return (await drainSlots(ctx, [slot])).get(slot)!
}

interface SlotState {
  slot: number
  keys: Buffer[]
  replace: boolean
  replaced: boolean
  stuck: Map<string, BigKey>
  conflicts: string[]
  moved: number
  retries: number
}

/**
 * Drains several open slots on one connection. Each write carries, for as many slots as fit in
 * `batch` keys, a MIGRATE of the keys listed last time followed by the next GETKEYSINSLOT, so that
 * slots with few keys cost one round trip together rather than two each (MIGRATE cannot mix slots).
 */
class SlotDrainer {
  private readonly states: SlotState[]

  constructor(
    private readonly ctx: DrainContext,
    slots: readonly number[],
  ) {
    this.states = slots.map((slot) => ({
      slot,
      keys: [],
      replace: ctx.rule === 'replace',
      replaced: false,
      stuck: new Map(),
      conflicts: [],
      moved: 0,
      retries: 0,
    }))
  }

  async run(): Promise<Map<number, DrainResult>> {
    const { admin, conn, target, tuning, hooks } = this.ctx
    const states = this.states
    const first = await conn.pipeline(states.map((st) => this.getKeys(st)))
    states.forEach((st, i) => this.list(st, first[i]))
    for (;;) {
      const active = states.filter((st) => st.keys.length > 0)
      if (active.length === 0) break
      if (hooks.hardStop?.aborted) throw new MoveInterrupted(active[0].slot)
      const wave = this.nextWave(active)
      const replies = await conn.pipeline(
        wave.flatMap((st) => [
          migrateCommand(admin, target, st.keys, tuning.timeoutMs, st.replace),
          this.getKeys(st),
        ]),
      )
      for (let i = 0; i < wave.length; i++) await this.settle(wave[i], replies[2 * i], replies[2 * i + 1])
    }
    return new Map(
      states.map((st) => [
        st.slot,
        { keys: st.moved, stuck: [...st.stuck.values()], replaced: st.replaced, conflicts: st.conflicts },
      ]),
    )
  }

  /** The slots whose listed keys fit in one batch together (at least one slot). */
  private nextWave(active: SlotState[]): SlotState[] {
    const wave: SlotState[] = []
    let total = 0
    for (const st of active) {
      if (wave.length && total + st.keys.length > this.ctx.tuning.batch) break
      wave.push(st)
      total += st.keys.length
    }
    return wave
  }

  private getKeys(st: SlotState): CommandArg[] {
    return ['CLUSTER', 'GETKEYSINSLOT', st.slot, this.ctx.tuning.batch + st.stuck.size]
  }

  private list(st: SlotState, reply: Reply): void {
    st.keys = asKeys(reply, `GETKEYSINSLOT ${st.slot} on ${this.ctx.source.address}`).filter(
      (k) => !st.stuck.has(k.toString('latin1')),
    )
  }

  private moved(st: SlotState, n: number): void {
    st.moved += n
    this.ctx.hooks.onKeys?.(n)
  }

  /** One key at a time: find the big keys, settle conflicts. */
  private async oneByOne(st: SlotState, keys: Buffer[]): Promise<void> {
    const { admin, conn, source, target, tuning, hooks } = this.ctx
    for (const key of keys) {
      if (hooks.hardStop?.aborted) throw new MoveInterrupted(st.slot)
      const reply = await this.migrateOne(st, key)
      if (!(reply instanceof RespError)) {
        if (reply !== 'NOKEY') this.moved(st, 1)
      } else if (isIoError(reply)) {
        if (!(await admin.ping(target, BUSY_TARGET_MS)))
          throw targetLost(st.slot, source, target, reply.message)
        const big = await describeBigKey(conn, key, st.slot, source, target, reply.message)
        st.stuck.set(key.toString('latin1'), big)
        hooks.onBigKey?.(big)
      } else if (isBusyKey(reply) && this.ctx.rule === 'keep-target') {
        const [, del] = await conn.pipeline([['ASKING'], ['DEL', key]])
        if (del instanceof RespError)
          throw new OperationError(
            `cannot drop the duplicate of a key on ${source.address}: ${del.message}`,
            {
              resumable: true,
            },
          )
        st.conflicts.push(escapeBytes(key))
      } else if (isBusyKey(reply)) {
        st.replace = true
        st.replaced = true
        const again = await conn.call(
          migrateCommand(admin, target, [key], tuning.timeoutMs, true),
          MIGRATE_CALL,
        )
        if (again instanceof RespError) throw migrateFailed(st.slot, source, target, again.message)
        this.moved(st, 1)
      } else {
        throw migrateFailed(st.slot, source, target, reply.message)
      }
    }
  }

  /**
   * MIGRATE one key, waiting out transient refusals as a batch does: a target blocked restoring a big
   * key past cluster-node-timeout is marked failed by its peers and answers CLUSTERDOWN until they
   * see it again.
   */
  private async migrateOne(st: SlotState, key: Buffer): Promise<Reply> {
    const { admin, conn, target, tuning } = this.ctx
    for (;;) {
      const reply = await conn.call(
        migrateCommand(admin, target, [key], tuning.timeoutMs, st.replace),
        MIGRATE_CALL,
      )
      if (!isTransient(reply) || st.retries >= TRANSIENT_RETRIES) return reply
      st.retries++
      await sleep(TRANSIENT_WAIT_MS)
      if (this.ctx.hooks.hardStop?.aborted) throw new MoveInterrupted(st.slot)
    }
  }

  /** What a MIGRATE of a slot's listed keys answered, and the slot's next keys (`next`). */
  private async settle(st: SlotState, reply: Reply, next: Reply): Promise<void> {
    const { admin, conn, source, target, hooks } = this.ctx
    const sent = st.keys
    if (!(reply instanceof RespError)) {
      if (reply !== 'NOKEY') this.moved(st, sent.length)
      this.list(st, next)
      return
    }
    if (isBusyKey(reply) && this.ctx.rule === 'replace-on-busy') {
      // Keys before the busy one moved; the rest are retried with REPLACE (the source wins).
      if (!st.replaced)
        hooks.onWarning?.(
          `slot ${st.slot}: ${target.address} already held copies of keys still on ${source.address} (left by an interrupted MIGRATE); the source's copies replace them`,
        )
      st.replace = true
      st.replaced = true
      this.list(st, next)
      return
    }
    if (isIoError(reply) || isBusyKey(reply)) {
      if (isIoError(reply)) {
        if (!(await admin.ping(target, BUSY_TARGET_MS)))
          throw targetLost(st.slot, source, target, reply.message)
        // The target may finish restoring what timed out: later copies must replace it.
        if (this.ctx.rule !== 'keep-target') st.replace = true
      }
      const failed = new Set(sent.map((k) => k.toString('latin1')))
      this.list(st, next)
      await this.oneByOne(
        st,
        st.keys.filter((k) => failed.has(k.toString('latin1'))),
      )
      this.list(st, await conn.call(this.getKeys(st)))
      return
    }
    if (isTransient(reply) && st.retries < TRANSIENT_RETRIES) {
      // CLUSTERDOWN / TRYAGAIN / LOADING on the target: wait, then list and send again.
      st.retries++
      await sleep(TRANSIENT_WAIT_MS)
      this.list(st, await conn.call(this.getKeys(st)))
      return
    }
    throw migrateFailed(st.slot, source, target, reply.message)
  }
}

/** Drain several open slots on one connection (see SlotDrainer). */
async function drainSlots(ctx: DrainContext, slots: readonly number[]): Promise<Map<number, DrainResult>> {
  return new SlotDrainer(ctx, slots).run()
}

function targetLost(slot: number, source: NodeRef, target: NodeRef, message: string): OperationError {
  return new OperationError(
    `${target.address} stopped answering while slot ${slot} was moving from ${source.address} (${message})`,
    {
      code: 'target-lost',
      resumable: true,
      hint: 'Once the target (or the replica that replaces it) is up, run `kvtop scale --fix` to settle the open slot.',
    },
  )
}

function migrateFailed(slot: number, source: NodeRef, target: NodeRef, message: string): OperationError {
  return new OperationError(
    `MIGRATE of slot ${slot} from ${source.address} to ${target.address} failed: ${message}`,
    {
      code: 'migrate-failed',
      resumable: true,
      hint: 'The slot is left open and still served correctly; fix the cause, then run `kvtop scale --fix`.',
    },
  )
}

interface GroupContext {
  admin: ClusterAdmin
  conn: RawRespConnection
  source: NodeRef
  target: NodeRef
  /** Every primary to announce the new owner to (source and target included or not). */
  primaries: readonly NodeRef[]
  tuning: MoveTuning
  hooks: MoveHooks
}

export interface GroupResult {
  moved: number[]
  /** Slots left open because of big keys. */
  open: number[]
  keys: number
  bigKeys: BigKey[]
  replaced: number
}

function checkReplies(replies: Reply[], slots: readonly number[], what: string, node: NodeRef): void {
  replies.forEach((r, i) => {
    if (r instanceof RespError)
      throw new OperationError(`CLUSTER SETSLOT ${slots[i]} ${what} on ${node.address}: ${r.message}`, {
        code: 'setslot-failed',
        resumable: true,
        hint: 'Run `kvtop scale --fix` to settle any open slot, then run the scale again.',
      })
  })
}

/** Move a group of slots from one source to one target: open them all, drain each, close them all. */
export async function moveSlotGroup(ctx: GroupContext, slots: readonly number[]): Promise<GroupResult> {
  const { admin, source, target } = ctx
  // Importing first: a client sent by ASK must find the target ready.
  checkReplies(
    await admin.pipeline(
      target,
      slots.map((s) => ['CLUSTER', 'SETSLOT', s, 'IMPORTING', source.id]),
    ),
    slots,
    `IMPORTING ${source.id}`,
    target,
  )
  checkReplies(
    await admin.pipeline(
      source,
      slots.map((s) => ['CLUSTER', 'SETSLOT', s, 'MIGRATING', target.id]),
    ),
    slots,
    `MIGRATING ${target.id}`,
    source,
  )
  const result: GroupResult = { moved: [], open: [], keys: 0, bigKeys: [], replaced: 0 }
  const drainCtx: DrainContext = { ...ctx, rule: 'replace-on-busy' }
  const all = await drainSlots(drainCtx, slots)
  for (const slot of slots) {
    const drained = all.get(slot)!
    result.keys += drained.keys
    if (drained.replaced) result.replaced++
    if (drained.stuck.length) {
      result.open.push(slot)
      result.bigKeys.push(...drained.stuck)
    } else result.moved.push(slot)
  }
  if (result.moved.length) await announceOwner(ctx, result.moved, drainCtx)
  return result
}

/**
 * SETSLOT NODE on the target first (it then owns the slots), then on the source, then on every
 * other primary. A source left without slots may turn into a replica of the target before the
 * announcement reaches it (cluster-allow-replica-migration): that is the expected end state.
 */
export async function announceOwner(
  ctx: Omit<GroupContext, 'tuning' | 'hooks'> & { tuning?: MoveTuning; hooks?: MoveHooks },
  slots: readonly number[],
  drainCtx?: DrainContext,
): Promise<void> {
  const { admin, source, target } = ctx
  const node = (s: number): CommandArg[] => ['CLUSTER', 'SETSLOT', s, 'NODE', target.id]
  checkReplies(await admin.pipeline(target, slots.map(node)), slots, `NODE ${target.id}`, target)
  const fromSource = await admin.pipeline(source, slots.map(node))
  for (let i = 0; i < slots.length; i++) {
    const reply = fromSource[i]
    if (!(reply instanceof RespError)) continue
    if (/only with masters/i.test(reply.message)) continue
    if (/still hold keys/i.test(reply.message) && drainCtx) {
      // A key arrived after the last batch (a replica's late write, a restore): move it and retry.
      await drainSlot(drainCtx, slots[i])
      const again = await admin.tryCall(source, node(slots[i]))
      if (!(again instanceof RespError) || /only with masters/i.test(again.message)) continue
      checkReplies([again], [slots[i]], `NODE ${target.id}`, source)
    }
    checkReplies([reply], [slots[i]], `NODE ${target.id}`, source)
  }
  const others = ctx.primaries.filter((p) => p.id !== source.id && p.id !== target.id)
  await Promise.all(
    others.map(async (p) => {
      try {
        const replies = await admin.pipeline(p, slots.map(node))
        const failed = replies.find(
          (r): r is RespError => r instanceof RespError && !/only with masters/i.test(r.message),
        )
        if (failed)
          ctx.hooks?.onWarning?.(
            `${p.address} refused the new owner of slot(s) ${slots[0]}..: ${failed.message} (gossip will spread it)`,
          )
      } catch (err) {
        ctx.hooks?.onWarning?.(
          `${p.address} did not take the new owner of slot(s) ${slots[0]}..: ${(err as Error).message} (gossip will spread it)`,
        )
      }
    }),
  )
}
