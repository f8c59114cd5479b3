/**
 * Alerts: conditions over a snapshot, raised once when they start and cleared once when they end.
 * Both transitions are events (`{type, at, ...}`) for NDJSON streams and the dashboard's alert log.
 */

import { THRESHOLDS } from './thresholds.js'

export type Severity = 'critical' | 'warning' | 'info'

type AlertType =
  | 'node-down'
  | 'replication-lag'
  | 'memory-high'
  | 'evictions'
  | 'full-resync'
  | 'slots-uncovered'
  | 'cluster-state'

/** An event in an NDJSON stream: `{type, at, ...}`. */
export interface MonitorEvent {
  type: string
  at: number
  severity: Severity
  message: string
  node?: string
  address?: string
  shard?: number
  [extra: string]: unknown
}

export interface Alert {
  type: AlertType
  key: string
  severity: Severity
  since: number
  message: string
  node?: string
  address?: string
  shard?: number
}

export interface AlertThresholds {
  /** Replication lag that raises an alert. */
  lagSeconds: number
  lagBytes: number
  /** used_memory / maxmemory at or above this fraction raises memory-high. */
  memoryFraction: number
}

export const DEFAULT_THRESHOLDS: AlertThresholds = {
  lagSeconds: THRESHOLDS.lagSeconds,
  lagBytes: THRESHOLDS.lagBytes,
  memoryFraction: THRESHOLDS.memoryFraction,
}

/** What the alert rules read from a round (a narrow view of the snapshot, easy to build in tests). */
export interface AlertInput {
  at: number
  mode: 'standalone' | 'replicated' | 'cluster'
  slotsCovered?: number
  clusterState?: string
  nodes: {
    id: string
    address: string
    shard: number
    role: 'primary' | 'replica'
    up: boolean
    state: string
    error?: string
    memoryUsed?: number
    maxmemory?: number
    evictionsPerSec?: number
    fullSyncs?: number
    syncInProgress?: boolean
    lagBytes?: number
    lagSeconds?: number
    link?: 'up' | 'down'
  }[]
}

type Candidate = Omit<Alert, 'since'>
type AlertNode = AlertInput['nodes'][number]

function candidates(input: AlertInput, t: AlertThresholds): Candidate[] {
  return [...input.nodes.flatMap((n) => nodeAlerts(n, t)), ...clusterAlerts(input)]
}

/** An alert about one node, keyed by its type and the node. */
function nodeAlert(n: AlertNode, type: AlertType, severity: Alert['severity'], message: string): Candidate {
  return { type, key: `${type}:${n.id}`, severity, message, node: n.id, address: n.address, shard: n.shard }
}

/** A node that is down raises that alone; an up one may lag, run out of memory, evict, resync. */
function nodeAlerts(n: AlertNode, t: AlertThresholds): Candidate[] {
  if (!n.up) {
    const why = `${n.state === 'timeout' ? 'not responding' : 'down'}${n.error ? `: ${n.error}` : ''}`
    const severity = n.role === 'primary' ? 'critical' : 'warning'
    return [nodeAlert(n, 'node-down', severity, `${n.role} ${n.address} (shard ${n.shard}) is ${why}`)]
  }
  const out: Candidate[] = []
  if (n.role === 'replica') {
    const overSeconds = n.lagSeconds !== undefined && n.lagSeconds >= t.lagSeconds
    const overBytes = n.lagBytes !== undefined && n.lagBytes >= t.lagBytes
    if (overSeconds || overBytes || n.link === 'down')
      out.push(
        nodeAlert(
          n,
          'replication-lag',
          n.link === 'down' ? 'critical' : 'warning',
          n.link === 'down'
            ? `replica ${n.address} (shard ${n.shard}): link to its primary is down`
            : `replica ${n.address} (shard ${n.shard}) is ${formatLag(n.lagBytes, n.lagSeconds)} behind`,
        ),
      )
  }
  if (n.maxmemory && n.memoryUsed !== undefined && n.memoryUsed / n.maxmemory >= t.memoryFraction) {
    const percent = Math.round((n.memoryUsed / n.maxmemory) * 100)
    out.push(nodeAlert(n, 'memory-high', 'warning', `${n.address} uses ${percent}% of maxmemory`))
  }
  if (n.evictionsPerSec) {
    const message = `${n.address} is evicting keys (${n.evictionsPerSec.toFixed(1)}/s)`
    out.push(nodeAlert(n, 'evictions', 'warning', message))
  }
  if (n.fullSyncs || n.syncInProgress) {
    const message =
      n.role === 'primary' ? `${n.address} served a full resync` : `replica ${n.address} is in a full resync`
    out.push(nodeAlert(n, 'full-resync', 'warning', message))
  }
  return out
}

