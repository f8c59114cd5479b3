import type { ConnectionSpec } from '../connect/client.js'
import { absentInVersion, versionAtLeast } from '../connect/capabilities.js'
import type { Topology, TopologyNode } from '../connect/topology.js'
import { errorMessage } from '../errors.js'
import { isCommandRefusal } from '../wire/classify.js'
import {
  AlertTracker,
  DEFAULT_THRESHOLDS,
  type Alert,
  type AlertThresholds,
  type MonitorEvent,
} from './alerts.js'
import { parseClusterInfo, type ClusterInfo } from './cluster-info.js'
import {
  ioredisFactory,
  type ConnectionFactory,
  type NodeConnection,
  type PollCommand,
  type PollReply,
} from './connection.js'
import { ExternalRunner, type ExternalMetricsSource } from './external.js'
import { RingBuffer, SeriesStore } from './history.js'
import { parseLatencyLatest, type LatencyEvent } from './latency.js'
import type { InfoLineCache } from '../redis/info.js'
import { parseNodeInfo, type NodeInfo } from './node-info.js'
import { nodeRates, type NodeRates } from './rates.js'
import { shardReplication, type ShardReplication } from './replication.js'
import {
  CommandLogStore,
  LARGE_LOG_KINDS,
  LogCursor,
  parseLogEntries,
  SlowlogStore,
  toCommandLogEntry,
  toSlowlogEntry,
  type CommandLogEntry,
  type LargeLogKind,
  type SlowlogEntry,
} from './slowlog.js'
import { clusterTopologyFromNodes, replicatedTopologyFromInfos, topologyEvents } from './topology-watch.js'
import type {
  ClusterStatus,
  CommandLogSnapshot,
  DeploymentSummary,
  NodeStatus,
  PollState,
  ShardStatus,
  Snapshot,
} from './types.js'

export type { ExternalMetricsSource } from './external.js'

export interface MonitorOptions {
  /** Poll interval in ms (one round per node per interval). */
  intervalMs: number
  /** Per-node limit for one round; a node slower than this is reported as not responding. Default: 80% of the interval, at most 5 s. */
  timeoutMs?: number
  /** Nodes polled at once (default 128): the rest wait for a free slot. A stalled node holds its slot only until its timeout. */
  concurrency?: number
  /** Read SLOWLOG incrementally (default true). */
  slowlog?: boolean
  /** Entries asked for per round (of each log); more are read in the same round when a burst exceeds it. */
  slowlogCount?: number
  /**
   * Read COMMANDLOG's large-request and large-reply logs where the server has them (Valkey 8.1+),
   * incrementally like SLOWLOG (default: as `slowlog`). Nodes without it are never asked.
   */
  commandlog?: boolean
  /** Read LATENCY LATEST (default true). */
  latency?: boolean
  /** Samples kept per series for charts. */
  historySize?: number
  thresholds?: Partial<AlertThresholds>
  external?: ExternalMetricsSource
  /** Replace how node connections are made (tests). */
  connect?: ConnectionFactory
  /** Delay before retrying a node that could not be reached: min(base * 2^failures, max). */
  reconnectBaseMs?: number
  reconnectMaxMs?: number
}

/** Rounds between reads of the slowly changing figures (latency percentiles, LATENCY LATEST). */
const SLOW_EVERY = 5
/** INFO sections read every round: everything but Latencystats (and module sections). */
const EVERY_ROUND_SECTIONS = [
  'server',
  'clients',
  'memory',
  'persistence',
  'stats',
  'replication',
  'cpu',
  'commandstats',
  'errorstats',
  'cluster',
  'keyspace',
]

interface NodeState {
  /** Parsed INFO lines reused while unchanged. */
  lineCache: InfoLineCache
  /** The last round failed: read everything next time. */
  latencyStale?: boolean
  node: TopologyNode
  conn?: NodeConnection
  connecting?: Promise<void>
  failures: number
  nextAttemptAt: number
  connectError?: string
  inFlight: boolean
  /** Commands kvtop sent (cumulative), by name; and that count as it stood when the last sampled INFO was sent. */
  sent: Record<string, number>
  sentAtPrevSample?: Record<string, number>
  prevInfo?: NodeInfo
  prevAt?: number
  info?: NodeInfo
  infoAt?: number
  rates?: NodeRates
  state: PollState
  error?: string
  lastSeenAt?: number
  pollMs?: number
  clusterInfo?: ClusterInfo
  latency?: LatencyEvent[]
  slowCursor: LogCursor
  commandCursors: Map<LargeLogKind, LogCursor>
  /** A COMMANDLOG GET answered: the node has COMMANDLOG and lets this user read it. */
  commandLogRead?: boolean
  /** The server refused these commands (ACL, renamed, unsupported): not asked again. */
  refused: Set<string>
  /** Error replies kvtop caused (its refused commands), cumulative; and as it stood at the last sampled INFO. */
  ownErrors: number
  ownErrorsAtPrevSample?: number
  lastKnownOffset?: number
}

