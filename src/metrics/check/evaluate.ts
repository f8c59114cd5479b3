import { formatBytes } from '../../format/units.js'
import type { NodeStatus, Snapshot } from '../types.js'
import { brokenLevel, isChecked, type CheckLevels, type CheckName, type Levels } from './levels.js'

export type CheckStatus = 'ok' | 'warning' | 'critical'

/** One threshold broken: by a node, or (nodes-down, slots, cluster-state) by the deployment. */
export interface Breach {
  check: CheckName | 'replica-link' | 'slots' | 'cluster-state'
  severity: 'warning' | 'critical'
  /** The node's id and address, for per-node checks. */
  node?: string
  address?: string
  shard?: number
  value: number
  /** The level broken; absent for the checks that have none (replica-link, slots, cluster-state). */
  threshold?: number
  /** The line a person reads: what, where, how much, against which level. */
  message: string
}

/** The worst figure of one check across the deployment, as Nagios perfdata carries it. */
export interface Figure {
  label: string
  value: number
  /** Nagios unit of measure: B, s, % or none. */
  uom: '' | 'B' | 's' | '%'
  warning?: number
  critical?: number
  min?: number
  max?: number
}

export interface CheckResult {
  status: CheckStatus
  at: number
  deployment: {
    mode: Snapshot['deployment']['mode']
    nodes: number
    nodesUp: number
    shards: number
    slotsCovered?: number
    clusterState?: string
  }
  /** Critical first, then warnings, each in node order. */
  breaches: Breach[]
  figures: Figure[]
  /** Checks that are on but had nothing to measure (memory without maxmemory), and why. */
  unchecked: { check: CheckName; reason: string }[]
}

const SLOTS = 16384

/** Plain numbers for lines: whole numbers as they are, others with at most two decimals. */
function plain(n: number): string {
  return String(Math.round(n * 100) / 100)
}

function levelText(severity: Breach['severity'], level: number, show: (n: number) => string): string {
  return `${severity} above ${show(level)}`
}

interface PerNodeCheck {
  check: CheckName
  applies: (n: NodeStatus) => boolean
  value: (n: NodeStatus, snap: Snapshot) => number | undefined
  show: (n: number) => string
  what: (shown: string) => string
  /** Why no node gave a value, when that leaves the check silently unanswered. */
  unmeasured?: string
}

const PER_NODE: PerNodeCheck[] = [
  {
    check: 'lag-bytes',
    applies: (n) => n.role === 'replica' && n.replication?.link !== 'down',
    value: (n) => n.replication?.lagBytes,
    show: formatBytes,
    what: (v) => `${v} behind its primary`,
  },
  {
    check: 'lag-seconds',
    applies: (n) => n.role === 'replica' && n.replication?.link !== 'down',
    value: (n) => n.replication?.lagSeconds,
    show: (n) => `${plain(n)} s`,
    what: (v) => `${v} behind its primary`,
  },
  {
    check: 'memory',
    applies: () => true,
    value: (n) => (n.memory.usedFraction === undefined ? undefined : n.memory.usedFraction * 100),
    show: (n) => `${n.toFixed(1).replace(/\.0$/, '')}%`,
    what: (v) => `${v} of maxmemory`,
    unmeasured: 'no node has maxmemory set, and the level is a share of maxmemory',
  },
  {
    check: 'evictions',
    applies: () => true,
    value: (n) => n.evictionsPerSec,
    show: (n) => `${plain(n)}/s`,
    what: (v) => `${v} keys evicted`,
  },
  {
    check: 'slowlog',
    applies: () => true,
    value: (n, snap) => snap.slowlog.filter((e) => e.node === n.id).length / (snap.intervalMs / 1000),
    show: (n) => `${plain(n)}/s`,
    what: (v) => `${v} new slowlog entries`,
  },
]

const PERF: Record<CheckName, { label: string; uom: Figure['uom']; max?: (s: Snapshot) => number }> = {
  'lag-bytes': { label: 'lag_bytes', uom: 'B' },
  'lag-seconds': { label: 'lag_seconds', uom: 's' },
  memory: { label: 'memory', uom: '%', max: () => 100 },
  evictions: { label: 'evictions', uom: '' },
  slowlog: { label: 'slowlog', uom: '' },
  'nodes-down': { label: 'nodes_down', uom: '', max: (s) => s.nodes.length },
}

function figure(check: CheckName, value: number, levels: Levels, snap: Snapshot): Figure {
  const perf = PERF[check]
  return {
    label: perf.label,
    value,
    uom: perf.uom,
    ...(levels.warning !== undefined ? { warning: levels.warning } : {}),
    ...(levels.critical !== undefined ? { critical: levels.critical } : {}),
    min: 0,
    ...(perf.max ? { max: perf.max(snap) } : {}),
  }
}

