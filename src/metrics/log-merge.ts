import type { LargeLogKind } from './log-reply.js'
import type { CommandLogEntry, SlowlogEntry } from './slowlog.js'

/** Entries of many nodes (and many reads) as one list: duplicates dropped, newest first, bounded. */

export type Logged = Pick<SlowlogEntry, 'runId' | 'address' | 'id' | 'at'> & { kind?: LargeLogKind }

/**
 * Identity of an entry across reads: the same server process and entry id is the same entry. Each
 * COMMANDLOG type numbers its entries on its own, so the kind is part of the identity.
 */
function entryKey(e: Logged): string {
  return `${e.kind ? `${e.kind}:` : ''}${e.runId ?? e.address}#${e.id}`
}

/** Newest first: by time, then (same second) by duration, then node and id for a stable order. */
export function compareNewestFirst(a: SlowlogEntry, b: SlowlogEntry): number {
  return b.at - a.at || b.durationUs - a.durationUs || a.address.localeCompare(b.address) || b.id - a.id
}

/** Newest first: by time, then (same second) by size, then node and id for a stable order. */
export function compareCommandLog(a: CommandLogEntry, b: CommandLogEntry): number {
  return b.at - a.at || b.bytes - a.bytes || a.address.localeCompare(b.address) || b.id - a.id
}

function mergeLogs<T extends Logged>(lists: T[][], compare: (a: T, b: T) => number, limit: number): T[] {
  const seen = new Set<string>()
  const out: T[] = []
  for (const e of lists.flat()) {
    const key = entryKey(e)
    if (seen.has(key)) continue
    seen.add(key)
    out.push(e)
  }
  out.sort(compare)
  return Number.isFinite(limit) ? out.slice(0, limit) : out
}

/** Merge per-node lists, drop duplicates (same process and id, e.g. a node reached by two addresses). */
export function mergeSlowlogs(lists: SlowlogEntry[][], limit = Infinity): SlowlogEntry[] {
  return mergeLogs(lists, compareNewestFirst, limit)
}

/** mergeSlowlogs for COMMANDLOG large-request / large-reply entries. */
export function mergeCommandLogs(lists: CommandLogEntry[][], limit = Infinity): CommandLogEntry[] {
  return mergeLogs(lists, compareCommandLog, limit)
}

/** Bounded, deduplicated, newest-first store of merged entries. */
class LogStore<T extends Logged> {
  private readonly keys = new Set<string>()
  private entries: T[] = []

  constructor(
    private readonly capacity: number,
    private readonly compare: (a: T, b: T) => number,
  ) {}

  /** Add entries; returns those that were new, newest first. */
  add(entries: T[]): T[] {
    const added: T[] = []
    for (const e of entries) {
      const key = entryKey(e)
      if (this.keys.has(key)) continue
      this.keys.add(key)
      added.push(e)
    }
    if (!added.length) return added
    added.sort(this.compare)
    this.entries = [...added, ...this.entries].sort(this.compare)
    if (this.entries.length > this.capacity) {
      for (const dropped of this.entries.splice(this.capacity)) this.keys.delete(entryKey(dropped))
    }
    return added
  }

  list(limit = Infinity): T[] {
    return Number.isFinite(limit) ? this.entries.slice(0, limit) : this.entries.slice()
  }

  get size(): number {
    return this.entries.length
  }
}

/** The slowlog entries of every node (the dashboard's slowlog panel, `kvtop slowlog`). */
export class SlowlogStore extends LogStore<SlowlogEntry> {
  constructor(capacity = 500) {
    super(capacity, compareNewestFirst)
  }
}

/** The entries of one COMMANDLOG size log (large-request or large-reply) of every node. */
export class CommandLogStore extends LogStore<CommandLogEntry> {
  constructor(capacity = 500) {
    super(capacity, compareCommandLog)
  }
}

// ---------------------------------------------------------------------------------------------
