import type { LargeLogKind } from './log-reply.js'
import type { Logged } from './log-merge.js'
import type { CommandLogEntry, SlowlogEntry } from './slowlog.js'

/** Logged entries by command pattern: how often, how much in total and at most, on which nodes. */

export interface SlowlogGroup {
  pattern: string
  count: number
  totalUs: number
  avgUs: number
  maxUs: number
  /** Node ids the pattern was seen on, sorted. */
  nodes: string[]
  firstAt: number
  lastAt: number
  /** The slowest entry of the group, as an example. */
  slowest: SlowlogEntry
}

/** COMMANDLOG large-request / large-reply entries of one command pattern. */
export interface CommandLogGroup {
  kind: LargeLogKind
  pattern: string
  count: number
  totalBytes: number
  avgBytes: number
  maxBytes: number
  /** Node ids the pattern was seen on, sorted. */
  nodes: string[]
  firstAt: number
  lastAt: number
  /** The largest entry of the group, as an example. */
  largest: CommandLogEntry
}

interface Tally<T> {
  pattern: string
  count: number
  total: number
  max: number
  nodes: string[]
  firstAt: number
  lastAt: number
  top: T
}

/** Entries by pattern (and kind), with count, total and max of `value`; heaviest total first. */
function tally<T extends Logged & Pick<SlowlogEntry, 'pattern' | 'node'>>(
  entries: T[],
  value: (e: T) => number,
): Tally<T>[] {
  const groups = new Map<string, Tally<T>>()
  for (const e of entries) {
    const key = `${e.kind ?? ''}|${e.pattern}`
    let g = groups.get(key)
    if (!g) {
      g = { pattern: e.pattern, count: 0, total: 0, max: 0, nodes: [], firstAt: e.at, lastAt: e.at, top: e }
      groups.set(key, g)
    }
    g.count++
    g.total += value(e)
    if (value(e) > g.max) {
      g.max = value(e)
      g.top = e
    }
    if (!g.nodes.includes(e.node)) g.nodes.push(e.node)
    g.firstAt = Math.min(g.firstAt, e.at)
    g.lastAt = Math.max(g.lastAt, e.at)
  }
  const out = [...groups.values()]
  for (const g of out) g.nodes.sort()
  return out.sort((a, b) => b.total - a.total || b.count - a.count || a.pattern.localeCompare(b.pattern))
}

/** Group entries by pattern, heaviest total time first. */
export function groupSlowlog(entries: SlowlogEntry[]): SlowlogGroup[] {
  return tally(entries, (e) => e.durationUs).map((g) => ({
    pattern: g.pattern,
    count: g.count,
    totalUs: g.total,
    avgUs: Math.round(g.total / g.count),
    maxUs: g.max,
    nodes: g.nodes,
    firstAt: g.firstAt,
    lastAt: g.lastAt,
    slowest: g.top,
  }))
}

/** Group COMMANDLOG size entries by kind and pattern, most bytes in total first. */
export function groupCommandLog(entries: CommandLogEntry[]): CommandLogGroup[] {
  return tally(entries, (e) => e.bytes).map((g) => ({
    kind: g.top.kind,
    pattern: g.pattern,
    count: g.count,
    totalBytes: g.total,
    avgBytes: Math.round(g.total / g.count),
    maxBytes: g.max,
    nodes: g.nodes,
    firstAt: g.firstAt,
    lastAt: g.lastAt,
    largest: g.top,
  }))
}
