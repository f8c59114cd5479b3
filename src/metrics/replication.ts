import type { InfoReplica } from '../redis/info.js'
import type { NodeInfo } from './node-info.js'
import type { Sample } from './history.js'

/**
 * The replication model of one shard: the primary's offset, each replica's offset, the lag in bytes
 * and seconds, the link state and how much backlog is left before a disconnect forces a full resync.
 */

export interface ReplicaStatus {
  id: string
  address: string
  /** The replica answered this round. */
  up: boolean
  /** Best known replica offset: its own report when it answered, else the primary's view (last ACK). */
  offset?: number
  /** The offset the primary last saw acknowledged. */
  ackOffset?: number
  lagBytes?: number
  lagSeconds?: number
  link: 'up' | 'down'
  /** The primary's view: online, wait_bgsave, send_bulk... (absent when the primary does not list it). */
  state?: string
  /** Seconds since the primary last heard an ACK from it. */
  ackAgeSeconds?: number
  syncInProgress?: boolean
  linkDownSinceSeconds?: number
  /** Bytes the primary can still write before this replica's position leaves the backlog (negative: it already has). */
  backlogHeadroomBytes?: number
  backlogHeadroomSeconds?: number
  /** A reconnect now (or soon) would need a full resync. */
  fullResyncRisk: boolean
}

export interface ShardReplication {
  shard: number
  primaryId?: string
  primaryAddress?: string
  primaryUp: boolean
  primaryOffset?: number
  /** Replication stream growth (bytes/s), from the primary's offset history. */
  writeBytesPerSec?: number
  backlog?: { active: boolean; size: number; firstByteOffset?: number; histlen?: number }
  /** Cumulative on the primary: full and partial resyncs it served. */
  fullSyncs?: number
  partialSyncsOk?: number
  partialSyncsErr?: number
  replicas: ReplicaStatus[]
}

interface ReplicaInput {
  id: string
  host: string
  port: number
  address: string
  /** This round's INFO, if the replica answered. */
  info?: NodeInfo
  /** Last offset known for it (kept across rounds, so a dead replica's lag keeps growing). */
  lastKnownOffset?: number
}

interface ShardInput {
  shard: number
  primary?: { id: string; address: string; info?: NodeInfo }
  replicas: ReplicaInput[]
  /** The primary's master_repl_offset over time (oldest first). */
  primaryOffsets: Sample[]
  at: number
}

/** Find the primary's `slaveN` line for a replica: by address, else by a port that only one line has. */
export function matchReplicaLine(lines: InfoReplica[], host: string, port: number): InfoReplica | undefined {
  const exact = lines.find((l) => l.port === port && l.ip === host)
  if (exact) return exact
  const byPort = lines.filter((l) => l.port === port)
  return byPort.length === 1 ? byPort[0] : undefined
}

/**
 * Seconds the replica is behind: how long ago the primary passed the replica's offset, found in the
 * primary's offset history (interpolated between the two samples around it). When the history does not
 * reach back that far, the age of its oldest sample (a lower bound); undefined without history.
 */
export function lagSecondsFromHistory(
  history: Sample[],
  replicaOffset: number,
  now: number,
): number | undefined {
  if (!history.length) return undefined
  for (let i = 0; i < history.length; i++) {
    const s = history[i]
    if (s.value <= replicaOffset) continue
    if (i === 0) return Math.max(0, (now - s.at) / 1000)
    const p = history[i - 1]
    const crossed = p.at + ((replicaOffset - p.value) / (s.value - p.value)) * (s.at - p.at)
    return Math.max(0, (now - crossed) / 1000)
  }
  return 0
}

export function writeRate(history: Sample[]): number | undefined {
  if (history.length < 2) return undefined
  const a = history[history.length - 2]
  const b = history[history.length - 1]
  const dt = (b.at - a.at) / 1000
  if (!(dt > 0) || b.value < a.value) return undefined
  return (b.value - a.value) / dt
}

