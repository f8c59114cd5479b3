import { describe, expect, it } from 'vitest'
import { countSlots, type SlotRange } from '../../../../src/connect/cluster-parsers.js'
import {
  chooseShardsToRemove,
  countsAfter,
  expandRanges,
  idealCounts,
  isBalanced,
  maxDeviation,
  planSlotMoves,
  rangesText,
  slotGroups,
  toRanges,
  SLOT_COUNT,
  type ShardSlots,
} from '../../../../src/ops/scale/planner.js'

/** N shards with contiguous, even slot ranges (as `sandbox up` / redis-cli create them). */
function evenCluster(n: number, prefix = 'p'): ShardSlots[] {
  const per = Math.floor(SLOT_COUNT / n)
  const extra = SLOT_COUNT % n
  let next = 0
  return Array.from({ length: n }, (_, i) => {
    const count = per + (i < extra ? 1 : 0)
    const range: SlotRange = [next, next + count - 1]
    next += count
    return { id: `${prefix}${i}`, slots: [range] }
  })
}

/** Apply moves to a layout and check every slot has exactly one owner. */
function apply(current: ShardSlots[], moves: ReturnType<typeof planSlotMoves>): Map<string, number[]> {
  const owner = new Map<number, string>()
  for (const c of current) for (const s of expandRanges(c.slots)) owner.set(s, c.id)
  for (const m of moves)
    for (const s of expandRanges(m.ranges)) {
      expect(owner.get(s)).toBe(m.from)
      owner.set(s, m.to)
    }
  expect(owner.size).toBe(SLOT_COUNT)
  const by = new Map<string, number[]>()
  for (const [s, id] of owner) by.set(id, [...(by.get(id) ?? []), s])
  return by
}