interface PollOutcome {
  state: NodeState
  ok: boolean
  info?: NodeInfo
  slowlog: SlowlogEntry[]
  commandLog: CommandLogEntry[]
  clusterNodesText?: string
  events: MonitorEvent[]
}

type Listener = (snapshot: Snapshot) => void

const OWN_NAMES: Record<string, string> = {
  INFO: 'info',
  SLOWLOG: 'slowlog|get',
  LATENCY: 'latency|latest',
  COMMANDLOG: 'commandlog|get',
}

/** The command name a refusal is remembered by -> the name kvtop counts the command under. */
const REFUSED_OWN_NAME: Record<string, string> = {
  slowlog: 'slowlog|get',
  latency: 'latency|latest',
  commandlog: 'commandlog|get',
}

/** COMMANDLOG GET of both size logs: read-only, like SLOWLOG GET (never LEN or RESET). */
function commandLogGets(
  count: number | string,
  kinds: readonly LargeLogKind[] = LARGE_LOG_KINDS,
): PollCommand[] {
  return kinds.map((kind) => ({ args: ['COMMANDLOG', 'GET', String(count), kind], buffers: true }))
}

/** The key of a reply in a round: `SLOWLOG GET`, `CLUSTER NODES`, `COMMANDLOG GET large-reply`. */
function replyKey(args: string[]): string {
  return args[0] === 'COMMANDLOG' ? `COMMANDLOG GET ${args[3]}` : args.slice(0, 2).join(' ')
}

function ownName(args: string[]): string {
  const head = args[0].toUpperCase()
  if (head === 'CLUSTER') return `cluster|${args[1].toLowerCase()}`
  return OWN_NAMES[head] ?? head.toLowerCase()
}

function addCounts(target: Record<string, number>, add: Record<string, number>): void {
  for (const [k, v] of Object.entries(add)) target[k] = (target[k] ?? 0) + v
}

function diffCounts(
  cur: Record<string, number>,
  prev: Record<string, number> | undefined,
): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [k, v] of Object.entries(cur)) {
    const d = v - (prev?.[k] ?? 0)
    if (d > 0) out[k] = d
  }
  return out
}

/** Run `fn` over `items` with at most `limit` at once. */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const i = next++
      results[i] = await fn(items[i])
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker))
  return results
}

function percentile(sorted: number[], p: number): number | undefined {
  if (!sorted.length) return undefined
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[i]
}

/**
 * The metrics engine: one connection per node, one pipelined round per node per interval, every
 * node bounded by its own timeout so that a slow or dead node never holds up the others. Derives
 * rates, the replication model, alerts and events, and keeps history in ring buffers.
 */
export class MonitorEngine {
  readonly history: SeriesStore
  readonly slowlog = new SlowlogStore(1000)
  /** Valkey 8.1+: COMMANDLOG's large-request and large-reply entries of every node, merged. */
  readonly commandLog: Record<LargeLogKind, CommandLogStore> = {
    'large-request': new CommandLogStore(1000),
    'large-reply': new CommandLogStore(1000),
  }
  readonly roundTimes = new RingBuffer<number>(1000)
  private readonly states = new Map<string, NodeState>()
  private readonly alerts: AlertTracker
  private readonly factory: ConnectionFactory
  private readonly external?: ExternalRunner
  private topologyValue: Topology
  private roundNo = 0
  private topologySource = 0
  private latestSnapshot?: Snapshot
  private running = false
  private timer?: NodeJS.Timeout
  private wake?: () => void
  private current?: Promise<Snapshot>
  private readonly pendingEvents: MonitorEvent[] = []
  readonly timeoutMs: number
  /** How long opening a connection may take (the connection spec's timeout). */
  readonly connectTimeoutMs: number
  readonly concurrency: number

  constructor(
    spec: ConnectionSpec | undefined,
    topology: Topology,
    readonly options: MonitorOptions,
  ) {
    if (!spec && !options.connect)
      throw new Error('MonitorEngine needs a connection spec or a connection factory')
    this.factory = options.connect ?? ioredisFactory(spec!)
    this.connectTimeoutMs = spec?.timeoutMs ?? 5000
    this.topologyValue = topology
    this.timeoutMs = options.timeoutMs ?? Math.max(100, Math.min(5000, Math.round(options.intervalMs * 0.8)))
    this.concurrency = options.concurrency ?? 128
    this.history = new SeriesStore(options.historySize ?? 300)
    this.alerts = new AlertTracker({ ...DEFAULT_THRESHOLDS, ...options.thresholds })
    if (options.external) {
      this.external = new ExternalRunner(
        options.external,
        () => this.topologyValue.nodes,
        (e) => this.pendingEvents.push(e),
      )
    }
    for (const n of topology.nodes) this.states.set(n.id, this.newState(n))
  }