/** A cluster with slots no node serves, or whose state is not ok. */
function clusterAlerts(input: AlertInput): Candidate[] {
  if (input.mode !== 'cluster') return []
  const out: Candidate[] = []
  if (input.slotsCovered !== undefined && input.slotsCovered < 16384) {
    out.push({
      type: 'slots-uncovered',
      key: 'slots-uncovered',
      severity: 'critical',
      message: `${16384 - input.slotsCovered} of 16384 slots are not served`,
    })
  }
  if (input.clusterState && input.clusterState !== 'ok') {
    out.push({
      type: 'cluster-state',
      key: 'cluster-state',
      severity: 'critical',
      message: `cluster state is ${input.clusterState}`,
    })
  }
  return out
}

function formatLag(bytes: number | undefined, seconds: number | undefined): string {
  const parts: string[] = []
  if (bytes !== undefined) parts.push(`${bytes} bytes`)
  if (seconds !== undefined) parts.push(`${seconds.toFixed(1)} s`)
  return parts.join(' / ') || 'unknown'
}

/** Keeps the active alerts; `evaluate` returns the transitions as events. */
export class AlertTracker {
  private readonly active = new Map<string, Alert>()

  constructor(private readonly thresholds: AlertThresholds = DEFAULT_THRESHOLDS) {}

  evaluate(input: AlertInput): { active: Alert[]; events: MonitorEvent[] } {
    const events: MonitorEvent[] = []
    const now = candidates(input, this.thresholds)
    const seen = new Set<string>()
    for (const c of now) {
      seen.add(c.key)
      const existing = this.active.get(c.key)
      if (existing) {
        existing.message = c.message
        existing.severity = c.severity
        continue
      }
      const alert: Alert = { ...c, since: input.at }
      this.active.set(c.key, alert)
      events.push(eventFor(alert, input.at))
    }
    for (const [key, alert] of [...this.active]) {
      if (seen.has(key)) continue
      this.active.delete(key)
      // A node that left the topology is reported by the topology events, not as "up".
      if (alert.type === 'node-down' && !input.nodes.some((n) => n.id === alert.node)) continue
      events.push(clearedEvent(alert, input.at))
    }
    return { active: [...this.active.values()].sort(compareAlerts), events }
  }
}

const SEVERITY_ORDER: Record<Severity, number> = { critical: 0, warning: 1, info: 2 }

function compareAlerts(a: Alert, b: Alert): number {
  return (
    SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] || a.since - b.since || a.key.localeCompare(b.key)
  )
}

function location(a: Alert): Partial<MonitorEvent> {
  return {
    ...(a.node ? { node: a.node } : {}),
    ...(a.address ? { address: a.address } : {}),
    ...(a.shard !== undefined ? { shard: a.shard } : {}),
  }
}

function eventFor(a: Alert, at: number): MonitorEvent {
  return { type: a.type, at, severity: a.severity, message: a.message, ...location(a) }
}

function clearedEvent(a: Alert, at: number): MonitorEvent {
  if (a.type === 'node-down')
    return { type: 'node-up', at, severity: 'info', message: `${a.address} is back`, ...location(a) }
  return {
    type: 'alert-cleared',
    at,
    severity: 'info',
    alert: a.type,
    message: `cleared: ${a.message}`,
    ...location(a),
  }
}
