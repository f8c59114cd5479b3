import { setTimeout as sleep } from 'node:timers/promises'
import { Deployment } from '../connect/deployment.js'
import type { ConnectionInput } from '../connect/options.js'
import type { MonitorEvent } from './alerts.js'
import { ioredisFactory, type ConnectionFactory } from './connection.js'
import { MonitorEngine, type MonitorOptions } from './engine.js'
import type { ShardReplication } from './replication.js'
import { groupCommandLog, groupSlowlog, type CommandLogGroup, type SlowlogGroup } from './log-groups.js'
import { type LargeLogKind } from './log-reply.js'
import { type CommandLogEntry, type SlowlogEntry } from './slowlog.js'
import type { Snapshot } from './types.js'
import type { ConnectError } from '../errors.js'
import { noNodeAnswered, unreadNodes } from './unanswered.js'

/** The services behind `status`, `slowlog`, `replication` and `top`: connect, poll, hand back data. */

/**
 * Discover the deployment from any one node, then watch every node with its own connection.
 * `wrapConnections` sees every node connection the engine opens (export reads the raw INFO counters
 * the engine's snapshot turns into rates).
 */
export async function openMonitor(
  input: ConnectionInput,
  options: MonitorOptions,
  wrapConnections?: (factory: ConnectionFactory) => ConnectionFactory,
): Promise<MonitorEngine> {
  const deployment = await Deployment.connect(input)
  try {
    const spec = { ...deployment.spec, clientName: deployment.spec.clientName ?? 'kvtop-monitor' }
    const connect = wrapConnections?.(options.connect ?? ioredisFactory(spec))
    return new MonitorEngine(spec, deployment.topology, connect ? { ...options, connect } : options)
  } finally {
    await deployment.close()
  }
}

interface StatusResult {
  snapshot: Snapshot
  /** Events of both sampling rounds. */
  events: MonitorEvent[]
  /**
   * No node answered the last round: the status is still worth showing (every node down, and
   * why), but a one-shot command that read nothing fails with this (exit 3).
   */
  failure?: ConnectError
}

/** One status: two rounds one interval apart, so rates cover a real interval. */
export async function sampleStatus(engine: MonitorEngine): Promise<StatusResult> {
  // An external source (CloudWatch) is read alongside, so its figures are in the result.
  const external = engine.refreshExternal()
  await engine.connectAll(engine.connectTimeoutMs)
  const first = await engine.poll()
  await sleep(Math.max(0, first.at + engine.options.intervalMs - Date.now()))
  await external
  const second = await engine.poll()
  const failure = noNodeAnswered(second, engine.spec)
  return { snapshot: second, events: [...first.events, ...second.events], ...(failure ? { failure } : {}) }
}

/**
 * `status --json`: the snapshot with the events of the sampling window and the newest slowlog
 * entries (and, where a node has COMMANDLOG, the newest large requests and replies).
 */
export function statusJson(result: StatusResult, engine: MonitorEngine, slowlogLimit = 20): Snapshot {
  return {
    ...result.snapshot,
    slowlog: engine.slowlog.list(slowlogLimit),
    ...(engine.hasCommandLog
      ? {
          commandLog: {
            largeRequests: engine.commandLog['large-request'].list(slowlogLimit),
            largeReplies: engine.commandLog['large-reply'].list(slowlogLimit),
          },
        }
      : {}),
    events: result.events,
  }
}

export interface SlowlogReport {
  at: number
  nodes: number
  nodesRead: number
  entries: SlowlogEntry[]
  groups?: SlowlogGroup[]
  /** Nodes that could not be read, with why. */
  errors: { node: string; address: string; error: string }[]
}

/** The newest `limit` entries merged across every node (one round). */
export async function readSlowlog(
  engine: MonitorEngine,
  limit: number,
  group: boolean,
): Promise<SlowlogReport> {
  const { snap, errors } = await oneRound(engine)
  return {
    at: snap.at,
    nodes: snap.nodes.length,
    nodesRead: snap.nodes.filter((n) => n.up).length,
    entries: engine.slowlog.list(limit),
    ...(group ? { groups: groupSlowlog(engine.slowlog.list()) } : {}),
    errors,
  }
}

/**
 * One poll of every node (connected first), with the nodes it could not read and why. No node read
 * at all is a failure (exit 3), not an empty log: nothing was looked at.
 */
async function oneRound(engine: MonitorEngine): Promise<{ snap: Snapshot; errors: SlowlogReport['errors'] }> {
  await engine.connectAll(engine.connectTimeoutMs)
  const snap = await engine.poll()
  const failure = noNodeAnswered(snap, engine.spec)
  if (failure) throw failure
  return { snap, errors: unreadNodes(snap) }
}

export interface CommandLogReport {
  at: number
  kind: LargeLogKind
  nodes: number
  nodesRead: number
  entries: CommandLogEntry[]
  groups?: CommandLogGroup[]
  /** Nodes read that have no COMMANDLOG (Redis, Valkey before 8.1) or refuse it, by address. */
  withoutCommandLog: string[]
  errors: { node: string; address: string; error: string }[]
}

/** The newest `limit` entries of a COMMANDLOG size log merged across every node (one round). */
export async function readCommandLog(
  engine: MonitorEngine,
  kind: LargeLogKind,
  limit: number,
  group: boolean,
): Promise<CommandLogReport> {
  const { snap, errors } = await oneRound(engine)
  const up = new Set(snap.nodes.filter((n) => n.up).map((n) => n.id))
  return {
    at: snap.at,
    kind,
    nodes: snap.nodes.length,
    nodesRead: up.size,
    entries: engine.commandLog[kind].list(limit),
    ...(group ? { groups: groupCommandLog(engine.commandLog[kind].list()) } : {}),
    withoutCommandLog: engine
      .commandLogSupport()
      .filter((n) => n.support === 'no' && up.has(n.node))
      .map((n) => n.address),
    errors,
  }
}

export interface ReplicationReport {
  at: number
  mode: Snapshot['deployment']['mode']
  shards: ShardReplication[]
  events: MonitorEvent[]
}

export async function replicationReport(
  engine: MonitorEngine,
): Promise<{ report: ReplicationReport; failure?: ConnectError }> {
  const { snapshot, events, failure } = await sampleStatus(engine)
  const report = { at: snapshot.at, mode: snapshot.deployment.mode, shards: snapshot.replication, events }
  return failure ? { report, failure } : { report }
}
