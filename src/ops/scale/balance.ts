/** How evenly slots sit on the shards, against each shard's weighted share. */
import { idealCounts, isBalanced, maxDeviation, type TargetShard } from './planner.js'
import type { Balance } from './types.js'

export function balanceOf(
  counts: Map<string, number>,
  targets: TargetShard[],
  thresholdPercent: number,
): Balance {
  const ideal = idealCounts(targets, counts)
  const live = targets.filter((t) => t.weight > 0).map((t) => counts.get(t.id) ?? 0)
  return {
    min: live.length ? Math.min(...live) : 0,
    max: live.length ? Math.max(...live) : 0,
    maxDeviationPercent: Math.round(maxDeviation(counts, ideal) * 10000) / 100,
    thresholdPercent,
    balanced: isBalanced(counts, ideal, thresholdPercent / 100),
  }
}
