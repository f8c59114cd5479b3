/**
 * Memory headroom for `kvtop scale aws`: each shard's memory from CloudWatch, what it becomes after
 * the change, and which ElastiCache node groups hold the least data.
 */
import type { CloudWatchSample } from '../../aws/cloudwatch.js'
import type { AwsDeployment } from '../../aws/types.js'

export interface ShardMemory {
  shard: string
  /** The primary's node id (IsMaster/IsPrimary from CloudWatch, or the role AWS reports). */
  primary?: string
  bytesUsed?: number
  /** maxmemory, derived from BytesUsed and DatabaseMemoryUsagePercentage. */
  maxBytes?: number
  usedPercent?: number
}

export interface MemoryCheck {
  source: 'cloudwatch' | 'unavailable'
  shards: ShardMemory[]
  totalBytes?: number
  /** Memory per shard afterwards (maxmemory of the node type after the change). */
  capacityAfterBytes?: number
  /** Data per shard afterwards, assuming it spreads evenly over the shards. */
  perShardAfterBytes?: number
  projectedPercent?: number
  limitPercent: number
  note?: string
}

/**
 * maxmemory-relevant memory of common node types in GiB (AWS's published figures). Only ratios
 * between two types are used: the current capacity is measured, not looked up.
 */
const NODE_MEMORY_GIB: Record<string, number> = {
  't2.micro': 0.555,
  't2.small': 1.55,
  't2.medium': 3.22,
  't3.micro': 0.5,
  't3.small': 1.37,
  't3.medium': 3.09,
  't4g.micro': 0.5,
  't4g.small': 1.37,
  't4g.medium': 3.09,
  'm5.large': 6.38,
  'm5.xlarge': 12.93,
  'm5.2xlarge': 26.04,
  'm5.4xlarge': 52.26,
  'm5.12xlarge': 157.12,
  'm5.24xlarge': 314.32,
  'm6g.large': 6.38,
  'm6g.xlarge': 12.93,
  'm6g.2xlarge': 26.04,
  'm6g.4xlarge': 52.26,
  'm6g.8xlarge': 103.68,
  'm6g.12xlarge': 157.12,
  'm6g.16xlarge': 209.55,
  'm7g.large': 6.38,
  'm7g.xlarge': 12.93,
  'm7g.2xlarge': 26.04,
  'm7g.4xlarge': 52.26,
  'm7g.8xlarge': 103.68,
  'm7g.12xlarge': 157.12,
  'm7g.16xlarge': 209.55,
  'r5.large': 13.07,
  'r5.xlarge': 26.32,
  'r5.2xlarge': 52.82,
  'r5.4xlarge': 105.81,
  'r5.12xlarge': 317.77,
  'r5.24xlarge': 635.61,
  'r6g.large': 13.07,
  'r6g.xlarge': 26.32,
  'r6g.2xlarge': 52.82,
  'r6g.4xlarge': 105.81,
  'r6g.8xlarge': 209.55,
  'r6g.12xlarge': 317.77,
  'r6g.16xlarge': 419.09,
  'r7g.large': 13.07,
  'r7g.xlarge': 26.32,
  'r7g.2xlarge': 52.82,
  'r7g.4xlarge': 105.81,
  'r7g.8xlarge': 209.55,
  'r7g.12xlarge': 317.77,
  'r7g.16xlarge': 419.09,
}

/** Memory of a node type (cache.r7g.large, db.r7g.large), or undefined when not in the table. */
export function nodeMemoryGiB(nodeType: string | undefined): number | undefined {
  if (!nodeType) return undefined
  return NODE_MEMORY_GIB[nodeType.replace(/^(cache|db)\./, '')]
}

