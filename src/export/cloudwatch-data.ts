import type { DeploymentView } from './samples.js'

/**
 * kvtop's figures as CloudWatch custom metrics (PutMetricData's MetricDatum, as the SDK takes it),
 * and their batching within the API's limits.
 */

interface Dimension {
  Name: string
  Value: string
}

export interface MetricDatum {
  MetricName: string
  Dimensions: Dimension[]
  Value: number
  Unit: 'None' | 'Count' | 'Bytes' | 'Seconds' | 'Bytes/Second'
  Timestamp: Date
  /** 1: a high-resolution metric (a publication interval below 60 s). */
  StorageResolution?: 1
}

/** PutMetricData: at most 1000 metric data per call, and a request body of at most 1 MB (HTTP POST). */
export const PUT_METRIC_DATA_LIMITS = { maxData: 1000, maxBytes: 1_000_000 } as const

/** Bytes kept free in each request for the envelope (namespace, JSON framing) besides the data. */
const ENVELOPE_BYTES = 1024

/** CloudWatch refuses NaN, infinities, and values beyond +-2^360. */
const LIMIT = 2 ** 360

/** Counter values as last published, per deployment: the next publication sends the increase. */
export type PublishedCounts = Map<string, Map<string, number>>

interface CloudWatchRound {
  data: MetricDatum[]
  /** The counts these data were computed against: commit them once every batch was accepted. */
  counts: PublishedCounts
}

function increase(now: number, before: number | undefined): number {
  // A smaller count than before is a restart of the counting (not a negative number of events).
  return before === undefined || now < before ? now : now - before
}

/** One publication's data for every deployment, at `at`, against the counts last published. */
export function cloudWatchData(
  views: readonly DeploymentView[],
  at: Date,
  published: PublishedCounts,
  highResolution: boolean,
): CloudWatchRound {
  const data: MetricDatum[] = []
  const counts: PublishedCounts = new Map()
  const add = (name: string, unit: MetricDatum['Unit'], value: number | undefined, dims: Dimension[]) => {
    if (value === undefined || !Number.isFinite(value) || Math.abs(value) > LIMIT) return
    data.push({
      MetricName: name,
      Dimensions: dims,
      Value: value,
      Unit: unit,
      Timestamp: at,
      ...(highResolution ? { StorageResolution: 1 as const } : {}),
    })
  }
  for (const view of views) {
    const deployment: Dimension = { Name: 'Deployment', Value: view.name }
    const before = published.get(view.name) ?? new Map<string, number>()
    const now = new Map<string, number>()
    for (const [type, n] of view.events) {
      now.set(`event:${type}`, n)
      const delta = increase(n, before.get(`event:${type}`))
      if (delta > 0) add('Events', 'Count', delta, [deployment, { Name: 'Type', Value: type }])
    }
    const slow = [...view.slowlog.values()].reduce((s, t) => s + t.count, 0)
    now.set('slowlog', slow)
    add('SlowlogEntries', 'Count', increase(slow, before.get('slowlog')), [deployment])
    counts.set(view.name, now)

    const snap = view.snapshot
    const stale = !snap || at.getTime() - snap.at > view.staleAfterMs
    add('NodesUp', 'Count', stale ? 0 : snap.cluster.nodesUp, [deployment])
    if (!snap) continue
    if (snap.deployment.mode === 'cluster')
      add('SlotsCovered', 'Count', snap.deployment.slotsCovered, [deployment])
    add('AlertsActive', 'Count', snap.alerts.length, [deployment])
    for (const n of snap.nodes) {
      const dims = [deployment, { Name: 'Shard', Value: String(n.shard) }, { Name: 'Node', Value: n.address }]
      add('NodeUp', 'None', n.up && !stale ? 1 : 0, dims)
    }
    const addressOf = new Map(snap.nodes.map((n) => [n.id, n.address]))
    for (const shard of snap.replication) {
      const shardDim = { Name: 'Shard', Value: String(shard.shard) }
      add('ReplicationWriteBytesPerSecond', 'Bytes/Second', shard.writeBytesPerSec, [deployment, shardDim])
      for (const r of shard.replicas) {
        const dims = [deployment, shardDim, { Name: 'Node', Value: addressOf.get(r.id) ?? r.address }]
        add('ReplicaLagBytes', 'Bytes', r.lagBytes, dims)
        add('ReplicaLagSeconds', 'Seconds', r.lagSeconds, dims)
        add('ReplicaLinkUp', 'None', r.link === 'up' ? 1 : 0, dims)
        add('ReplicaBacklogHeadroomBytes', 'Bytes', r.backlogHeadroomBytes, dims)
      }
    }
  }
  return { data, counts }
}

/** A datum's share of the request body, as the SDK's JSON protocol writes it (Timestamp as epoch seconds). */
function datumBytes(d: MetricDatum): number {
  return Buffer.byteLength(JSON.stringify({ ...d, Timestamp: d.Timestamp.getTime() / 1000 })) + 1
}

/** Split into PutMetricData calls: each within the count and the body size limits, in order. */
export function batchMetricData(
  data: readonly MetricDatum[],
  limits: { maxData: number; maxBytes: number } = PUT_METRIC_DATA_LIMITS,
): MetricDatum[][] {
  const budget = limits.maxBytes - ENVELOPE_BYTES
  const batches: MetricDatum[][] = []
  let current: MetricDatum[] = []
  let bytes = 0
  for (const d of data) {
    const size = datumBytes(d)
    if (current.length && (current.length >= limits.maxData || bytes + size > budget)) {
      batches.push(current)
      current = []
      bytes = 0
    }
    current.push(d)
    bytes += size
  }
  if (current.length) batches.push(current)
  return batches
}
