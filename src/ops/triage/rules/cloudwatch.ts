import { THRESHOLDS } from '../../../metrics/thresholds.js'
import type { CloudWatchSummary, Finding } from '../types.js'
import type { TriageRule } from './rule.js'

export const cloudWatchPeaks: TriageRule = {
  name: 'cloudwatch-peaks',
  scope: 'input',
  check: (input) => cloudWatchFindings(input.cloudwatch),
}

/** CloudWatch over the last hours: the worst period of each node. Nodes named by endpoint where AWS gives one. */
export function cloudWatchFindings(cw: CloudWatchSummary | undefined): Finding[] {
  const out: Finding[] = []
  if (!cw) return out
  const add = (f: Finding) => out.push(f)
  for (const [id, m] of Object.entries(cw.nodes)) {
    // The finding's node is the endpoint (as for every finding); the summary keeps AWS's name for the console.
    const node = cw.addresses?.[id] ?? id
    const name = id
    const cpu = m.engineCpu ?? m.cpu
    if (cpu !== undefined && cpu >= THRESHOLDS.cpuPercent) {
      add({
        severity: 'warning',
        category: 'cloudwatch',
        node,
        summary: `CloudWatch: ${name} reached ${Math.round(cpu)}% (engine) CPU in the last ${cw.hours} hours`,
        why: 'CPU peaks show as latency spikes for every client of the node.',
        action: 'Match the time with the slowlog and deployments; scale up or out if it recurs.',
        evidence: { awsNode: id, cpu },
      })
    }
    if ((m.memoryUsagePercent ?? 0) >= THRESHOLDS.memoryFraction * 100) {
      add({
        severity: 'warning',
        category: 'cloudwatch',
        node,
        summary: `CloudWatch: ${name} reached ${Math.round(m.memoryUsagePercent!)}% memory in the last ${cw.hours} hours`,
        why: 'Near maxmemory the node evicts or refuses writes.',
        action: 'Plan capacity: scale out or up, or shorten TTLs.',
        evidence: { awsNode: id, memoryUsagePercent: m.memoryUsagePercent },
      })
    }
    if ((m.evictions ?? 0) > 0) {
      add({
        severity: 'warning',
        category: 'cloudwatch',
        node,
        summary: `CloudWatch: ${name} evicted keys in the last ${cw.hours} hours (${m.evictions} in its worst period)`,
        why: 'Evictions mean the node was full.',
        action: 'Add memory or shorten TTLs.',
        evidence: { awsNode: id, evictions: m.evictions },
      })
    }
    if ((m.replicationLag ?? 0) >= THRESHOLDS.lagSeconds) {
      add({
        severity: 'warning',
        category: 'cloudwatch',
        node,
        summary: `CloudWatch: replica ${name} lagged up to ${m.replicationLag!.toFixed(1)}s in the last ${cw.hours} hours`,
        why: 'Stale reads and a risk of losing writes on failover.',
        action: 'Look for write bursts and network saturation at those times.',
        evidence: { awsNode: id, replicationLag: m.replicationLag },
      })
    }
  }
  return out
}
