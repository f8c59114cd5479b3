import { countSlots, type SlotRange } from '../../connect/cluster-parsers.js'
import type { ClusterAdmin } from './admin.js'
import { formatSlotLine, formatSlotsNotShown } from './format.js'

/** One primary's share of the slots. */
interface ShardSlots {
  address: string
  slots: SlotRange[]
  slotCount: number
}

interface SlotWatchView {
  /** The distribution changed (or is read for the first time): the shards, and their text line. */
  changed(shards: ShardSlots[], line: string): void
  /** Why the distribution is not shown any more (the endpoint stopped answering). */
  failed(message: string): void
}

/**
 * The slot distribution of a cluster while AWS reshards it (`scale aws --watch-slots`): read at each
 * poll, told only when it changes; the first failed read says so and ends the watch.
 */
export class SlotWatch {
  private last = ''

  constructor(
    private admin: ClusterAdmin | undefined,
    private readonly view: SlotWatchView,
  ) {}

  async poll(): Promise<void> {
    if (!this.admin) return
    try {
      const topology = await this.admin.topology()
      const shards = topology.nodes
        .filter((n) => n.role === 'primary' && n.slots.length)
        .map((n) => ({ address: n.address, slots: n.slots, slotCount: countSlots(n.slots) }))
      const line = formatSlotLine(shards)
      if (line === this.last) return
      this.last = line
      this.view.changed(shards, line)
    } catch (err) {
      this.view.failed(formatSlotsNotShown(err))
      await this.close()
    }
  }

  async close(): Promise<void> {
    const admin = this.admin
    this.admin = undefined
    await admin?.close()
  }
}