describe('scale planner', () => {
  it('ideal counts sum to 16384 and differ by at most one slot with equal weights', () => {
    for (const n of [1, 2, 3, 5, 7, 16, 100]) {
      const ideal = idealCounts(Array.from({ length: n }, (_, i) => ({ id: `s${i}`, weight: 1 })))
      const values = [...ideal.values()]
      expect(values.reduce((a, b) => a + b, 0)).toBe(SLOT_COUNT)
      expect(Math.max(...values) - Math.min(...values)).toBeLessThanOrEqual(1)
    }
  })

  it('ideal counts follow weights, and weight 0 gets nothing', () => {
    const ideal = idealCounts([
      { id: 'a', weight: 1 },
      { id: 'b', weight: 3 },
      { id: 'c', weight: 0 },
    ])
    expect(ideal.get('a')).toBe(4096)
    expect(ideal.get('b')).toBe(12288)
    expect(ideal.get('c')).toBe(0)
  })

  it('3 -> 5 shards: only donors give, only new shards receive, balanced within 2 %', () => {
    const current = [...evenCluster(3), { id: 'new-1', slots: [] }, { id: 'new-2', slots: [] }]
    const targets = current.map((c) => ({ id: c.id, weight: 1 }))
    const moves = planSlotMoves(current, targets)
    for (const m of moves) {
      expect(m.from).toMatch(/^p/)
      expect(m.to).toMatch(/^new-/)
      expect(countSlots(m.ranges)).toBe(m.slots)
    }
    const moved = moves.reduce((n, m) => n + m.slots, 0)
    // The minimum possible: exactly what the new shards need.
    expect(moved).toBe(2 * Math.floor(SLOT_COUNT / 5) + (SLOT_COUNT % 5 >= 4 ? 1 : 0))
    const owned = apply(current, moves)
    const counts = new Map([...owned].map(([id, s]) => [id, s.length]))
    const ideal = idealCounts(targets, counts)
    expect(maxDeviation(counts, ideal)).toBeLessThanOrEqual(0.02)
    expect(isBalanced(counts, ideal, 0.02)).toBe(true)
    // Donors give from the top of their range: what stays is one contiguous range.
    for (const id of ['p0', 'p1', 'p2']) expect(toRanges(owned.get(id)!)).toHaveLength(1)
  })

  it('5 -> 3 shards: removed shards give everything, kept shards only receive', () => {
    const current = evenCluster(5)
    const targets = ['p0', 'p1', 'p2'].map((id) => ({ id, weight: 1 }))
    const moves = planSlotMoves(current, targets)
    for (const m of moves) {
      expect(['p3', 'p4']).toContain(m.from)
      expect(['p0', 'p1', 'p2']).toContain(m.to)
    }
    const after = countsAfter(current, moves)
    expect(after.get('p3')).toBe(0)
    expect(after.get('p4')).toBe(0)
    const kept = ['p0', 'p1', 'p2'].map((id) => after.get(id)!)
    expect(kept.reduce((a, b) => a + b, 0)).toBe(SLOT_COUNT)
    expect(Math.max(...kept) - Math.min(...kept)).toBeLessThanOrEqual(1)
  })

  it('rebalance of a lopsided cluster reaches the ideal with the fewest moves', () => {
    const current: ShardSlots[] = [
      { id: 'a', slots: [[0, 9999]] },
      { id: 'b', slots: [[10000, 15999]] },
      { id: 'c', slots: [[16000, 16383]] },
    ]
    const targets = current.map((c) => ({ id: c.id, weight: 1 }))
    const moves = planSlotMoves(current, targets)
    const ideal = idealCounts(
      targets,
      new Map([
        ['a', 10000],
        ['b', 6000],
        ['c', 384],
      ]),
    )
    const needed = [...ideal].reduce((n, [id, want]) => {
      const have = countSlots(current.find((c) => c.id === id)!.slots)
      return n + Math.max(0, want - have)
    }, 0)
    expect(moves.reduce((n, m) => n + m.slots, 0)).toBe(needed)
    apply(current, moves)
  })

  it('an already balanced cluster plans no moves, and the threshold tolerates small skews', () => {
    const current = evenCluster(4)
    const targets = current.map((c) => ({ id: c.id, weight: 1 }))
    expect(planSlotMoves(current, targets)).toEqual([])
    const counts = new Map([
      ['p0', 4096 + 60],
      ['p1', 4096 - 60],
      ['p2', 4096],
      ['p3', 4096],
    ])
    const ideal = idealCounts(targets, counts)
    expect(isBalanced(counts, ideal, 0.02)).toBe(true)
    expect(isBalanced(counts, ideal, 0.01)).toBe(false)
  })

  it('weights: a weight-0 primary is drained', () => {
    const current = evenCluster(3)
    const moves = planSlotMoves(current, [
      { id: 'p0', weight: 1 },
      { id: 'p1', weight: 1 },
      { id: 'p2', weight: 0 },
    ])
    expect(countsAfter(current, moves).get('p2')).toBe(0)
  })

  it('chooses the shards with the fewest keys to remove, never the seed', () => {
    const candidates = [
      { id: 'a', address: '127.0.0.1:7000', keys: 10, slots: 3000, seed: true },
      { id: 'b', address: '127.0.0.1:7001', keys: 500, slots: 3000, seed: false },
      { id: 'c', address: '127.0.0.1:7002', keys: 20, slots: 3000, seed: false },
      { id: 'd', address: '127.0.0.1:7003', keys: 20, slots: 3000, seed: false },
    ]
    expect(chooseShardsToRemove(candidates, 1)).toEqual(['d'])
    expect(chooseShardsToRemove(candidates, 2)).toEqual(['d', 'c'])
    expect(chooseShardsToRemove(candidates, 3)).toEqual(['d', 'c', 'b'])
  })

  it('slot ranges and groups round-trip', () => {
    const ranges: SlotRange[] = [
      [0, 2],
      [5, 5],
      [7, 9],
    ]
    expect(toRanges(expandRanges(ranges))).toEqual(ranges)
    expect(rangesText(ranges)).toBe('0-2,5,7-9')
    expect(slotGroups({ from: 'a', to: 'b', ranges, slots: 7 }, 3)).toEqual([[0, 1, 2], [5, 7, 8], [9]])
  })
})
