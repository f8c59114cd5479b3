/**
 * Slot planning for `kvtop scale`: pure functions, no I/O. Given who owns which slots now and which
 * primaries should hold slots afterwards (with weights), compute the fewest slot moves that leave
 * every primary at its ideal share.
 */
import { countSlots, mergeRanges, type SlotRange } from '../../connect/cluster-parsers.js'

export const SLOT_COUNT = 16384

export interface ShardSlots {
  /** Node id of the primary (or a placeholder such as `new-1` for a node not started yet). */
  id: string
  slots: SlotRange[]
}

export interface TargetShard {
  id: string
  /** Share of the slots relative to the other targets; 0 drains the shard. Default 1. */
  weight: number
}

export interface SlotMove {
  from: string
  to: string
  ranges: SlotRange[]
  slots: number
}

/** Expand ranges into a sorted slot list. */
export function expandRanges(ranges: readonly SlotRange[]): number[] {
  const out: number[] = []
  for (const [a, b] of ranges) for (let s = a; s <= b; s++) out.push(s)
  return out.sort((x, y) => x - y)
}

/** Compress a slot list into merged ranges. */
export function toRanges(slots: readonly number[]): SlotRange[] {
  const sorted = [...slots].sort((a, b) => a - b)
  const out: SlotRange[] = []
  for (const s of sorted) {
    const last = out[out.length - 1]
    if (last && s === last[1] + 1) last[1] = s
    else if (!last || s > last[1]) out.push([s, s])
  }
  return out
}

/**
 * Ideal slot counts: proportional to weight, by largest remainder, summing to exactly `total`.
 * Ties in the remainder go to the shard that holds more slots now (fewer moves), then by id.
 */
export function idealCounts(
  targets: readonly TargetShard[],
  current: ReadonlyMap<string, number> = new Map(),
  total = SLOT_COUNT,
): Map<string, number> {
  const weightSum = targets.reduce((n, t) => n + Math.max(0, t.weight), 0)
  if (!(weightSum > 0)) throw new Error('at least one target shard needs a weight above 0')
  const exact = targets.map((t) => ({ id: t.id, share: (total * Math.max(0, t.weight)) / weightSum }))
  const counts = new Map(exact.map((e) => [e.id, Math.floor(e.share)]))
  let left = total - [...counts.values()].reduce((a, b) => a + b, 0)
  const order = [...exact].sort(
    (a, b) =>
      b.share - Math.floor(b.share) - (a.share - Math.floor(a.share)) ||
      (current.get(b.id) ?? 0) - (current.get(a.id) ?? 0) ||
      a.id.localeCompare(b.id),
  )
  for (const e of order) {
    if (left <= 0) break
    if (e.share <= 0) continue
    counts.set(e.id, counts.get(e.id)! + 1)
    left--
  }
  return counts
}

/**
 * Largest deviation from the ideal count, as a fraction of the ideal, over shards with weight > 0;
 * a shard with weight 0 that still holds slots counts as fully off (1).
 */
export function maxDeviation(
  counts: ReadonlyMap<string, number>,
  ideal: ReadonlyMap<string, number>,
): number {
  let worst = 0
  for (const [id, want] of ideal) {
    const have = counts.get(id) ?? 0
    if (want === 0) {
      if (have > 0) worst = Math.max(worst, 1)
      continue
    }
    worst = Math.max(worst, Math.abs(have - want) / want)
  }
  for (const [id, have] of counts) if (!ideal.has(id) && have > 0) worst = Math.max(worst, 1)
  return worst
}

/** True when every shard is within `threshold` (fraction, e.g. 0.02) of its ideal, or off by one slot. */
export function isBalanced(
  counts: ReadonlyMap<string, number>,
  ideal: ReadonlyMap<string, number>,
  threshold: number,
): boolean {
  for (const [id, want] of ideal) {
    const have = counts.get(id) ?? 0
    if (Math.abs(have - want) <= 1) continue
    if (want === 0 || Math.abs(have - want) / want > threshold) return false
  }
  for (const [id, have] of counts) if (!ideal.has(id) && have > 0) return false
  return true
}

