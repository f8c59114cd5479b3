import { keySlot, keySlotOf } from '../../wire/routed-pipeline.js'
import { UsageError } from '../../errors.js'
import type { CommandTable } from '../../redis/command-table.js'
import { onlyKeyIsFirstArgument, type CommandName } from '../../redis/command-names.js'
import type { KeySlots, Routed } from './key-slots.js'
import { where, type ReplayReport } from './report.js'
import type { Retries } from './retries.js'
import type { LogPosition } from './scan.js'
import type { Sender } from './sender.js'
import type { ReplayItem } from './sources.js'
import type { BlockItem, Tag } from './tag.js'

/** Multi-key commands that keep their meaning when split per slot. */
const SPLITTABLE = new Set(['del', 'unlink', 'exists', 'touch', 'mset'])
/** Keyless commands that act on the whole dataset: sent to every primary. */
const EVERY_PRIMARY = new Set([
  'flushall',
  'flushdb',
  'script|load',
  'script|flush',
  'function|load',
  'function|delete',
  'function|flush',
  'function|restore',
])

/**
 * Where each command goes: on a standalone server, the one node; on a cluster, its keys' slot
 * (found from the command table, or asked of the target for movable keys), keyless commands that
 * act on a whole dataset to every primary, multi-key commands split per slot where that keeps
 * their meaning, a MULTI block whole on its one slot. What a cluster cannot run is refused.
 */
export class Router {
  constructor(
    private readonly sender: Sender,
    private readonly retries: Retries,
    private readonly keySlots: KeySlots,
    private readonly table: CommandTable,
    private readonly report: ReplayReport,
  ) {}

  /** Command `number`: queued at once on a standalone server, or when its keys are in one slot (the common case). */
  sendOne(item: ReplayItem, command: CommandName, db: number, number: number): Promise<void> | undefined {
    const { sender } = this
    const name = command.name
    // Sent as the log holds it unless something in it is rewritten (only non-plain commands are).
    const frame = command.plain ? item.frame : undefined
    const tag: Tag = {
      file: item.file,
      offset: item.offset,
      number,
      name,
      slot: 0,
      db,
      batch: undefined,
      start: 0,
      end: 0,
    }
    if (!sender.cluster) return sender.appendTo(tag, frame ?? item.args)
    if (frame && onlyKeyIsFirstArgument(command.spec, frame.argc)) {
      tag.slot = keySlotOf(frame.buf, frame.arg1Start, frame.arg1End)
      return sender.appendTo(tag, frame)
    }
    const args = item.args
    const { spec } = this.table.lookup(args, name)
    // One key at a fixed place (GET, SET, HSET, INCR ...): its slot, nothing allocated.
    if (spec && !spec.movable && spec.first > 0 && spec.last === spec.first && spec.first < args.length) {
      tag.slot = keySlot(args[spec.first])
      return sender.appendTo(tag, args)
    }
    const routed = this.keySlots.of(args, tag, name)
    if (routed !== 'unknown' && !(routed instanceof Promise) && routed.slots.size === 1) {
      tag.slot = routed.slots.values().next().value!
      return sender.appendTo(tag, args)
    }
    return this.sendRouted(tag, args, routed)
  }

  /** The whole block, on the one slot its keys are in. */
  async sendMulti(
    items: BlockItem[],
    exec: LogPosition & { args: Buffer[] },
    at: LogPosition,
    db: number,
  ): Promise<void> {
    const { sender } = this
    const slots = new Set<number>()
    if (sender.cluster)
      for (const item of items) {
        const routed = await this.keySlots.of(item.args, item)
        if (routed !== 'unknown') for (const s of routed.slots) slots.add(s)
      }
    if (sender.cluster && slots.size > 1) {
      throw new UsageError(
        `the MULTI block at ${where(items[0] ?? exec)} touches keys in ${slots.size} slots; a cluster runs a transaction on one slot only`,
        {
          code: 'cross-slot',
          hint: 'Replay into a standalone server, or give the keys a common {hash tag}.',
        },
      )
    }
    const slot = slots.size ? [...slots][0] : sender.primarySlots[0]
    const wait = sender.appendBlock({ slot, db, items, multi: at, exec, queueErrors: [] })
    if (wait) await wait
  }

  private async sendRouted(tag: Tag, args: Buffer[], pending: Routed | Promise<Routed>): Promise<void> {
    const { sender } = this
    const name = tag.name
    const routed = await pending
    if (routed === 'unknown') {
      // The target does not know it: send it anyway so that the error is the server's own.
      tag.slot = sender.primarySlots[0]
      await sender.appendTo(tag, args)
      return
    }
    if (routed.slots.size === 0) return this.sendKeyless(tag, args)
    if (routed.slots.size === 1) {
      tag.slot = routed.slots.values().next().value!
      await sender.appendTo(tag, args)
      return
    }
    if (!SPLITTABLE.has(name) || routed.keys.length === 0) {
      throw new UsageError(
        `the command ${name.toUpperCase()} at ${where(tag)} has keys in different slots, which a cluster cannot run`,
        {
          code: 'cross-slot',
          hint: 'Replay it into a standalone server, or rewrite the keys with a common {hash tag}.',
        },
      )
    }
    await this.sendSplit(tag, args, routed.keys)
  }

  /** A keyless command: to every primary when it acts on a whole dataset, else to the first. */
  private async sendKeyless(tag: Tag, args: Buffer[]): Promise<void> {
    const { sender } = this
    const name = tag.name
    const full = args.length > 1 ? `${name}|${args[1].toString('latin1').toLowerCase()}` : name
    if (EVERY_PRIMARY.has(name) || EVERY_PRIMARY.has(full)) {
      await this.retries.settle()
      for (const slot of sender.primarySlots) await sender.appendTo({ ...tag, slot }, args)
      await this.retries.settle()
      this.report.broadcast++
      return
    }
    tag.slot = sender.primarySlots[0]
    await sender.appendTo(tag, args)
  }

  /** Split per slot: DEL/UNLINK/EXISTS/TOUCH take keys; MSET takes key-value pairs. */
  private async sendSplit(tag: Tag, args: Buffer[], keys: number[]): Promise<void> {
    const groups = new Map<number, Buffer[]>()
    const pairs = tag.name === 'mset'
    for (const i of keys) {
      const slot = keySlot(args[i])
      const group = groups.get(slot) ?? [args[0]]
      group.push(args[i])
      if (pairs) group.push(args[i + 1])
      groups.set(slot, group)
    }
    this.report.split++
    for (const [slot, group] of groups) await this.sender.appendTo({ ...tag, slot }, group)
  }
}
