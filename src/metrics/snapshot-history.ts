import type { Topology } from '../connect/topology.js'
import type { SeriesStore } from './history.js'
import type { NodeReading } from './node-poller.js'
import type { Snapshot } from './types.js'

/** The series a primary's replication offsets are kept in (the stream's write rate is read from it). */
export function offsetSeries(nodeId: string): string {
  return `${nodeId}:offset`
}

/** Each answering primary's replication offset, once per sample, before the replication model reads them. */
export function recordPrimaryOffsets(
  history: SeriesStore,
  topology: Topology,
  readings: ReadonlyMap<string, NodeReading>,
): void {
  for (const shard of topology.shards) {
    const primary = shard.primaryId ? topology.nodes.find((n) => n.id === shard.primaryId) : undefined
    const ps = primary ? readings.get(primary.id) : undefined
    const offset = ps?.state === 'ok' ? ps.info?.replication.masterReplOffset : undefined
    if (!primary || offset === undefined || ps?.infoAt === undefined) continue
    const last = history.last(offsetSeries(primary.id))
    if (!last || last.at !== ps.infoAt) history.add(offsetSeries(primary.id), ps.infoAt, offset)
  }
}

/** The chart series of a round: per answering node, and the cluster's totals. */
export function recordCharts(history: SeriesStore, snapshot: Snapshot): void {
  const { at, nodes } = snapshot
  for (const n of nodes) {
    if (n.state !== 'ok') continue
    history.add(`${n.id}:ops`, at, n.opsPerSec)
    history.add(`${n.id}:latency`, at, n.latencyUs)
    history.add(`${n.id}:p99`, at, n.p99Us)
    history.add(`${n.id}:memory`, at, n.memory.used)
    history.add(`${n.id}:cpu`, at, n.cpuPercent)
    if (n.replication) history.add(`${n.id}:lag`, at, n.replication.lagBytes)
  }
  history.add('cluster:ops', at, snapshot.cluster.opsPerSec)
  const latencies = nodes.filter((n) => n.latencyUs !== undefined && n.opsPerSec)
  const weighted = latencies.reduce((s, n) => s + n.latencyUs! * n.opsPerSec!, 0)
  const weight = latencies.reduce((s, n) => s + n.opsPerSec!, 0)
  history.add('cluster:latency', at, weight > 0 ? weighted / weight : undefined)
  // A cluster has no p99 of its own: the worst node's is what a client can meet.
  const p99s = nodes.flatMap((n) => (n.state === 'ok' && n.p99Us !== undefined ? [n.p99Us] : []))
  history.add('cluster:p99', at, p99s.length ? Math.max(...p99s) : undefined)
}
