import { formatBytes } from '../../../format/units.js'
import { THRESHOLDS } from '../../../metrics/thresholds.js'
import { when, type TriageRule } from './rule.js'
import { pct } from './text.js'

export const memoryHigh: TriageRule = {
  name: 'memory-high',
  scope: 'node',
  check: (n) => {
    const m = n.memory
    return when(n.up && m.usedFraction !== undefined && m.usedFraction >= THRESHOLDS.memoryFraction, () => ({
      severity: m.usedFraction! >= THRESHOLDS.memoryFractionCritical ? 'critical' : 'warning',
      category: 'resources',
      node: n.address,
      summary: `memory ${formatBytes(m.used ?? 0)} of ${formatBytes(m.maxmemory ?? 0)} maxmemory (${pct(m.usedFraction!)}), policy ${m.policy ?? 'unknown'}`,
      why:
        m.policy === 'noeviction'
          ? 'At the limit, writes fail with OOM errors.'
          : 'At the limit, keys are evicted to make room: data the application expects may vanish.',
      action: 'Find the big keys below, add TTLs, scale out (more shards) or up (a bigger node type).',
      evidence: { used: m.used, maxmemory: m.maxmemory },
    }))
  },
}

export const evictions: TriageRule = {
  name: 'evictions',
  scope: 'node',
  check: (n) =>
    when(n.up && (n.evictionsPerSec ?? 0) > 0, () => ({
      severity: 'warning',
      category: 'resources',
      node: n.address,
      summary: `${n.address} evicts ${n.evictionsPerSec!.toFixed(1)} keys/s (${n.memory.policy ?? 'policy unknown'})`,
      why: 'The node is full: keys are being dropped, and the cache hit ratio suffers.',
      action: 'Add memory (scale out or up) or shorten TTLs; check for a key that grew unexpectedly.',
    })),
}

export const fragmentation: TriageRule = {
  name: 'fragmentation',
  scope: 'node',
  check: (n) => {
    const m = n.memory
    return when(
      n.up &&
        m.fragmentationRatio !== undefined &&
        m.fragmentationRatio >= THRESHOLDS.fragmentation &&
        (m.rss ?? 0) - (m.used ?? 0) >= THRESHOLDS.fragmentationMinBytes,
      () => ({
        severity: 'warning',
        category: 'resources',
        node: n.address,
        summary: `fragmentation ${m.fragmentationRatio!.toFixed(2)} on ${n.address} (RSS ${formatBytes(m.rss ?? 0)} for ${formatBytes(m.used ?? 0)} used)`,
        why: 'Memory the OS counts but the dataset does not use: the node can run out of memory early.',
        action: 'Enable activedefrag where allowed, or fail over to a fresh replica.',
      }),
    )
  },
}

export const cpuHigh: TriageRule = {
  name: 'cpu-high',
  scope: 'node',
  check: (n) =>
    when(n.up && (n.cpuPercent ?? 0) >= THRESHOLDS.cpuPercent, () => ({
      severity: 'warning',
      category: 'resources',
      node: n.address,
      summary: `${n.address} uses ${Math.round(n.cpuPercent!)}% CPU`,
      why: 'Redis runs commands on one thread: near 100% every command waits and latency climbs.',
      action: 'Look at the top commands by time and the slowlog below; spread hot keys or scale out.',
    })),
}

export const rejectedConnections: TriageRule = {
  name: 'rejected-connections',
  scope: 'extras',
  check: (e) =>
    when(!!e.rejectedConnections, () => ({
      severity: 'warning',
      category: 'resources',
      node: e.address,
      summary: `${e.address} rejected ${e.rejectedConnections} connections since it started (maxclients ${e.maxclients ?? '?'})`,
      why: 'Clients were refused: application errors, often connection storms or leaks.',
      action: 'Use connection pools; raise maxclients where allowed.',
    })),
}
