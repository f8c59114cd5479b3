import type { Topology, TopologyNode } from '../connect/topology.js'
import type { AlertInput, MonitorEvent } from './alerts.js'
import type { Sample } from './history.js'
import type { NodeInfo } from './node-info.js'
import type { NodeReading } from './node-poller.js'
import { shardReplication, type ShardReplication } from './replication.js'
import type { SlowlogEntry } from './slowlog.js'
import type {
  ClusterStatus,
  CommandLogSnapshot,
  DeploymentSummary,
  ExternalMetrics,
  NodeStatus,
  PollState,
  ShardStatus,
  Snapshot,
} from './types.js'

/** Everything one round's snapshot is made of. */
export interface SnapshotInput {
  at: number
  round: number
  intervalMs: number
  roundMs: number
  topology: Topology
  /** Each node's last sample and poll state, by node id. */
  readings: ReadonlyMap<string, NodeReading>
  /** A primary's replication offsets over time (for the stream's write rate). */
  primaryOffsets: (nodeId: string) => Sample[]
  external?: ExternalMetrics
  /** The round's events so far; the alert events are appended after this build. */
  events: MonitorEvent[]
  slowlog: SlowlogEntry[]
  commandLog?: CommandLogSnapshot
}

interface BuiltSnapshot {
  /** `alerts` is empty: the caller's alert tracker fills it from `alertInput`. */
  snapshot: Snapshot
  alertInput: AlertInput
  /** Each replica's best known offset this round, kept for the next (a dead replica's lag keeps growing). */
  replicaOffsets: Map<string, number>
}

/**
 * A round's snapshot from the nodes' samples and the topology: per-node status, the replication
 * model of each shard, shard and cluster totals and the deployment summary. Pure: history and
 * alert state stay with the caller.
 */
export function buildSnapshot(input: SnapshotInput): BuiltSnapshot {
  const { at, topology: topo, readings, external } = input
  const nodes: NodeStatus[] = topo.nodes.map((n) => nodeStatus(n, readings.get(n.id), external?.nodes[n.id]))
  const statusById = new Map(nodes.map((n) => [n.id, n]))
  const { replication, replicaOffsets } = replicationModels(input, statusById)
  const deployment = deploymentSummary(topo, readings)
  const snapshot: Snapshot = {
    at,
    round: input.round,
    intervalMs: input.intervalMs,
    roundMs: input.roundMs,
    deployment,
    cluster: clusterTotals(nodes, readings),
    shards: shardStatuses(topo, statusById),
    nodes,
    replication,
    alerts: [],
    events: input.events,
    slowlog: input.slowlog,
    ...(input.commandLog ? { commandLog: input.commandLog } : {}),
    ...(external ? { external } : {}),
  }
  return { snapshot, alertInput: alertInputOf(at, deployment, nodes, readings), replicaOffsets }
}

/**
 * The replication model of each shard; each replica's status gets its part of it (offset, lag,
 * link). Also each replica's best known offset, for the next round.
 */
function replicationModels(
  input: SnapshotInput,
  statusById: Map<string, NodeStatus>,
): { replication: ShardReplication[]; replicaOffsets: Map<string, number> } {
  const { at, topology: topo, readings } = input
  const replicaOffsets = new Map<string, number>()
  const replication = topo.shards.map((shard) => {
    const primaryNode = shard.primaryId ? topo.nodes.find((n) => n.id === shard.primaryId) : undefined
    const ps = primaryNode ? readings.get(primaryNode.id) : undefined
    const replicas = topo.nodes.filter((n) => n.role === 'replica' && n.shard === shard.index)
    const model = shardReplication({
      shard: shard.index,
      primary: primaryNode
        ? { id: primaryNode.id, address: primaryNode.address, info: ps?.state === 'ok' ? ps.info : undefined }
        : undefined,
      replicas: replicas.map((r) => {
        const rs = readings.get(r.id)
        return {
          id: r.id,
          host: r.host,
          port: r.port,
          address: r.address,
          info: rs?.state === 'ok' ? rs.info : undefined,
          lastKnownOffset: rs?.lastKnownOffset,
        }
      }),
      primaryOffsets: primaryNode ? input.primaryOffsets(primaryNode.id) : [],
      at,
    })
    for (const r of model.replicas) {
      if (readings.has(r.id) && r.offset !== undefined) replicaOffsets.set(r.id, r.offset)
      const st = statusById.get(r.id)
      if (st) {
        st.replication = {
          ...(shard.primaryId ? { primaryId: shard.primaryId } : {}),
          ...(r.offset !== undefined ? { offset: r.offset } : {}),
          ...(r.lagBytes !== undefined ? { lagBytes: r.lagBytes } : {}),
          ...(r.lagSeconds !== undefined ? { lagSeconds: r.lagSeconds } : {}),
          link: r.link,
          ...(r.syncInProgress !== undefined ? { syncInProgress: r.syncInProgress } : {}),
        }
      }
    }
    return model
  })
  return { replication, replicaOffsets }
}