/**
 * Moves that take `current` to the ideal counts of `targets`. Shards in `current` but not in
 * `targets` give away all their slots. Donors give their highest slots first, so ranges stay
 * contiguous; receivers are filled in order of their deficit.
 */
export function planSlotMoves(current: readonly ShardSlots[], targets: readonly TargetShard[]): SlotMove[] {
  const counts = new Map(current.map((c) => [c.id, countSlots(c.slots)]))
  const ideal = idealCounts(targets, counts)
  const owned = new Map(current.map((c) => [c.id, expandRanges(c.slots)]))
  const donors: { id: string; surplus: number }[] = []
  const receivers: { id: string; deficit: number }[] = []
  const ids = new Set([...current.map((c) => c.id), ...targets.map((t) => t.id)])
  for (const id of ids) {
    const have = counts.get(id) ?? 0
    const want = ideal.get(id) ?? 0
    if (have > want) donors.push({ id, surplus: have - want })
    else if (want > have) receivers.push({ id, deficit: want - have })
  }
  donors.sort((a, b) => b.surplus - a.surplus || a.id.localeCompare(b.id))
  receivers.sort((a, b) => b.deficit - a.deficit || a.id.localeCompare(b.id))
  const moves = new Map<string, { from: string; to: string; slots: number[] }>()
  let r = 0
  for (const donor of donors) {
    const slots = owned.get(donor.id)!
    while (donor.surplus > 0 && r < receivers.length) {
      const receiver = receivers[r]
      const n = Math.min(donor.surplus, receiver.deficit)
      const taken = slots.splice(slots.length - n, n)
      const key = `${donor.id}>${receiver.id}`
      const move = moves.get(key) ?? { from: donor.id, to: receiver.id, slots: [] }
      move.slots.push(...taken)
      moves.set(key, move)
      donor.surplus -= n
      receiver.deficit -= n
      if (receiver.deficit === 0) r++
    }
  }
  return [...moves.values()].map((m) => ({
    from: m.from,
    to: m.to,
    ranges: toRanges(m.slots),
    slots: m.slots.length,
  }))
}

/** Slot counts after applying `moves` to `current`. */
export function countsAfter(current: readonly ShardSlots[], moves: readonly SlotMove[]): Map<string, number> {
  const counts = new Map(current.map((c) => [c.id, countSlots(c.slots)]))
  for (const m of moves) {
    counts.set(m.from, (counts.get(m.from) ?? 0) - m.slots)
    counts.set(m.to, (counts.get(m.to) ?? 0) + m.slots)
  }
  return counts
}

interface RemovalCandidate {
  id: string
  address: string
  keys: number
  slots: number
  /** The node kvtop was pointed at (or a node of its shard): removed only when asked for by name. */
  seed: boolean
}

/**
 * Which shards to remove when scaling in: the ones holding the fewest keys (least data to move),
 * never the one the command connected through; ties go to the fewest slots, then the highest
 * address (usually the most recently added node).
 */
export function chooseShardsToRemove(candidates: readonly RemovalCandidate[], count: number): string[] {
  const eligible = candidates.filter((c) => !c.seed)
  const pool = eligible.length >= count ? eligible : [...candidates]
  return [...pool]
    .sort(
      (a, b) =>
        a.keys - b.keys ||
        a.slots - b.slots ||
        b.address.localeCompare(a.address, undefined, { numeric: true }),
    )
    .slice(0, count)
    .map((c) => c.id)
}

/** Split moves into groups of at most `size` consecutive slots, each group handled as one unit. */
export function slotGroups(move: SlotMove, size: number): number[][] {
  const slots = expandRanges(move.ranges)
  const groups: number[][] = []
  for (let i = 0; i < slots.length; i += size) groups.push(slots.slice(i, i + size))
  return groups
}

export function rangesText(ranges: readonly SlotRange[], max = 4): string {
  const merged = mergeRanges(ranges.map((r) => [r[0], r[1]] as SlotRange))
  const parts = merged.slice(0, max).map(([a, b]) => (a === b ? String(a) : `${a}-${b}`))
  if (merged.length > max) parts.push(`+${merged.length - max} more`)
  return parts.join(',')
}
