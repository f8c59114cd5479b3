import type { Finding, Severity, TriageInput } from '../types.js'
import { blockedClients, clientBuffers, clientsNearMax } from './clients.js'
import { cloudWatchPeaks } from './cloudwatch.js'
import { bigKeys, hotKeys } from './keys.js'
import { backlogHeadroom, repeatedFullResyncs, replicationLag, replicationLinkDown } from './replication.js'
import { cpuHigh, evictions, fragmentation, memoryHigh, rejectedConnections } from './resources.js'
import type { TriageRule } from './rule.js'
import {
  clusterState,
  nodeDown,
  openSlots,
  replicasOnPrimaryHost,
  slotMapDisagreement,
  slotsUncovered,
} from './topology.js'
import { errorReplies, largeReplies, largeRequests, slowCommandP99, slowlogPatterns } from './workload.js'

export type { TriageRule } from './rule.js'

/**
 * Every triage rule, in report order within a severity: topology, replication, resources, workload,
 * clients, keys, CloudWatch. A new finding is a rule in the file of its category, listed here.
 */
export const RULES: readonly TriageRule[] = [
  clusterState,
  slotsUncovered,
  nodeDown,
  openSlots,
  slotMapDisagreement,
  replicasOnPrimaryHost,
  replicationLinkDown,
  replicationLag,
  backlogHeadroom,
  repeatedFullResyncs,
  memoryHigh,
  evictions,
  fragmentation,
  cpuHigh,
  rejectedConnections,
  errorReplies,
  slowCommandP99,
  slowlogPatterns,
  largeReplies,
  largeRequests,
  blockedClients,
  clientBuffers,
  clientsNearMax,
  bigKeys,
  hotKeys,
  cloudWatchPeaks,
]

/** The arguments a rule of `scope` is called with, once per item of that scope. */
function itemsOf(scope: TriageRule['scope'], input: TriageInput): unknown[][] {
  const s = input.snapshot
  switch (scope) {
    case 'input':
      return [[input]]
    case 'node':
      return s.nodes.map((n) => [n, input])
    case 'replica':
      return s.replication.flatMap((shard) => shard.replicas.map((r) => [r, shard, input]))
    case 'shard':
      return s.replication.map((shard) => [shard, input])
    case 'extras':
      return input.extras.map((e) => [e, input])
  }
}

/** What `rules` (all of one scope) find, item by item: each item's findings together. */
function runScope(rules: readonly TriageRule[], input: TriageInput): Finding[] {
  const out: Finding[] = []
  for (const args of itemsOf(rules[0].scope, input))
    for (const rule of rules) out.push(...(rule.check as (...a: unknown[]) => Finding[])(...args))
  return out
}

/** What one rule finds on its own (tests, and a rule's documentation). */
export function findingsOf(rule: TriageRule, input: TriageInput): Finding[] {
  return runScope([rule], input)
}

/** Every rule over the collected facts, ranked. Pure: the unit tests feed it fixtures. */
export function evaluate(input: TriageInput, rules: readonly TriageRule[] = RULES): Finding[] {
  const out: Finding[] = []
  for (let i = 0; i < rules.length;) {
    let j = i + 1
    while (j < rules.length && rules[j].scope === rules[i].scope) j++
    out.push(...runScope(rules.slice(i, j), input))
    i = j
  }
  return rankFindings(out)
}

const RANK: Record<Severity, number> = { critical: 0, warning: 1, info: 2 }

/** Findings sorted for reading: critical first, then warnings, then notes; stable within a level. */
export function rankFindings(findings: Finding[]): Finding[] {
  return findings
    .map((f, i) => ({ f, i }))
    .sort((a, b) => RANK[a.f.severity] - RANK[b.f.severity] || a.i - b.i)
    .map((x) => x.f)
}