/** Per shard: its members' ops, its primary's memory and keys, its worst replica lag. */
function shardStatuses(topo: Topology, statusById: Map<string, NodeStatus>): ShardStatus[] {
  return topo.shards.map((shard) => {
    const members = shard.nodeIds.map((id) => statusById.get(id)).filter((x): x is NodeStatus => !!x)
    const primary = shard.primaryId ? statusById.get(shard.primaryId) : undefined
    const lags = members.filter((m) => m.replication)
    return {
      index: shard.index,
      ...(shard.primaryId ? { primaryId: shard.primaryId } : {}),
      slots: shard.slots,
      nodeIds: shard.nodeIds,
      opsPerSec: sumDefined(members.map((m) => m.opsPerSec)),
      memoryUsed: primary?.memory.used,
      maxmemory: primary?.memory.maxmemory,
      keys: primary?.keys,
      maxLagBytes: maxDefined(lags.map((m) => m.replication?.lagBytes)),
      maxLagSeconds: maxDefined(lags.map((m) => m.replication?.lagSeconds)),
      nodesUp: members.filter((m) => m.up).length,
    }
  })
}

/** The deployment's totals: traffic over every node, memory and keys over the primaries (replicas hold copies). */
function clusterTotals(nodes: NodeStatus[], readings: ReadonlyMap<string, NodeReading>): ClusterStatus {
  const primaries = nodes.filter((n) => n.role === 'primary')
  const hits = nodes.map((n) => n.hitRatio).filter((x): x is number => x !== undefined)
  return {
    opsPerSec: sumDefined(nodes.map((n) => n.opsPerSec)),
    ...(hits.length ? { hitRatio: clusterHitRatio(readings) } : {}),
    memoryUsed: sumDefined(primaries.map((n) => n.memory.used)),
    maxmemory: sumDefined(primaries.map((n) => n.memory.maxmemory)),
    keys: sumDefined(primaries.map((n) => n.keys)),
    connectedClients: sumDefined(nodes.map((n) => n.clients.connected)),
    netInputBytesPerSec: sumDefined(nodes.map((n) => n.netInputBytesPerSec)),
    netOutputBytesPerSec: sumDefined(nodes.map((n) => n.netOutputBytesPerSec)),
    evictionsPerSec: sumDefined(nodes.map((n) => n.evictionsPerSec)),
    errorsPerSec: sumDefined(nodes.map((n) => n.errorsPerSec)),
    nodesUp: nodes.filter((n) => n.up).length,
    nodes: nodes.length,
  }
}

/** What the alert rules read of this round. */
function alertInputOf(
  at: number,
  deployment: DeploymentSummary,
  nodes: NodeStatus[],
  readings: ReadonlyMap<string, NodeReading>,
): AlertInput {
  return {
    at,
    mode: deployment.mode,
    slotsCovered: deployment.slotsCovered,
    clusterState: deployment.clusterState,
    nodes: nodes.map((n) => ({
      id: n.id,
      address: n.address,
      shard: n.shard,
      role: n.role,
      up: n.up,
      state: n.state,
      error: n.error,
      memoryUsed: n.memory.used,
      maxmemory: n.memory.maxmemory,
      evictionsPerSec: n.evictionsPerSec,
      fullSyncs: n.role === 'primary' ? readings.get(n.id)?.rates?.fullSyncs : undefined,
      syncInProgress: n.replication?.syncInProgress,
      lagBytes: n.replication?.lagBytes,
      lagSeconds: n.replication?.lagSeconds,
      link: n.replication?.link,
    })),
  }
}