/** What one pass finds, in the order found: breaches, the figures measured, what could not be. */
interface Findings {
  breaches: Breach[]
  figures: Figure[]
  unchecked: CheckResult['unchecked']
}

/**
 * One pass of the thresholds over a snapshot whose rates cover an interval (the second round of
 * sampleStatus). The figures are the engine's; this only compares them.
 */
export function evaluateChecks(snap: Snapshot, levels: CheckLevels): CheckResult {
  const found: Findings = { breaches: [], figures: [], unchecked: [] }
  const up = snap.nodes.filter((n) => n.up)
  if (isChecked(levels['lag-bytes']) || isChecked(levels['lag-seconds'])) replicaLinks(up, found)
  for (const c of PER_NODE) {
    const level = levels[c.check]
    if (isChecked(level)) perNode(c, level, up, snap, found)
  }
  const downLevel = levels['nodes-down']
  if (isChecked(downLevel)) nodesDown(downLevel, snap, found)
  if (snap.deployment.mode === 'cluster') clusterCoverage(snap, found)
  const ordered = [
    ...found.breaches.filter((b) => b.severity === 'critical'),
    ...found.breaches.filter((b) => b.severity === 'warning'),
  ]
  return {
    status: ordered.length ? ordered[0].severity : 'ok',
    at: snap.at,
    deployment: {
      mode: snap.deployment.mode,
      nodes: snap.nodes.length,
      nodesUp: up.length,
      shards: snap.deployment.shards,
      ...(snap.deployment.slotsCovered !== undefined ? { slotsCovered: snap.deployment.slotsCovered } : {}),
      ...(snap.deployment.clusterState ? { clusterState: snap.deployment.clusterState } : {}),
    },
    breaches: ordered,
    figures: found.figures,
    unchecked: found.unchecked,
  }
}

/** A replica whose link to its primary is down is critical whenever lag is checked: its lag is unknown. */
function replicaLinks(up: NodeStatus[], found: Findings): void {
  for (const n of up) {
    if (n.role !== 'replica' || n.replication?.link !== 'down') continue
    found.breaches.push({
      check: 'replica-link',
      severity: 'critical',
      node: n.id,
      address: n.address,
      shard: n.shard,
      value: 1,
      message: `replica-link ${n.address}: the link to its primary is down`,
    })
  }
}

/** One per-node check over the nodes that are up: a breach per node over a level, the worst as the figure. */
function perNode(c: PerNodeCheck, level: Levels, up: NodeStatus[], snap: Snapshot, found: Findings): void {
  let worst: number | undefined
  for (const n of up) {
    if (!c.applies(n)) continue
    const value = c.value(n, snap)
    if (value === undefined) continue
    worst = Math.max(worst ?? value, value)
    const severity = brokenLevel(value, level)
    if (!severity) continue
    const threshold = level[severity]!
    found.breaches.push({
      check: c.check,
      severity,
      node: n.id,
      address: n.address,
      shard: n.shard,
      value,
      threshold,
      message: `${c.check} ${n.address}: ${c.what(c.show(value))}, ${levelText(severity, threshold, c.show)}`,
    })
  }
  if (worst !== undefined) found.figures.push(figure(c.check, worst, level, snap))
  else if (c.unmeasured && up.some(c.applies)) found.unchecked.push({ check: c.check, reason: c.unmeasured })
}

function nodesDown(level: Levels, snap: Snapshot, found: Findings): void {
  const down = snap.nodes.filter((n) => !n.up)
  const severity = brokenLevel(down.length, level)
  if (severity) {
    const which = down.map((n) => `${n.address} ${n.role} of shard ${n.shard}`).join(', ')
    found.breaches.push({
      check: 'nodes-down',
      severity,
      value: down.length,
      threshold: level[severity]!,
      message: `nodes-down: ${down.length} of ${snap.nodes.length} nodes down (${which}), ${levelText(severity, level[severity]!, plain)}`,
    })
  }
  found.figures.push(figure('nodes-down', down.length, level, snap))
}

/** A cluster serves every slot and says its state is ok, or the check is critical. */
function clusterCoverage(snap: Snapshot, found: Findings): void {
  const covered = snap.deployment.slotsCovered
  if (covered !== undefined) {
    if (covered < SLOTS)
      found.breaches.push({
        check: 'slots',
        severity: 'critical',
        value: covered,
        message: `slots: ${SLOTS - covered} of ${SLOTS} slots not served`,
      })
    found.figures.push({ label: 'slots_covered', value: covered, uom: '', min: 0, max: SLOTS })
  }
  const state = snap.deployment.clusterState
  if (state && state !== 'ok')
    found.breaches.push({
      check: 'cluster-state',
      severity: 'critical',
      value: 0,
      message: `cluster-state: the cluster state is ${state}`,
    })
}