  get topology(): Topology {
    return this.topologyValue
  }

  get latest(): Snapshot | undefined {
    return this.latestSnapshot
  }

  /**
   * Open every node's connection now, waiting up to `timeoutMs` (the connect timeout, not the poll
   * timeout): one-shot commands take both their samples on open connections, so that a slow handshake
   * does not leave a node without rates.
   */
  async connectAll(timeoutMs = 5000): Promise<void> {
    for (const s of this.states.values()) this.ensureConnection(s)
    const pending = [...this.states.values()]
      .map((s) => s.connecting)
      .filter((p): p is Promise<void> => p !== undefined)
    let timer: NodeJS.Timeout | undefined
    await Promise.race([Promise.all(pending), new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))])
    clearTimeout(timer)
  }

  /** Poll the external source now (one-shot `status`); resolves within `timeoutMs` even if it does not. */
  async refreshExternal(timeoutMs = 15_000): Promise<void> {
    if (!this.external) return
    let timer: NodeJS.Timeout | undefined
    await Promise.race([
      this.external.refresh(),
      new Promise<void>((r) => (timer = setTimeout(r, timeoutMs))),
    ])
    clearTimeout(timer)
  }

  /** Round durations so far: p50, p99 and max in ms. */
  roundStats(): { rounds: number; p50?: number; p99?: number; max?: number } {
    const sorted = this.roundTimes.toArray().sort((a, b) => a - b)
    return {
      rounds: sorted.length,
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      max: sorted[sorted.length - 1],
    }
  }

  private newState(node: TopologyNode): NodeState {
    return {
      node,
      failures: 0,
      nextAttemptAt: 0,
      inFlight: false,
      sent: {},
      state: 'connecting',
      slowCursor: new LogCursor(),
      commandCursors: new Map(),
      refused: new Set(),
      ownErrors: 0,
      lineCache: new Map(),
    }
  }

  // -------------------------------------------------------------------------------------------
  // Connections

  private ensureConnection(s: NodeState): void {
    if (s.conn || s.connecting || Date.now() < s.nextAttemptAt) return
    const target = { host: s.node.host, port: s.node.port, address: s.node.address }
    s.connecting = this.factory(target)
      .then((conn) => {
        if (this.states.get(s.node.id) !== s || !this.runningOrPolling) {
          void conn.close()
          return
        }
        s.conn = conn
        s.failures = 0
        s.connectError = undefined
      })
      .catch((err: unknown) => {
        s.failures++
        s.connectError = errorMessage(err)
        const base = this.options.reconnectBaseMs ?? 250
        s.nextAttemptAt =
          Date.now() + Math.min(base * 2 ** Math.min(s.failures - 1, 8), this.options.reconnectMaxMs ?? 5000)
      })
      .finally(() => {
        s.connecting = undefined
      })
  }

  private closed = false
  private get runningOrPolling(): boolean {
    return !this.closed
  }

  // -------------------------------------------------------------------------------------------
  // One node

  /**
   * This round's commands for a node. The slowly changing parts (the server's cumulative latency
   * percentiles, LATENCY LATEST) are read every SLOW_EVERY rounds, where the server lets INFO name
   * its sections (Redis 7+, Valkey); everything the rates need is read every round.
   */
  private commandsFor(s: NodeState, wantClusterNodes: boolean): PollCommand[] {
    const known = s.info
    const multiSection =
      known !== undefined &&
      (known.server.engine === 'valkey' || versionAtLeast(known.server.version, '7.0.0'))
    const full = !multiSection || this.roundNo % SLOW_EVERY === 1 || s.latencyStale
    s.latencyStale = false
    const cmds: PollCommand[] = [{ args: full ? ['INFO', 'all'] : ['INFO', ...EVERY_ROUND_SECTIONS] }]
    const slowCount = this.options.slowlogCount ?? 32
    if (this.options.slowlog !== false && !s.refused.has('slowlog'))
      cmds.push({ args: ['SLOWLOG', 'GET', String(slowCount)], buffers: true })
    if (full && this.options.latency !== false && !s.refused.has('latency'))
      cmds.push({ args: ['LATENCY', 'LATEST'] })
    if (this.topologyValue.mode === 'cluster') {
      if (!s.refused.has('cluster|info')) cmds.push({ args: ['CLUSTER', 'INFO'] })
      if (wantClusterNodes && !s.refused.has('cluster|nodes')) cmds.push({ args: ['CLUSTER', 'NODES'] })
    }
    if (this.wantsCommandLog(s, s.info ?? s.prevInfo)) cmds.push(...commandLogGets(slowCount))
    return cmds
  }

  /**
   * Whether to read this node's COMMANDLOG: only where its INFO names an engine version that has
   * it (Valkey 8.1+, the capability probe's table), and never again once it refused the command
   * (renamed, disabled, ACL). Redis and Valkey before 8.1 are never asked.
   */
  private wantsCommandLog(s: NodeState, info: NodeInfo | undefined): boolean {
    if ((this.options.commandlog ?? this.options.slowlog) === false) return false
    if (!info || s.refused.has('commandlog')) return false
    return !absentInVersion('commandlog', info.server.engine, info.server.version)
  }

  private async send(s: NodeState, cmds: PollCommand[], deadline: number): Promise<PollReply[] | 'timeout'> {
    const conn = s.conn!
    for (const c of cmds) {
      const name = ownName(c.args)
      s.sent[name] = (s.sent[name] ?? 0) + 1
    }
    s.inFlight = true
    const request = conn.pipeline(cmds).finally(() => {
      s.inFlight = false
    })
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), Math.max(1, deadline - Date.now()))
    })
    try {
      return await Promise.race([request, timeout])
    } catch (err) {
      return [{ ok: false, error: errorMessage(err) }]
    } finally {
      clearTimeout(timer)
      request.catch(() => {})
    }
  }

  private refuseIfDenied(s: NodeState, key: string, reply: PollReply | undefined): boolean {
    if (!reply || reply.ok) return false
    if (isCommandRefusal({ message: reply.error })) {
      s.refused.add(key)
      // Refused before it ran: the server counted an error reply (kvtop's own), not a command.
      s.ownErrors++
      const name = REFUSED_OWN_NAME[key] ?? key
      if (s.sent[name]) s.sent[name]--
    }
    return true
  }

  private async pollNode(s: NodeState, wantClusterNodes: boolean): Promise<PollOutcome> {
    const started = Date.now()
    const deadline = started + this.timeoutMs
    const outcome: PollOutcome = { state: s, ok: false, slowlog: [], commandLog: [], events: [] }
    const fail = (state: PollState, error: string): PollOutcome => {
      s.latencyStale = true
      s.state = state
      s.error = error
      s.pollMs = Date.now() - started
      return outcome
    }
    // A closed connection is "down" at once, even with a request still pending on it.
    if (s.conn && !s.conn.ready) return fail('down', s.conn.lastError ?? 'disconnected')
    if (s.inFlight) return fail('timeout', `no reply within ${this.timeoutMs} ms`)
    if (!s.conn) {
      this.ensureConnection(s)
      if (s.connecting) {
        const connecting = s.connecting
        await Promise.race([
          connecting,
          new Promise((r) => setTimeout(r, Math.max(1, deadline - Date.now())).unref()),
        ])
      }
      if (!s.conn) return fail(s.connecting ? 'connecting' : 'down', s.connectError ?? 'connecting')
    }
    if (!s.conn.ready) return fail('down', s.conn.lastError ?? 'disconnected')

    const cmds = this.commandsFor(s, wantClusterNodes)
    // The connection's own handshake commands (AUTH, CLIENT SETNAME, the ready check's INFO) count as kvtop's.
    addCounts(s.sent, s.conn.handshakeCommands)
    for (const k of Object.keys(s.conn.handshakeCommands)) delete s.conn.handshakeCommands[k]
    const sentBeforeInfo = { ...s.sent }
    const ownErrorsBeforeInfo = s.ownErrors
    const replies = await this.send(s, cmds, deadline)
    if (replies === 'timeout') {
      return s.conn.ready
        ? fail('timeout', `no reply within ${this.timeoutMs} ms`)
        : fail('down', s.conn.lastError ?? 'disconnected')
    }
    const byName = new Map<string, PollReply>()
    cmds.forEach((c, i) => byName.set(replyKey(c.args), replies[i] ?? { ok: false, error: 'no reply' }))
    const infoReply = replies[0]
    if (!infoReply?.ok) return fail('down', infoReply?.error ?? 'no reply')

    const at = Date.now()
    const info = parseNodeInfo(String(infoReply.value), s.node.host, s.lineCache)
    // A round without Latencystats keeps the last ones (they are cumulative and change slowly).
    if (cmds[0].args[1] !== 'all') info.latencyStats = s.info?.latencyStats ?? {}
    // Rates against the previous sample, minus what kvtop itself sent in between.
    if (s.info && s.infoAt !== undefined) {
      s.prevInfo = s.info
      s.prevAt = s.infoAt
      s.rates = nodeRates({
        prev: s.info,
        cur: info,
        seconds: (at - s.infoAt) / 1000,
        ownCommands: diffCounts(sentBeforeInfo, s.sentAtPrevSample),
        ownErrors: ownErrorsBeforeInfo - (s.ownErrorsAtPrevSample ?? ownErrorsBeforeInfo),
      })
    }
    s.sentAtPrevSample = sentBeforeInfo
    s.ownErrorsAtPrevSample = ownErrorsBeforeInfo
    s.info = info
    s.infoAt = at
    s.state = 'ok'
    s.error = undefined
    s.lastSeenAt = at
    outcome.ok = true
    outcome.info = info

    const slow = byName.get(`SLOWLOG GET`)
    if (slow && !this.refuseIfDenied(s, 'slowlog', slow) && slow.ok) {
      const requested = this.options.slowlogCount ?? 32
      let result = s.slowCursor.accept(parseLogEntries(slow.value), requested, info.server.runId)
      if (result.needAll && Date.now() < deadline) {
        const more = await this.send(s, [{ args: ['SLOWLOG', 'GET', '-1'], buffers: true }], deadline)
        if (more !== 'timeout' && more[0]?.ok)
          result = s.slowCursor.accept(parseLogEntries(more[0].value), -1, info.server.runId)
      }
      if (result.missed > 0) {
        outcome.events.push({
          type: 'slowlog-gap',
          at,
          severity: 'info',
          node: s.node.id,
          address: s.node.address,
          shard: s.node.shard,
          missed: result.missed,
          message: `${s.node.address}: ${result.missed} slowlog entries were trimmed or reset before they could be read`,
        })
      }
      outcome.slowlog = result.fresh.map((e) => toSlowlogEntry(e, s.node, info.server.runId))
    }
    const latency = byName.get('LATENCY LATEST')
    if (latency && !this.refuseIfDenied(s, 'latency', latency) && latency.ok)
      s.latency = parseLatencyLatest(latency.value)
    const ci = byName.get('CLUSTER INFO')
    if (ci && !this.refuseIfDenied(s, 'cluster|info', ci) && ci.ok)
      s.clusterInfo = parseClusterInfo(String(ci.value))
    const cn = byName.get('CLUSTER NODES')
    if (cn && !this.refuseIfDenied(s, 'cluster|nodes', cn) && cn.ok)
      outcome.clusterNodesText = String(cn.value)
    await this.readCommandLog(s, info, byName, deadline, outcome, at)
    s.pollMs = Date.now() - started
    return outcome
  }

  /**
   * COMMANDLOG's size logs of one node, each followed by entry id like the slowlog. A node whose
   * version was not known when the round's commands were chosen (its first round) is asked now, in
   * the same round, so that a one-shot read has them too.
   */
  private async readCommandLog(
    s: NodeState,
    info: NodeInfo,
    byName: Map<string, PollReply>,
    deadline: number,
    outcome: PollOutcome,
    at: number,
  ): Promise<void> {
    const requested = this.options.slowlogCount ?? 32
    const replies = new Map<LargeLogKind, PollReply>()
    for (const kind of LARGE_LOG_KINDS) {
      const r = byName.get(`COMMANDLOG GET ${kind}`)
      if (r) replies.set(kind, r)
    }
    if (!replies.size && this.wantsCommandLog(s, info) && Date.now() < deadline) {
      const more = await this.send(s, commandLogGets(requested), deadline)
      if (more !== 'timeout') LARGE_LOG_KINDS.forEach((kind, i) => more[i] && replies.set(kind, more[i]))
    }
    for (const [kind, r] of replies) {
      if (this.refuseIfDenied(s, 'commandlog', r) || !r.ok) continue
      s.commandLogRead = true
      let cursor = s.commandCursors.get(kind)
      if (!cursor) s.commandCursors.set(kind, (cursor = new LogCursor()))
      let result = cursor.accept(parseLogEntries(r.value), requested, info.server.runId)
      if (result.needAll && Date.now() < deadline) {
        const more = await this.send(s, commandLogGets(-1, [kind]), deadline)
        if (more !== 'timeout' && more[0]?.ok)
          result = cursor.accept(parseLogEntries(more[0].value), -1, info.server.runId)
      }
      if (result.missed > 0) {
        outcome.events.push({
          type: 'commandlog-gap',
          at,
          severity: 'info',
          node: s.node.id,
          address: s.node.address,
          shard: s.node.shard,
          kind,
          missed: result.missed,
          message: `${s.node.address}: ${result.missed} ${kind} entries were trimmed or reset before they could be read`,
        })
      }
      outcome.commandLog.push(
        ...result.fresh.map((e) => toCommandLogEntry(e, kind, s.node, info.server.runId)),
      )
    }
  }

  /** Whether any node has answered COMMANDLOG GET (Valkey 8.1+). */
  get hasCommandLog(): boolean {
    return [...this.states.values()].some((s) => s.commandLogRead)
  }

  /**
   * Each node's COMMANDLOG: `yes` (a read answered), `no` (its version has none, or it refused the
   * command), `unknown` (not read yet).
   */
  commandLogSupport(): { node: string; address: string; support: 'yes' | 'no' | 'unknown' }[] {
    return this.topologyValue.nodes.map((n) => {
      const s = this.states.get(n.id)
      const info = s?.info
      const support =
        s?.commandLogRead === true
          ? 'yes'
          : s?.refused.has('commandlog') ||
              (info && absentInVersion('commandlog', info.server.engine, info.server.version))
            ? 'no'
            : 'unknown'
      return { node: n.id, address: n.address, support }
    })
  }

  // -------------------------------------------------------------------------------------------
  // A round

  /** One round over every node. Resolves when all nodes answered or timed out. */
  poll(): Promise<Snapshot> {
    if (this.current) return this.current
    this.current = this.round().finally(() => {
      this.current = undefined
    })
    return this.current
  }

  private pickTopologySource(states: NodeState[]): NodeState | undefined {
    const candidates = states.filter((s) => s.conn?.ready && s.state === 'ok')
    if (!candidates.length) return states.find((s) => s.conn?.ready)
    // Prefer primaries (they see failovers of their shard first), rotating so no node carries it alone.
    const primaries = candidates.filter((s) => s.node.role === 'primary')
    const pool = primaries.length ? primaries : candidates
    return pool[this.topologySource++ % pool.length]
  }

  private async round(): Promise<Snapshot> {
    const started = Date.now()
    this.roundNo++
    const states = [...this.states.values()]
    const cluster = this.topologyValue.mode === 'cluster'
    const source = cluster ? this.pickTopologySource(states) : undefined
    const outcomes = await mapLimit(states, this.concurrency, (s) => this.pollNode(s, s === source))
    const at = Date.now()
    const events: MonitorEvent[] = this.pendingEvents.splice(0)
    for (const o of outcomes) events.push(...o.events)

    // Topology: the cluster's view, refreshed from a node that contradicts it (a role change) first.
    const prevTopology = this.topologyValue
    let next: Topology | undefined
    if (cluster) {
      const contradicting = outcomes.find(
        (o) =>
          o.ok &&
          o.info &&
          o.info.replication.role !== 'unknown' &&
          o.info.replication.role !== o.state.node.role,
      )
      let text = outcomes.find((o) => o.clusterNodesText)?.clusterNodesText
      let from = outcomes.find((o) => o.clusterNodesText)?.state
      if (contradicting && contradicting.state !== from && contradicting.state.conn?.ready) {
        const r = await this.send(
          contradicting.state,
          [{ args: ['CLUSTER', 'NODES'] }],
          Date.now() + this.timeoutMs,
        )
        if (r !== 'timeout' && r[0]?.ok) {
          text = String(r[0].value)
          from = contradicting.state
        }
      }
      if (text && from) {
        const state = from.clusterInfo?.state ?? prevTopology.clusterState
        next = clusterTopologyFromNodes(text, from.node, prevTopology, state)
      }
    } else {
      const infos = new Map<string, NodeInfo>()
      const reachable = new Set<string>()
      for (const o of outcomes) {
        if (o.ok && o.info) {
          infos.set(o.state.node.id, o.info)
          reachable.add(o.state.node.id)
        }
      }
      next = replicatedTopologyFromInfos(prevTopology, infos, reachable)
    }
    if (next && next.nodes.length) {
      events.push(...topologyEvents(prevTopology, next, at))
      this.applyTopology(next)
    }

    // Slowlog and commandlog entries, merged across nodes: each entry once.
    const freshSlow = this.slowlog.add(outcomes.flatMap((o) => o.slowlog))
    const logged = outcomes.flatMap((o) => o.commandLog)
    const freshLog: CommandLogSnapshot | undefined = this.hasCommandLog
      ? {
          largeRequests: this.commandLog['large-request'].add(
            logged.filter((e) => e.kind === 'large-request'),
          ),
          largeReplies: this.commandLog['large-reply'].add(logged.filter((e) => e.kind === 'large-reply')),
        }
      : undefined

    const snapshot = this.buildSnapshot(at, Date.now() - started, events, freshSlow, freshLog)
    this.roundTimes.push(snapshot.roundMs)
    this.latestSnapshot = snapshot
    return snapshot
  }

  private applyTopology(next: Topology): void {
    const nextIds = new Set(next.nodes.map((n) => n.id))
    for (const [id, s] of [...this.states]) {
      if (nextIds.has(id)) continue
      this.states.delete(id)
      void s.conn?.close()
      this.history.drop(`${id}:`)
    }
    for (const n of next.nodes) {
      const s = this.states.get(n.id)
      if (!s) this.states.set(n.id, this.newState(n))
      else {
        if (s.node.host !== n.host || s.node.port !== n.port) {
          void s.conn?.close()
          s.conn = undefined
          s.slowCursor.clear()
          s.commandCursors.clear()
        }
        s.node = n
      }
    }
    this.topologyValue = next
  }

  // -------------------------------------------------------------------------------------------
  // Snapshot

  private buildSnapshot(
    at: number,
    roundMs: number,
    events: MonitorEvent[],
    freshSlow: SlowlogEntry[],
    freshLog?: CommandLogSnapshot,
  ): Snapshot {
    const topo = this.topologyValue
    const external = this.external?.latest()
    const nodes: NodeStatus[] = topo.nodes.map((n) => this.nodeStatus(n, external?.nodes[n.id]))
    const statusById = new Map(nodes.map((n) => [n.id, n]))

    // Replication per shard.
    const replication: ShardReplication[] = topo.shards.map((shard) => {
      const primaryNode = shard.primaryId ? topo.nodes.find((n) => n.id === shard.primaryId) : undefined
      const ps = primaryNode ? this.states.get(primaryNode.id) : undefined
      const primaryFresh = ps?.state === 'ok' ? ps.info : undefined
      const offsetKey = primaryNode ? `${primaryNode.id}:offset` : ''
      if (primaryFresh?.replication.masterReplOffset !== undefined && ps?.infoAt !== undefined) {
        const last = this.history.last(offsetKey)
        if (!last || last.at !== ps.infoAt)
          this.history.add(offsetKey, ps.infoAt, primaryFresh.replication.masterReplOffset)
      }
      const replicas = topo.nodes.filter((n) => n.role === 'replica' && n.shard === shard.index)
      const model = shardReplication({
        shard: shard.index,
        primary: primaryNode
          ? { id: primaryNode.id, address: primaryNode.address, info: primaryFresh }
          : undefined,
        replicas: replicas.map((r) => {
          const rs = this.states.get(r.id)
          return {
            id: r.id,
            host: r.host,
            port: r.port,
            address: r.address,
            info: rs?.state === 'ok' ? rs.info : undefined,
            lastKnownOffset: rs?.lastKnownOffset,
          }
        }),
        primaryOffsets: offsetKey ? this.history.get(offsetKey) : [],
        at,
      })
      for (const r of model.replicas) {
        const rs = this.states.get(r.id)
        if (rs && r.offset !== undefined) rs.lastKnownOffset = r.offset
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

    const shards: ShardStatus[] = topo.shards.map((shard) => {
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

    const primaries = nodes.filter((n) => n.role === 'primary')
    const hits = nodes.map((n) => n.hitRatio).filter((x): x is number => x !== undefined)
    const clusterStatus: ClusterStatus = {
      opsPerSec: sumDefined(nodes.map((n) => n.opsPerSec)),
      ...(hits.length ? { hitRatio: this.clusterHitRatio() } : {}),
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

    const anyInfo =
      [...this.states.values()].find((s) => s.node.role === 'primary' && s.info)?.info ??
      [...this.states.values()].find((s) => s.info)?.info
    const clusterState = this.clusterStateFromNodes() ?? topo.clusterState
    const deployment: DeploymentSummary = {
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
      ...(topo.mode === 'cluster' ? { slotsCovered: this.slotsCovered() } : {}),
      ...(clusterState ? { clusterState } : {}),
    }

    const { active, events: alertEvents } = this.alerts.evaluate({
      at,
      mode: topo.mode,
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
        fullSyncs: n.role === 'primary' ? this.states.get(n.id)?.rates?.fullSyncs : undefined,
        syncInProgress: n.replication?.syncInProgress,
        lagBytes: n.replication?.lagBytes,
        lagSeconds: n.replication?.lagSeconds,
        link: n.replication?.link,
      })),
    })
    events.push(...alertEvents)

    // History for charts.
    for (const n of nodes) {
      if (n.state !== 'ok') continue
      this.history.add(`${n.id}:ops`, at, n.opsPerSec)
      this.history.add(`${n.id}:latency`, at, n.latencyUs)
      this.history.add(`${n.id}:p99`, at, n.p99Us)
      this.history.add(`${n.id}:memory`, at, n.memory.used)
      this.history.add(`${n.id}:cpu`, at, n.cpuPercent)
      if (n.replication) this.history.add(`${n.id}:lag`, at, n.replication.lagBytes)
    }
    this.history.add('cluster:ops', at, clusterStatus.opsPerSec)
    const latencies = nodes.filter((n) => n.latencyUs !== undefined && n.opsPerSec)
    const weighted = latencies.reduce((s, n) => s + n.latencyUs! * n.opsPerSec!, 0)
    const weight = latencies.reduce((s, n) => s + n.opsPerSec!, 0)
    this.history.add('cluster:latency', at, weight > 0 ? weighted / weight : undefined)
    // A cluster has no p99 of its own: the worst node's is what a client can meet.
    const p99s = nodes.flatMap((n) => (n.state === 'ok' && n.p99Us !== undefined ? [n.p99Us] : []))
    this.history.add('cluster:p99', at, p99s.length ? Math.max(...p99s) : undefined)

    return {
      at,
      round: this.roundNo,
      intervalMs: this.options.intervalMs,
      roundMs,
      deployment,
      cluster: clusterStatus,
      shards,
      nodes,
      replication,
      alerts: active as Alert[],
      events,
      slowlog: freshSlow,
      ...(freshLog ? { commandLog: freshLog } : {}),
      ...(external ? { external } : {}),
    }
  }

  private clusterHitRatio(): number | undefined {
    // Weighted by lookups: hits and misses over the interval, summed over nodes.
    let hits = 0
    let lookups = 0
    for (const s of this.states.values()) {
      if (s.state !== 'ok' || !s.info || !s.prevInfo || !s.rates || s.rates.countersReset) continue
      const h = (s.info.stats.keyspaceHits ?? 0) - (s.prevInfo.stats.keyspaceHits ?? 0)
      const m = (s.info.stats.keyspaceMisses ?? 0) - (s.prevInfo.stats.keyspaceMisses ?? 0)
      if (h < 0 || m < 0) continue
      hits += h
      lookups += h + m
    }
    return lookups > 0 ? hits / lookups : undefined
  }

  private slotsCovered(): number {
    // Slots of primaries that answer and that the cluster does not consider failed.
    let n = 0
    for (const node of this.topologyValue.nodes) {
      if (node.role !== 'primary' || node.health === 'failed') continue
      const s = this.states.get(node.id)
      if (s && s.state !== 'ok' && s.state !== 'timeout' && s.lastSeenAt !== undefined) continue
      n += node.slots.reduce((c, [a, b]) => c + b - a + 1, 0)
    }
    return n
  }

  private clusterStateFromNodes(): string | undefined {
    const states = [...this.states.values()]
      .filter((s) => s.state === 'ok' && s.clusterInfo)
      .map((s) => s.clusterInfo!.state)
    if (!states.length) return undefined
    return states.includes('fail') ? 'fail' : states[0]
  }

  private nodeStatus(n: TopologyNode, external: Record<string, number> | undefined): NodeStatus {
    const s = this.states.get(n.id)
    const fresh = s?.state === 'ok'
    const info = s?.info
    const rates = fresh ? s?.rates : undefined
    const mem = info?.memory
    const keys = info ? Object.values(info.keyspace).reduce((c, d) => c + d.keys, 0) : undefined
    const expires = info ? Object.values(info.keyspace).reduce((c, d) => c + d.expires, 0) : undefined
    return {
      id: n.id,
      host: n.host,
      port: n.port,
      address: n.address,
      role: n.role,
      shard: n.shard,
      slots: n.slots,
      up: fresh,
      health: n.health,
      state: s?.state ?? 'connecting',
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
      memory: {
        ...(mem?.used !== undefined ? { used: mem.used } : {}),
        ...(mem?.maxmemory !== undefined ? { maxmemory: mem.maxmemory } : {}),
        ...(mem?.rss !== undefined ? { rss: mem.rss } : {}),
        ...(mem?.peak !== undefined ? { peak: mem.peak } : {}),
        ...(mem?.fragmentationRatio !== undefined ? { fragmentationRatio: mem.fragmentationRatio } : {}),
        ...(mem?.used !== undefined && mem.maxmemory ? { usedFraction: mem.used / mem.maxmemory } : {}),
        ...(mem?.maxmemoryPolicy ? { policy: mem.maxmemoryPolicy } : {}),
      },
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

  // -------------------------------------------------------------------------------------------
  // Running

  /** Poll every interval until stop(); each snapshot goes to `listener`. */
  start(listener: Listener, onError?: (err: unknown) => void): void {
    if (this.running) return
    this.running = true
    this.external?.start()
    const loop = async () => {
      while (this.running) {
        const t0 = Date.now()
        try {
          const snap = await this.poll()
          if (this.running) listener(snap)
        } catch (err) {
          onError?.(err)
        }
        if (!this.running) break
        const wait = Math.max(0, t0 + this.options.intervalMs - Date.now())
        await new Promise<void>((resolve) => {
          this.wake = resolve
          this.timer = setTimeout(resolve, wait)
        })
      }
    }
    void loop()
  }

  /** Stop polling and close every connection. */
  async stop(): Promise<void> {
    this.running = false
    this.closed = true
    if (this.timer) clearTimeout(this.timer)
    this.wake?.()
    this.external?.stop()
    if (this.current)
      await Promise.race([
        this.current.catch(() => undefined),
        new Promise((r) => setTimeout(r, this.timeoutMs + 500)),
      ])
    const pending = [...this.states.values()].map((s) => s.connecting).filter(Boolean)
    await Promise.race([Promise.all(pending), new Promise((r) => setTimeout(r, 1000))])
    await Promise.all([...this.states.values()].map((s) => s.conn?.close()))
    for (const s of this.states.values()) s.conn = undefined
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