/** What is deployed: mode, engine and version (a primary's INFO first), shape and cluster health. */
function deploymentSummary(topo: Topology, readings: ReadonlyMap<string, NodeReading>): DeploymentSummary {
  const all = [...readings.values()]
  const anyInfo = all.find((s) => s.node.role === 'primary' && s.info)?.info ?? all.find((s) => s.info)?.info
  const clusterState = clusterStateFromNodes(readings) ?? topo.clusterState
  return {
    mode: topo.mode,
    ...(anyInfo
      ? {
          provider: anyInfo.server.provider,
          engine: anyInfo.server.engine,
          version: anyInfo.server.version,
        }
      : {}),
    shards: topo.shards.length,
    nodes: topo.nodes.length,
    ...(topo.mode === 'cluster' ? { slotsCovered: slotsCovered(topo, readings) } : {}),
    ...(clusterState ? { clusterState } : {}),
  }
}

/** Weighted by lookups: hits and misses over the interval, summed over nodes. */
function clusterHitRatio(readings: ReadonlyMap<string, NodeReading>): number | undefined {
  let hits = 0
  let lookups = 0
  for (const s of readings.values()) {
    if (s.state !== 'ok' || !s.info || !s.prevInfo || !s.rates || s.rates.countersReset) continue
    const h = (s.info.stats.keyspaceHits ?? 0) - (s.prevInfo.stats.keyspaceHits ?? 0)
    const m = (s.info.stats.keyspaceMisses ?? 0) - (s.prevInfo.stats.keyspaceMisses ?? 0)
    if (h < 0 || m < 0) continue
    hits += h
    lookups += h + m
  }
  return lookups > 0 ? hits / lookups : undefined
}

/** Slots of primaries that answer and that the cluster does not consider failed. */
function slotsCovered(topo: Topology, readings: ReadonlyMap<string, NodeReading>): number {
  let n = 0
  for (const node of topo.nodes) {
    if (node.role !== 'primary' || node.health === 'failed') continue
    const s = readings.get(node.id)
    if (s && s.state !== 'ok' && s.state !== 'timeout' && s.lastSeenAt !== undefined) continue
    n += node.slots.reduce((c, [a, b]) => c + b - a + 1, 0)
  }
  return n
}

function clusterStateFromNodes(readings: ReadonlyMap<string, NodeReading>): string | undefined {
  const states = [...readings.values()]
    .filter((s) => s.state === 'ok' && s.clusterInfo)
    .map((s) => s.clusterInfo!.state)
  if (!states.length) return undefined
  return states.includes('fail') ? 'fail' : states[0]
}

/** A node's place in the topology as its status carries it, with whether it is up and how its poll went. */
export function nodePlace(
  n: TopologyNode,
  up: boolean,
  state: PollState,
): Pick<
  NodeStatus,
  'id' | 'host' | 'port' | 'address' | 'role' | 'shard' | 'slots' | 'up' | 'health' | 'state'
> {
  return {
    id: n.id,
    host: n.host,
    port: n.port,
    address: n.address,
    role: n.role,
    shard: n.shard,
    slots: n.slots,
    up,
    health: n.health,
    state,
  }
}