export function shardReplication(input: ShardInput): ShardReplication {
  const p = input.primary?.info?.replication
  const primaryOffset = p?.masterReplOffset
  const writeBytesPerSec = writeRate(input.primaryOffsets)
  const backlogSize = p?.backlogSize
  const replicas = input.replicas.map((r) => replicaStatus(r, input, primaryOffset, writeBytesPerSec))
  const stats = input.primary?.info?.stats
  return {
    shard: input.shard,
    ...(input.primary ? { primaryId: input.primary.id, primaryAddress: input.primary.address } : {}),
    primaryUp: input.primary?.info !== undefined,
    ...(primaryOffset !== undefined ? { primaryOffset } : {}),
    ...(writeBytesPerSec !== undefined ? { writeBytesPerSec } : {}),
    ...(p && backlogSize !== undefined
      ? {
          backlog: {
            active: p.backlogActive !== false,
            size: backlogSize,
            ...(p.backlogFirstByteOffset !== undefined ? { firstByteOffset: p.backlogFirstByteOffset } : {}),
            ...(p.backlogHistlen !== undefined ? { histlen: p.backlogHistlen } : {}),
          },
        }
      : {}),
    ...(stats?.syncFull !== undefined ? { fullSyncs: stats.syncFull } : {}),
    ...(stats?.syncPartialOk !== undefined ? { partialSyncsOk: stats.syncPartialOk } : {}),
    ...(stats?.syncPartialErr !== undefined ? { partialSyncsErr: stats.syncPartialErr } : {}),
    replicas,
  }
}

/** The primary's replication section, as the replica's figures are measured against it. */
type PrimaryReplication = NonNullable<NodeInfo['replication']>

/**
 * One replica: its offset (the highest of what it says and what its primary saw acknowledged,
 * never past the primary), lag in bytes and seconds, link, and how much backlog it has left.
 */
function replicaStatus(
  r: ReplicaInput,
  input: ShardInput,
  primaryOffset: number | undefined,
  writeBytesPerSec: number | undefined,
): ReplicaStatus {
  const p = input.primary?.info?.replication
  const line = p ? matchReplicaLine(p.replicas, r.host, r.port) : undefined
  const own = r.info?.replication
  const offset = replicaOffset(r, line, primaryOffset)
  const lagBytes =
    offset !== undefined && primaryOffset !== undefined ? Math.max(0, primaryOffset - offset) : undefined
  let lagSeconds: number | undefined
  if (lagBytes === 0) lagSeconds = 0
  else if (offset !== undefined) lagSeconds = lagSecondsFromHistory(input.primaryOffsets, offset, input.at)
  const link: 'up' | 'down' = own?.masterLinkStatus
    ? own.masterLinkStatus
    : line && line.state === 'online'
      ? 'up'
      : 'down'
  const headroom = backlogHeadroom(p, offset, lagBytes)
  const headroomSeconds =
    headroom !== undefined && headroom > 0 && writeBytesPerSec ? headroom / writeBytesPerSec : undefined
  return {
    id: r.id,
    address: r.address,
    up: r.info !== undefined,
    ...(offset !== undefined ? { offset } : {}),
    ...(line ? { ackOffset: line.offset, state: line.state, ackAgeSeconds: line.lag } : {}),
    ...(lagBytes !== undefined ? { lagBytes } : {}),
    ...(lagSeconds !== undefined ? { lagSeconds } : {}),
    link,
    ...(own?.masterSyncInProgress !== undefined ? { syncInProgress: own.masterSyncInProgress } : {}),
    ...(own?.masterLinkDownSinceSeconds !== undefined
      ? { linkDownSinceSeconds: own.masterLinkDownSinceSeconds }
      : {}),
    ...(headroom !== undefined ? { backlogHeadroomBytes: headroom } : {}),
    ...(headroomSeconds !== undefined ? { backlogHeadroomSeconds: headroomSeconds } : {}),
    fullResyncRisk:
      (headroom !== undefined && headroom <= 0) ||
      p?.backlogActive === false ||
      own?.masterSyncInProgress === true,
  }
}

/** The replica's offset: its own, its primary's ack, or (neither known) the last one seen; at most the primary's. */
function replicaOffset(
  r: ReplicaInput,
  line: InfoReplica | undefined,
  primaryOffset: number | undefined,
): number | undefined {
  const own = r.info?.replication
  const ownOffset = own && own.role === 'replica' ? (own.slaveReplOffset ?? own.masterReplOffset) : undefined
  const candidates = [
    ownOffset,
    line?.offset,
    ownOffset === undefined && !line ? r.lastKnownOffset : undefined,
  ].filter((x): x is number => x !== undefined)
  let offset = candidates.length ? Math.max(...candidates) : undefined
  if (offset !== undefined && primaryOffset !== undefined) offset = Math.min(offset, primaryOffset)
  return offset
}

/** Bytes the replica can still fall behind before a partial resync is impossible (negative: it already is). */
function backlogHeadroom(
  p: PrimaryReplication | undefined,
  offset: number | undefined,
  lagBytes: number | undefined,
): number | undefined {
  if (p?.backlogSize === undefined || lagBytes === undefined || p.backlogActive === false) return undefined
  let headroom = p.backlogSize - lagBytes
  const first = p.backlogFirstByteOffset
  if (first !== undefined && offset !== undefined && offset + 1 < first) headroom = offset + 1 - first
  return headroom
}
