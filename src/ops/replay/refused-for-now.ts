import { keySlot } from '../../wire/routed-pipeline.js'
import { NEED_MORE, RespCommandParser } from '../../data/resp/command-parser.js'
import type { CommandTable } from '../../redis/command-table.js'
import type { ReplayReport } from './report.js'
import type { Block, RetryEntry, Tag } from './tag.js'

/** In the slot maps of the retry bookkeeping: every slot (a keyless or movable-keys write). */
const ALL_SLOTS = -1

/**
 * Commands refused for now (OOM, READONLY, LOADING ...) waiting to be sent again, and the writes
 * applied meanwhile on the same slots (counted as reordered: a pipeline cannot hold them back).
 */
export class RefusedForNow {
  private readonly queue: RetryEntry[] = []
  /** Slot (or ALL_SLOTS) -> lowest number of a write refused for now there, since the last round. */
  private readonly failedSlots = new Map<number, number>()

  constructor(
    private readonly table: CommandTable,
    private readonly report: ReplayReport,
  ) {}

  get waiting(): boolean {
    return this.queue.length > 0
  }

  /** Whether a write applied now may come before an earlier one refused for now. */
  get tracking(): boolean {
    return this.failedSlots.size > 0
  }

  add(entry: RetryEntry): void {
    if (entry.tag) this.bytesOf(entry.tag)
    const unit = entry.block ?? entry.tag!
    if (!unit.retried) {
      unit.retried = true
      this.report.retried++
    }
    this.queue.push(entry)
    for (const args of this.unitArgs(entry))
      for (const s of this.slotsWritten(args))
        this.failedSlots.set(s, Math.min(this.failedSlots.get(s) ?? Infinity, entry.number))
  }

  /** Everything waiting, in log order; the queue is left empty. */
  take(): RetryEntry[] {
    return this.queue.splice(0).sort((a, b) => a.number - b.number)
  }

  /** A round of retries starts (or ended): writes refused earlier are no longer pending. */
  forgetFailedSlots(): void {
    this.failedSlots.clear()
  }

  /** A write was applied: was an earlier write to the same slots refused for now (and so applied after it)? */
  noteApplied(e: { tag?: Tag; block?: Block }, number: number): void {
    const all = this.failedSlots.get(ALL_SLOTS)
    let conflict = all !== undefined && all < number
    for (const args of conflict ? [] : this.unitArgs(e))
      for (const s of this.slotsWritten(args)) {
        if (s === ALL_SLOTS) {
          for (const n of this.failedSlots.values()) if (n < number) conflict = true
        } else {
          const n = this.failedSlots.get(s)
          if (n !== undefined && n < number) conflict = true
        }
      }
    if (conflict) this.report.reordered++
  }

  private isWrite(args: Buffer[]): boolean {
    return this.table.lookup(args).spec?.write ?? true
  }

  /** The command of a tag, encoded: copied out of its batch (which is reused once answered). */
  private bytesOf(tag: Tag): Buffer {
    if (!tag.bytes) {
      tag.bytes = Buffer.from(tag.batch!.buf.subarray(tag.start, tag.end))
      tag.batch = undefined
    }
    return tag.bytes
  }

  /** Its arguments again (for the rare command refused for now, and writes applied meanwhile). */
  private argsOf(tag: Tag): Buffer[] {
    const parser = new RespCommandParser({ annotations: false, inline: false })
    parser.push(tag.bytes ?? tag.batch!.buf.subarray(tag.start, tag.end))
    const record = parser.next()
    return record !== NEED_MORE && record.kind === 'command' ? record.args : []
  }

  /** The slots of a write's keys (on a standalone server too: a cheap stand-in for the keys). */
  private slotsWritten(args: Buffer[]): number[] {
    const idx = this.table.keyIndexes(args)
    if (idx === 'movable' || idx === 'unknown' || idx.length === 0) return [ALL_SLOTS]
    return idx.map((i) => keySlot(args[i]))
  }

  private unitArgs(e: { tag?: Tag; block?: Block }): Buffer[][] {
    return e.block
      ? e.block.items.filter((i) => this.isWrite(i.args)).map((i) => i.args)
      : [this.argsOf(e.tag!)].filter((args) => args.length && this.isWrite(args))
  }
}