/** One node's status: its topology entry, its last INFO, and rates only when this round's sample is fresh. */
function nodeStatus(
  n: TopologyNode,
  s: NodeReading | undefined,
  external: Record<string, number> | undefined,
): NodeStatus {
  const fresh = s?.state === 'ok'
  const info = s?.info
  const rates = fresh ? s?.rates : undefined
  const mem = info?.memory
  const keys = info ? Object.values(info.keyspace).reduce((c, d) => c + d.keys, 0) : undefined
  const expires = info ? Object.values(info.keyspace).reduce((c, d) => c + d.expires, 0) : undefined
  return {
    ...nodePlace(n, fresh, s?.state ?? 'connecting'),
    ...(s?.error && !fresh ? { error: s.error } : {}),
    ...(s?.lastSeenAt ? { lastSeenAt: s.lastSeenAt } : {}),
    ...(n.primaryId ? { primaryId: n.primaryId } : {}),
    ...(info
      ? {
          engine: info.server.engine,
          version: info.server.version,
          uptimeSeconds: info.server.uptimeSeconds,
          ...(info.server.availabilityZone ? { availabilityZone: info.server.availabilityZone } : {}),
          ...(info.server.ioThreadsActive !== undefined
            ? { ioThreads: { active: info.server.ioThreadsActive, ...rates?.ioThreads } }
            : {}),
        }
      : {}),
    ...rateFields(rates),
    memory: memoryStatus(mem),
    clients: {
      ...(info?.clients.connected !== undefined ? { connected: info.clients.connected } : {}),
      ...(info?.clients.blocked !== undefined ? { blocked: info.clients.blocked } : {}),
    },
    ...(keys !== undefined ? { keys } : {}),
    ...(expires !== undefined ? { expires } : {}),
    ...(n.role === 'primary' && info?.replication.masterReplOffset !== undefined
      ? { replicationOffset: info.replication.masterReplOffset }
      : {}),
    ...(info?.persistence.loading ? { loading: true } : {}),
    ...(rates?.countersReset ? { countersReset: true } : {}),
    ...(fresh && s?.latency?.length ? { latencyEvents: s.latency } : {}),
    ...(external ? { external } : {}),
    ...(s?.pollMs !== undefined ? { pollMs: s.pollMs } : {}),
  }
}

/** The figures rated over the round (none when this round's sample is stale), the top commands among them. */
function rateFields(
  rates: NodeReading['rates'] | undefined,
): Partial<NodeStatus> & Pick<NodeStatus, 'topCommands'> {
  return {
    ...(rates?.opsPerSec !== undefined ? { opsPerSec: rates.opsPerSec } : {}),
    ...(rates?.latencyUs !== undefined ? { latencyUs: rates.latencyUs } : {}),
    ...(rates?.p50Us !== undefined ? { p50Us: rates.p50Us } : {}),
    ...(rates?.p99Us !== undefined ? { p99Us: rates.p99Us } : {}),
    topCommands: rates?.commands.slice(0, 5) ?? [],
    ...(rates?.hitRatio !== undefined ? { hitRatio: rates.hitRatio } : {}),
    ...(rates?.cpuPercent !== undefined ? { cpuPercent: rates.cpuPercent } : {}),
    ...(rates?.netInputBytesPerSec !== undefined ? { netInputBytesPerSec: rates.netInputBytesPerSec } : {}),
    ...(rates?.netOutputBytesPerSec !== undefined
      ? { netOutputBytesPerSec: rates.netOutputBytesPerSec }
      : {}),
    ...(rates?.evictionsPerSec !== undefined ? { evictionsPerSec: rates.evictionsPerSec } : {}),
    ...(rates?.expiredPerSec !== undefined ? { expiredPerSec: rates.expiredPerSec } : {}),
    ...(rates?.errorsPerSec !== undefined ? { errorsPerSec: rates.errorsPerSec } : {}),
    ...(rates?.connectionsPerSec !== undefined ? { connectionsPerSec: rates.connectionsPerSec } : {}),
  }
}

function memoryStatus(mem: NodeInfo['memory'] | undefined): NodeStatus['memory'] {
  return {
    ...(mem?.used !== undefined ? { used: mem.used } : {}),
    ...(mem?.maxmemory !== undefined ? { maxmemory: mem.maxmemory } : {}),
    ...(mem?.rss !== undefined ? { rss: mem.rss } : {}),
    ...(mem?.peak !== undefined ? { peak: mem.peak } : {}),
    ...(mem?.fragmentationRatio !== undefined ? { fragmentationRatio: mem.fragmentationRatio } : {}),
    ...(mem?.used !== undefined && mem.maxmemory ? { usedFraction: mem.used / mem.maxmemory } : {}),
    ...(mem?.maxmemoryPolicy ? { policy: mem.maxmemoryPolicy } : {}),
  }
}

function sumDefined(values: (number | undefined)[]): number | undefined {
  const xs = values.filter((v): v is number => v !== undefined)
  return xs.length ? xs.reduce((a, b) => a + b, 0) : undefined
}

function maxDefined(values: (number | undefined)[]): number | undefined {
  const xs = values.filter((v): v is number => v !== undefined)
  return xs.length ? Math.max(...xs) : undefined
}
