import type { SlotRange } from '../connect/cluster-parsers.js'
import type { Engine, Provider } from '../connect/capabilities.js'
import type { DeploymentMode, NodeHealth } from '../connect/topology.js'
import type { Alert, MonitorEvent } from './alerts.js'
import type { LatencyEvent } from './latency.js'
import type { CommandRate, IoThreadRates } from './rates.js'
import type { ShardReplication } from './replication.js'
import type { CommandLogEntry, SlowlogEntry } from './slowlog.js'

/** How the last poll of a node went; `unreachable`: not polled, the data plane cannot be reached from here. */
export type PollState = 'ok' | 'timeout' | 'down' | 'connecting' | 'unreachable'

/**
 * Whether kvtop reached the deployment's nodes. Present (reachable: false) only when a deployment
 * named through AWS could not be reached from where kvtop runs and the figures are CloudWatch's.
 */
export interface DataPlaneStatus {
  reachable: boolean
  /** Why not, as the connection error said it (e.g. "no answer from 10.0.1.5:6379 within 5s"). */
  reason?: string
  /** The connection error's code: timeout, refused, dns, unreachable. */
  code?: string
}

/** One node in `status` JSON: the node shape of `discover` plus its live figures. */
export interface NodeStatus {
  id: string
  host: string
  port: number
  address: string
  role: 'primary' | 'replica'
  shard: number
  slots: SlotRange[]
  /** Answering kvtop's polls (and not marked failed by the cluster). */
  up: boolean
  /** The cluster's (or the primary's) view of the node. */
  health: NodeHealth
  state: PollState
  error?: string
  /** Epoch ms of the last successful poll. */
  lastSeenAt?: number
  primaryId?: string
  engine?: Engine
  version?: string
  uptimeSeconds?: number
  /** Valkey 8+: the node's availability zone (INFO server `availability_zone`), when set. */
  availabilityZone?: string
  /**
   * I/O threads (INFO `io_threads_active` and the io_threaded_* counters): whether they are in use
   * now, and their work per second over the interval (Valkey 8 adds objects freed, polls and key
   * prefetching to Redis's reads and writes).
   */
  ioThreads?: { active: boolean } & IoThreadRates
  opsPerSec?: number
  /** Mean usec per call over the interval. */
  latencyUs?: number
  p50Us?: number
  p99Us?: number
  topCommands: CommandRate[]
  /** 0..1 */
  hitRatio?: number
  cpuPercent?: number
  netInputBytesPerSec?: number
  netOutputBytesPerSec?: number
  evictionsPerSec?: number
  expiredPerSec?: number
  errorsPerSec?: number
  connectionsPerSec?: number
  memory: {
    used?: number
    maxmemory?: number
    rss?: number
    peak?: number
    fragmentationRatio?: number
    /** used / maxmemory, 0..1; absent without a maxmemory. */
    usedFraction?: number
    policy?: string
  }
  clients: { connected?: number; blocked?: number }
  keys?: number
  expires?: number
  /** Primaries: master_repl_offset. */
  replicationOffset?: number
  /** Replicas: `{lagBytes, lagSeconds, link}` and more. */
  replication?: {
    primaryId?: string
    offset?: number
    lagBytes?: number
    lagSeconds?: number
    link: 'up' | 'down'
    syncInProgress?: boolean
  }
  loading?: boolean
  countersReset?: boolean
  /** LATENCY LATEST (needs latency-monitor-threshold > 0 on the server). */
  latencyEvents?: LatencyEvent[]
  /** Figures from an external source (CloudWatch), by metric name. */
  external?: Record<string, number>
  /** Round-trip of this node's poll in ms. */
  pollMs?: number
}

export interface ShardStatus {
  index: number
  primaryId?: string
  slots: SlotRange[]
  nodeIds: string[]
  opsPerSec?: number
  memoryUsed?: number
  maxmemory?: number
  keys?: number
  /** Worst replica lag in the shard. */
  maxLagBytes?: number
  maxLagSeconds?: number
  nodesUp: number
}

export interface ClusterStatus {
  opsPerSec?: number
  hitRatio?: number
  memoryUsed?: number
  maxmemory?: number
  keys?: number
  connectedClients?: number
  netInputBytesPerSec?: number
  netOutputBytesPerSec?: number
  evictionsPerSec?: number
  errorsPerSec?: number
  nodesUp: number
  nodes: number
}

export interface DeploymentSummary {
  mode: DeploymentMode
  provider?: Provider
  engine?: Engine
  version?: string
  shards: number
  nodes: number
  slotsCovered?: number
  clusterState?: string
}

export interface ExternalMetrics {
  source: string
  /** Epoch ms of the last successful poll of the source. */
  at?: number
  /** nodeId -> metric name -> value. */
  nodes: Record<string, Record<string, number>>
  error?: string
}

/** One poll round: what `status --json` prints and what the dashboard draws. */
export interface Snapshot {
  at: number
  round: number
  intervalMs: number
  /** Wall time of this round (all nodes answered or timed out). */
  roundMs: number
  deployment: DeploymentSummary
  cluster: ClusterStatus
  shards: ShardStatus[]
  nodes: NodeStatus[]
  replication: ShardReplication[]
  alerts: Alert[]
  /** Events raised in this round. */
  events: MonitorEvent[]
  /** Slowlog entries first seen in this round, newest first. */
  slowlog: SlowlogEntry[]
  /**
   * Valkey 8.1+: the COMMANDLOG large-request and large-reply entries first seen in this round,
   * merged across nodes and newest first, as slowlog. Only where a node has COMMANDLOG.
   */
  commandLog?: CommandLogSnapshot
  external?: ExternalMetrics
  /** Only when the nodes could not be reached: the figures are CloudWatch's alone. */
  dataPlane?: DataPlaneStatus
}

/** COMMANDLOG's size logs, merged across nodes (Valkey 8.1+). */
export interface CommandLogSnapshot {
  /** Requests of at least commandlog-request-larger-than bytes. */
  largeRequests: CommandLogEntry[]
  /** Replies of at least commandlog-reply-larger-than bytes. */
  largeReplies: CommandLogEntry[]
}