/** Per-shard memory from CloudWatch: the primary's BytesUsed and DatabaseMemoryUsagePercentage. */
export function shardMemory(d: AwsDeployment, samples: Map<string, CloudWatchSample>): ShardMemory[] {
  return d.shards.map((s) => {
    const primary =
      s.nodes.find((n) => samples.get(n.id)?.isPrimary === 1) ??
      s.nodes.find((n) => n.role === 'primary') ??
      s.nodes[0]
    const sample = primary ? samples.get(primary.id) : undefined
    const bytesUsed = sample?.bytesUsed
    const pct = sample?.memoryUsagePercent
    // A percentage outside (0, 100] says nothing reliable about maxmemory (no limit set, a bad datapoint).
    const maxBytes =
      bytesUsed !== undefined && pct !== undefined && pct > 0 && pct <= 100
        ? Math.round(bytesUsed / (pct / 100))
        : undefined
    return {
      shard: s.id,
      ...(primary ? { primary: primary.id } : {}),
      ...(bytesUsed !== undefined ? { bytesUsed } : {}),
      ...(maxBytes !== undefined ? { maxBytes } : {}),
      ...(pct !== undefined ? { usedPercent: Math.round(pct * 100) / 100 } : {}),
    }
  })
}

/**
 * Which node groups to remove when scaling in: the ones holding the least data (their slots are
 * the cheapest to move), ties broken by the highest id (usually the most recently added).
 */
export function chooseNodeGroupsToRemove(memory: ShardMemory[], count: number): string[] {
  return [...memory]
    .sort(
      (a, b) =>
        (a.bytesUsed ?? Number.MAX_SAFE_INTEGER) - (b.bytesUsed ?? Number.MAX_SAFE_INTEGER) ||
        b.shard.localeCompare(a.shard),
    )
    .slice(0, count)
    .map((m) => m.shard)
}

export function gib(bytes: number | undefined): string {
  return bytes === undefined ? '?' : `${(bytes / 1024 ** 3).toFixed(2)} GiB`
}

/** Projected memory use per shard after the change. Pure. */
export function projectMemory(
  memory: ShardMemory[],
  shardsAfter: number,
  nodeTypeBefore: string | undefined,
  nodeTypeAfter: string | undefined,
  limitPercent: number,
): MemoryCheck {
  const known = memory.filter((m) => m.bytesUsed !== undefined)
  if (!known.length || known.length < memory.length)
    return {
      source: 'unavailable',
      shards: memory,
      limitPercent,
      note: 'CloudWatch has no memory figures for every shard: headroom not checked',
    }
  const totalBytes = known.reduce((n, m) => n + m.bytesUsed!, 0)
  const capacities = memory.map((m) => m.maxBytes).filter((c): c is number => c !== undefined)
  let capacity = capacities.length ? Math.min(...capacities) : undefined
  let note: string | undefined
  if (capacity !== undefined && nodeTypeAfter && nodeTypeAfter !== nodeTypeBefore) {
    const before = nodeMemoryGiB(nodeTypeBefore)
    const after = nodeMemoryGiB(nodeTypeAfter)
    if (before && after) capacity = Math.round(capacity * (after / before))
    else {
      capacity = undefined
      note = `the memory of ${!after ? nodeTypeAfter : nodeTypeBefore} is not in kvtop's node table: headroom after the node type change not checked`
    }
  }
  const perShardAfterBytes = Math.round(totalBytes / Math.max(1, shardsAfter))
  const projectedPercent =
    capacity !== undefined && capacity > 0
      ? Math.round((perShardAfterBytes / capacity) * 10000) / 100
      : undefined
  return {
    source: 'cloudwatch',
    shards: memory,
    totalBytes,
    ...(capacity !== undefined ? { capacityAfterBytes: capacity } : {}),
    perShardAfterBytes,
    ...(projectedPercent !== undefined ? { projectedPercent } : {}),
    limitPercent,
    ...(note
      ? { note }
      : capacity === undefined
        ? { note: 'no DatabaseMemoryUsagePercentage in CloudWatch: maxmemory unknown, headroom not checked' }
        : {}),
  }
}
