import type { Severity } from '../../metrics/alerts.js'
import type { KeySample, KeyScan } from '../../data/keyspace/sampler.js'
import type { DataPlaneStatus, Snapshot } from '../../metrics/types.js'
import type { CommandLogGroup, SlowlogGroup } from '../../metrics/log-groups.js'

// One severity scale for the monitor's alerts and triage's findings.
export type { Severity }

/** A finding (README: Triage): what was seen, why it matters, what to do. */
export interface Finding {
  severity: Severity
  category: 'topology' | 'replication' | 'resources' | 'workload' | 'clients' | 'keys' | 'cloudwatch'
  /** The node's address (host:port), or absent for the whole deployment. */
  node?: string
  summary: string
  why: string
  action: string
  /** The figures behind it. */
  evidence?: Record<string, unknown>
}

/** One node's extra facts, beyond the monitor's snapshot. */
export interface NodeExtras {
  address: string
  error?: string
  rejectedConnections?: number
  maxclients?: number
  /** Each node's own view of the slot map: a canonical string of `slots=owner` (cluster only). */
  slotMapView?: string
  clients?: ClientInfo[]
  /** LFU policy on the node: hot keys can be measured with OBJECT FREQ. */
  lfu?: boolean
  /**
   * Slots this node marks importing / migrating. A node shows its markers only in its own
   * (`myself`) line of CLUSTER NODES, so every node's view is read for them.
   */
  slotMarkers?: SlotMarker[]
}

/** One IMPORTING / MIGRATING marker on a node: the peer by node id, and where that node sees the peer. */
export interface SlotMarker {
  slot: number
  kind: 'importing' | 'migrating'
  peer: string
  peerAddress?: string
}

/**
 * A slot left open by an interrupted move, both sides joined: `from` owns the slot and should be
 * MIGRATING it, `to` should be IMPORTING it. Nodes are host:port (a node id when no node knows it).
 */
export interface OpenSlot {
  slot: number
  from: string
  to: string
  /** The source carries its MIGRATING marker. */
  migrating: boolean
  /** The target carries its IMPORTING marker. */
  importing: boolean
}

export interface ClientInfo {
  addr: string
  name: string
  cmd: string
  flags: string
  /** Output buffer memory, bytes. */
  omem: number
  /** Query buffer, bytes. */
  qbuf: number
  ageSeconds: number
  idleSeconds: number
}

export type { KeySample, KeyScan }

export interface TriageInput {
  snapshot: Snapshot
  /** Topology facts the snapshot leaves out: slots left open, from every primary's own view. */
  openSlots: OpenSlot[]
  extras: NodeExtras[]
  /** The slowlog grouped by pattern; `nodes` are addresses (host:port) here, not node ids. */
  slowlogGroups: SlowlogGroup[]
  /**
   * Valkey 8.1+ (only where a node has COMMANDLOG): its large-request and large-reply logs grouped
   * by pattern; `nodes` are addresses here too.
   */
  commandLogGroups?: { largeRequests: CommandLogGroup[]; largeReplies: CommandLogGroup[] }
  keys: KeyScan
  cloudwatch?: CloudWatchSummary
  durationSeconds: number
}

/** One CloudWatch metric of one node: a value per period from `start` (epoch ms), null where none. */
export interface CloudWatchSeries {
  start: number
  periodSeconds: number
  values: (number | null)[]
}

export interface CloudWatchSummary {
  hours: number
  /** Per AWS node id: the worst figure over the window, by kvtop metric name. */
  nodes: Record<string, Record<string, number>>
  /** Per AWS node id and metric: the worst figure and the start of its period (epoch ms). */
  peaks?: Record<string, Record<string, { value: number; at: number }>>
  /** Per AWS node id and metric: the whole series, for the report's pictures. */
  series?: Record<string, Record<string, CloudWatchSeries>>
  /** AWS node id -> its endpoint (host:port), where AWS reports one. */
  addresses?: Record<string, string>
  error?: string
}

/** A command pattern of COMMANDLOG's large-request or large-reply log, in the report. */
export interface LargeCommandSummary {
  pattern: string
  count: number
  maxBytes: number
  nodes: string[]
  example: string
}

export interface TriageReport {
  at: number
  durationSeconds: number
  deployment: Snapshot['deployment']
  counts: Record<Severity, number>
  findings: Finding[]
  workload: {
    opsPerSec?: number
    topByCalls: { command: string; opsPerSec: number }[]
    topByTime: { command: string; usecPerSec: number; usecPerCall?: number; p99Us?: number }[]
    slowlog: { pattern: string; count: number; maxUs: number; nodes: string[]; example: string }[]
    /** Valkey 8.1+: COMMANDLOG's large requests and replies by pattern (only where a node has it). */
    commandLog?: {
      largeRequests: LargeCommandSummary[]
      largeReplies: LargeCommandSummary[]
    }
  }
  clients: {
    topAddresses: { host: string; connections: number }[]
    topNames: { name: string; connections: number }[]
  }
  keys: KeyScan
  nodes: {
    address: string
    role: string
    shard: number
    up: boolean
    opsPerSec?: number
    memoryUsed?: number
  }[]
  cloudwatch?: CloudWatchSummary
  /**
   * Only when the nodes could not be reached from here (a deployment named through AWS): the
   * findings are CloudWatch's alone, and nothing was measured on the nodes.
   */
  dataPlane?: DataPlaneStatus
}
