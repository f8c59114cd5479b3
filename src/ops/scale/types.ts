/** The shapes `kvtop scale` passes around: the request, the plan, the options of a run and its report. */
import type { NodeAddress } from '../../connect/client.js'
import type { SlotRange } from '../../connect/cluster-parsers.js'
import type { SandboxState } from '../../sandbox/state.js'
import type { EventSink } from '../events.js'
import type { ClusterAdmin, NodeRef } from './admin.js'
import type { BigKey, MoveTuning } from './migrate.js'
import type { NodeSource, RemovedNode } from './nodes.js'

export interface ScaleRequest {
  shards?: number
  replicas?: number
  rebalance?: boolean
  /** `NODE=WEIGHT` (NODE: id, id prefix or host:port of a primary). */
  weights?: string[]
  /** `HOST:PORT` of empty cluster-enabled nodes to add. */
  addNodes?: string[]
  /** Primaries (id, prefix or host:port) whose shards to remove. */
  remove?: string[]
  /** Balance tolerance in percent of a shard's ideal slot count. */
  thresholdPercent: number
}

export interface ScaleContext {
  admin: ClusterAdmin
  /** host:port the command was pointed at. */
  endpoint: string
  seed: NodeAddress
  /** The kvtop sandbox the cluster belongs to, if any: it starts and stops nodes. */
  sandbox?: SandboxState
  env: NodeJS.ProcessEnv
}

export interface PlanShard {
  /** Primary node id, or `new-N` for a shard whose nodes do not exist yet. */
  shard: string
  address?: string
  status: 'kept' | 'new' | 'removed'
  slotsBefore: number
  slotsAfter: number
  keys: number
  replicasBefore: number
  replicasAfter: number
  weight: number
}

export interface PlannedMove {
  from: string
  fromAddress: string
  to: string
  toAddress?: string
  slots: number
  ranges: SlotRange[]
  keys: number
}

export interface PlannedRemoval {
  id: string
  address: string
  role: 'primary' | 'replica'
  /** The primary of the shard the node belongs to. */
  shard: string
  action: 'stop' | 'reset'
}

export interface ScalePlan {
  endpoint: string
  kind: 'scale-out' | 'scale-in' | 'rebalance' | 'replicas' | 'none'
  shardsBefore: number
  shardsAfter: number
  replicasAfter?: number
  shards: PlanShard[]
  moves: PlannedMove[]
  newNodes: {
    count: number
    primaries: number
    replicas: number
    source: NodeSource['kind']
    sandbox?: string
    addresses: string[]
  }
  removals: PlannedRemoval[]
  removalReason?: string
  totals: { slots: number; keys: number; moves: number }
  balance: Balance
  noop: boolean
  notes: string[]
}

export interface Balance {
  /** Smallest and largest slot count per shard (after the plan / after the run). */
  min: number
  max: number
  maxDeviationPercent: number
  thresholdPercent: number
  balanced: boolean
}

export interface PlanInternals {
  source: NodeSource
  newShards: { placeholder: string; replicas: number }[]
  replicaAdds: { primaryId: string; count: number }[]
  removeShards: NodeRef[]
  replicaRemovals: NodeRef[]
  /** Nodes of each shard being removed, by primary id. */
  shardNodes: Map<string, NodeRef[]>
}

export interface PreparedScale {
  plan: ScalePlan
  internals: PlanInternals
}

/** How long new nodes get to join, replicate and be forgotten; also how long the final view waits to settle. */
export const JOIN_TIMEOUT_MS = 60_000

export interface ExecuteOptions {
  tuning: MoveTuning
  /** Source shards migrating at the same time. */
  parallel: number
  /** Slots opened (IMPORTING/MIGRATING) and closed (NODE) together. */
  slotGroup: number
  onEvent?: EventSink
  /** Stop after the slot groups in flight (no slot left open). */
  signal?: AbortSignal
  /** Stop between key batches (slots may be left open; `scale --fix` settles them). */
  hardStop?: AbortSignal
  /** How long to wait for new replicas' initial sync. */
  syncTimeoutMs?: number
}

interface ReportShard {
  index: number
  id: string
  address: string
  /** Slot ranges [[from, to]], as discover and status show them. */
  slots: SlotRange[]
  slotCount: number
  keys: number
  replicas: number
}

export interface ScaleReport {
  endpoint: string
  kind: ScalePlan['kind']
  complete: boolean
  interrupted: boolean
  seconds: number
  slotsMoved: number
  keysMoved: number
  migrateSeconds: number
  keysPerSecond: number
  added: { id: string; address: string; role: 'primary' | 'replica'; primaryId?: string }[]
  removed: RemovedNode[]
  openSlots: number[]
  bigKeys: BigKey[]
  /** Slots where the target held stale copies of keys still on the source (replaced by the source's). */
  replacedSlots: number
  shards: ReportShard[]
  balance: Balance
  warnings: string[]
}

/** One execution of a plan: what every phase reads, and the report they fill in. */
export interface ScaleRun {
  ctx: ScaleContext
  plan: ScalePlan
  internals: PlanInternals
  options: ExecuteOptions
  emit: EventSink
  /** Records a warning in the report and emits it. */
  warn(message: string): void
  report: ScaleReport
}
