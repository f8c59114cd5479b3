import { absentInVersion, versionAtLeast } from '../connect/capabilities.js'
import type { TopologyNode } from '../connect/topology.js'
import { errorMessage } from '../errors.js'
import { isCommandRefusal } from '../wire/classify.js'
import type { MonitorEvent } from './alerts.js'
import { parseClusterInfo, type ClusterInfo } from './cluster-info.js'
import type { ConnectionFactory, NodeConnection, PollCommand, PollReply } from './connection.js'
import type { InfoLineCache } from '../redis/info.js'
import { parseLatencyLatest, type LatencyEvent } from './latency.js'
import { parseNodeInfo, type NodeInfo } from './node-info.js'
import { nodeRates, type NodeRates } from './rates.js'
import { LogCursor } from './log-cursor.js'
import { LARGE_LOG_KINDS, parseLogEntries, type LargeLogKind } from './log-reply.js'
import { toCommandLogEntry, toSlowlogEntry, type CommandLogEntry, type SlowlogEntry } from './slowlog.js'
import type { PollState } from './types.js'

/** What a poller is told once, by the engine that owns it. */
export interface PollerSettings {
  factory: ConnectionFactory
  /** Per-node limit for one round. */
  timeoutMs: number
  /** Read SLOWLOG incrementally (default true). */
  slowlog?: boolean
  slowlogCount?: number
  commandlog?: boolean
  latency?: boolean
  reconnectBaseMs?: number
  reconnectMaxMs?: number
  /** False once the engine stopped: a connection that opens late is closed at once. */
  isOpen: () => boolean
}

/** What the snapshot builder reads of one node: its last sample and how the last round went. */
export interface NodeReading {
  readonly node: TopologyNode
  readonly state: PollState
  readonly error?: string
  readonly lastSeenAt?: number
  readonly pollMs?: number
  readonly info?: NodeInfo
  readonly infoAt?: number
  readonly prevInfo?: NodeInfo
  readonly rates?: NodeRates
  readonly latency?: LatencyEvent[]
  readonly clusterInfo?: ClusterInfo
  readonly lastKnownOffset?: number
}

/** One node's part of a round. */
export interface PollOutcome {
  poller: NodePoller
  ok: boolean
  info?: NodeInfo
  slowlog: SlowlogEntry[]
  commandLog: CommandLogEntry[]
  clusterNodesText?: string
  events: MonitorEvent[]
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

/**
 * One node's side of monitoring: its connection (opened lazily, retried with back-off), one
 * pipelined round bounded by its own deadline, the commands the server refused (never asked
 * again), the slowlog and COMMANDLOG cursors, and the rates against its previous sample minus what
 * kvtop itself sent.
 */
export class NodePoller implements NodeReading {
  /** Parsed INFO lines reused while unchanged. */
  private readonly lineCache: InfoLineCache = new Map()
  /** The last round failed: read everything next time. */
  private latencyStale?: boolean
  conn?: NodeConnection
  connecting?: Promise<void>
  private failures = 0
  private nextAttemptAt = 0
  private connectError?: string
  private inFlight = false
  /** Commands kvtop sent (cumulative), by name; and that count as it stood when the last sampled INFO was sent. */
  private readonly sent: Record<string, number> = {}
  private sentAtPrevSample?: Record<string, number>
  prevInfo?: NodeInfo
  prevAt?: number
  info?: NodeInfo
  infoAt?: number
  rates?: NodeRates
  state: PollState = 'connecting'
  error?: string
  lastSeenAt?: number
  pollMs?: number
  clusterInfo?: ClusterInfo
  latency?: LatencyEvent[]
  private readonly slowCursor = new LogCursor()
  private readonly commandCursors = new Map<LargeLogKind, LogCursor>()
  /** A COMMANDLOG GET answered: the node has COMMANDLOG and lets this user read it. */
  commandLogRead?: boolean
  /** The server refused these commands (ACL, renamed, unsupported): not asked again. */
  readonly refused = new Set<string>()
  /** Error replies kvtop caused (its refused commands), cumulative; and as it stood at the last sampled INFO. */
  private ownErrors = 0
  private ownErrorsAtPrevSample?: number
  lastKnownOffset?: number
  /** Removed from the topology: a connection that opens late is closed at once. */
  private retired = false

  constructor(
    public node: TopologyNode,
    private readonly settings: PollerSettings,
  ) {}

  // -------------------------------------------------------------------------------------------
  // Connection

  ensureConnection(): void {
    if (this.conn || this.connecting || Date.now() < this.nextAttemptAt) return
    const target = { host: this.node.host, port: this.node.port, address: this.node.address }
    this.connecting = this.settings
      .factory(target)
      .then((conn) => {
        if (this.retired || !this.settings.isOpen()) {
          void conn.close()
          return
        }
        this.conn = conn
        this.failures = 0
        this.connectError = undefined
      })
      .catch((err: unknown) => {
        this.failures++
        this.connectError = errorMessage(err)
        const base = this.settings.reconnectBaseMs ?? 250
        this.nextAttemptAt =
          Date.now() +
          Math.min(base * 2 ** Math.min(this.failures - 1, 8), this.settings.reconnectMaxMs ?? 5000)
      })
      .finally(() => {
        this.connecting = undefined
      })
  }

  /** The node left the topology: close its connection, and any that opens later. */
  retire(): void {
    this.retired = true
    void this.conn?.close()
  }

  /** The node answers at a new address: reconnect there, and read its logs from the start. */
  moveTo(node: TopologyNode): void {
    if (this.node.host !== node.host || this.node.port !== node.port) {
      void this.conn?.close()
      this.conn = undefined
      this.slowCursor.clear()
      this.commandCursors.clear()
    }
    this.node = node
  }

  async close(): Promise<void> {
    await this.conn?.close()
    this.conn = undefined
  }

  // -------------------------------------------------------------------------------------------
  // A round

  /**
   * This round's commands. The slowly changing parts (the server's cumulative latency percentiles,
   * LATENCY LATEST) are read every SLOW_EVERY rounds, where the server lets INFO name its sections
   * (Redis 7+, Valkey); everything the rates need is read every round.
   */
  private commandsFor(round: number, cluster: boolean, wantClusterNodes: boolean): PollCommand[] {
    const known = this.info
    const multiSection =
      known !== undefined &&
      (known.server.engine === 'valkey' || versionAtLeast(known.server.version, '7.0.0'))
    const full = !multiSection || round % SLOW_EVERY === 1 || this.latencyStale
    this.latencyStale = false
    const cmds: PollCommand[] = [{ args: full ? ['INFO', 'all'] : ['INFO', ...EVERY_ROUND_SECTIONS] }]
    const slowCount = this.settings.slowlogCount ?? 32
    if (this.settings.slowlog !== false && !this.refused.has('slowlog'))
      cmds.push({ args: ['SLOWLOG', 'GET', String(slowCount)], buffers: true })
    if (full && this.settings.latency !== false && !this.refused.has('latency'))
      cmds.push({ args: ['LATENCY', 'LATEST'] })
    if (cluster) {
      if (!this.refused.has('cluster|info')) cmds.push({ args: ['CLUSTER', 'INFO'] })
      if (wantClusterNodes && !this.refused.has('cluster|nodes')) cmds.push({ args: ['CLUSTER', 'NODES'] })
    }
    if (this.wantsCommandLog(this.info ?? this.prevInfo)) cmds.push(...commandLogGets(slowCount))
    return cmds
  }

  /**
   * Whether to read this node's COMMANDLOG: only where its INFO names an engine version that has
   * it (Valkey 8.1+, the capability probe's table), and never again once it refused the command
   * (renamed, disabled, ACL). Redis and Valkey before 8.1 are never asked.
   */
  private wantsCommandLog(info: NodeInfo | undefined): boolean {
    if ((this.settings.commandlog ?? this.settings.slowlog) === false) return false
    if (!info || this.refused.has('commandlog')) return false
    return !absentInVersion('commandlog', info.server.engine, info.server.version)
  }

  /** Whether this node has no COMMANDLOG to read: its version has none, or it refused the command. */
  get commandLogAbsent(): boolean {
    const info = this.info
    return (
      this.refused.has('commandlog') ||
      (info !== undefined && absentInVersion('commandlog', info.server.engine, info.server.version))
    )
  }

  /** Send `cmds` in one pipeline on the open connection, counted as kvtop's own; 'timeout' past `deadline`. */
  async send(cmds: PollCommand[], deadline: number): Promise<PollReply[] | 'timeout'> {
    const conn = this.conn!
    for (const c of cmds) {
      const name = ownName(c.args)
      this.sent[name] = (this.sent[name] ?? 0) + 1
    }
    this.inFlight = true
    const request = conn.pipeline(cmds).finally(() => {
      this.inFlight = false
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

  private refuseIfDenied(key: string, reply: PollReply | undefined): boolean {
    if (!reply || reply.ok) return false
    if (isCommandRefusal({ message: reply.error })) {
      this.refused.add(key)
      // Refused before it ran: the server counted an error reply (kvtop's own), not a command.
      this.ownErrors++
      const name = REFUSED_OWN_NAME[key] ?? key
      if (this.sent[name]) this.sent[name]--
    }
    return true
  }

  /** One round on this node: resolves by its deadline whether the node answered or not. */
  async poll(round: number, cluster: boolean, wantClusterNodes: boolean): Promise<PollOutcome> {
    const started = Date.now()
    const deadline = started + this.settings.timeoutMs
    const outcome: PollOutcome = { poller: this, ok: false, slowlog: [], commandLog: [], events: [] }
    const fail = (state: PollState, error: string): PollOutcome => {
      this.latencyStale = true
      this.state = state
      this.error = error
      this.pollMs = Date.now() - started
      return outcome
    }
    // A closed connection is "down" at once, even with a request still pending on it.
    if (this.conn && !this.conn.ready) return fail('down', this.conn.lastError ?? 'disconnected')
    if (this.inFlight) return fail('timeout', `no reply within ${this.settings.timeoutMs} ms`)
    if (!this.conn) {
      this.ensureConnection()
      if (this.connecting) {
        const connecting = this.connecting
        await Promise.race([
          connecting,
          new Promise((r) => setTimeout(r, Math.max(1, deadline - Date.now())).unref()),
        ])
      }
      if (!this.conn) return fail(this.connecting ? 'connecting' : 'down', this.connectError ?? 'connecting')
    }
    const conn: NodeConnection = this.conn
    if (!conn.ready) return fail('down', conn.lastError ?? 'disconnected')

    const cmds = this.commandsFor(round, cluster, wantClusterNodes)
    // The connection's own handshake commands (AUTH, CLIENT SETNAME, the ready check's INFO) count as kvtop's.
    addCounts(this.sent, conn.handshakeCommands)
    for (const k of Object.keys(conn.handshakeCommands)) delete conn.handshakeCommands[k]
    const sentBeforeInfo = { ...this.sent }
    const ownErrorsBeforeInfo = this.ownErrors
    const replies = await this.send(cmds, deadline)
    if (replies === 'timeout') {
      return conn.ready
        ? fail('timeout', `no reply within ${this.settings.timeoutMs} ms`)
        : fail('down', conn.lastError ?? 'disconnected')
    }
    const byName = new Map<string, PollReply>()
    cmds.forEach((c, i) => byName.set(replyKey(c.args), replies[i] ?? { ok: false, error: 'no reply' }))
    const infoReply = replies[0]
    if (!infoReply?.ok) return fail('down', infoReply?.error ?? 'no reply')

    const at = Date.now()
    const info = parseNodeInfo(String(infoReply.value), this.node.host, this.lineCache)
    // A round without Latencystats keeps the last ones (they are cumulative and change slowly).
    if (cmds[0].args[1] !== 'all') info.latencyStats = this.info?.latencyStats ?? {}
    this.takeSample(info, at, sentBeforeInfo, ownErrorsBeforeInfo)
    outcome.ok = true
    outcome.info = info

    await this.readSlowlog(byName.get(`SLOWLOG GET`), info, deadline, outcome, at)
    const latency = byName.get('LATENCY LATEST')
    if (latency && !this.refuseIfDenied('latency', latency) && latency.ok)
      this.latency = parseLatencyLatest(latency.value)
    const ci = byName.get('CLUSTER INFO')
    if (ci && !this.refuseIfDenied('cluster|info', ci) && ci.ok)
      this.clusterInfo = parseClusterInfo(String(ci.value))
    const cn = byName.get('CLUSTER NODES')
    if (cn && !this.refuseIfDenied('cluster|nodes', cn) && cn.ok) outcome.clusterNodesText = String(cn.value)
    await this.readCommandLog(info, byName, deadline, outcome, at)
    this.pollMs = Date.now() - started
    return outcome
  }

  /** Rates against the previous sample, minus what kvtop itself sent in between. */
  private takeSample(
    info: NodeInfo,
    at: number,
    sentBeforeInfo: Record<string, number>,
    ownErrorsBeforeInfo: number,
  ): void {
    if (this.info && this.infoAt !== undefined) {
      this.prevInfo = this.info
      this.prevAt = this.infoAt
      this.rates = nodeRates({
        prev: this.info,
        cur: info,
        seconds: (at - this.infoAt) / 1000,
        ownCommands: diffCounts(sentBeforeInfo, this.sentAtPrevSample),
        ownErrors: ownErrorsBeforeInfo - (this.ownErrorsAtPrevSample ?? ownErrorsBeforeInfo),
      })
    }
    this.sentAtPrevSample = sentBeforeInfo
    this.ownErrorsAtPrevSample = ownErrorsBeforeInfo
    this.info = info
    this.infoAt = at
    this.state = 'ok'
    this.error = undefined
    this.lastSeenAt = at
  }

  /** The slowlog, followed by entry id; a burst larger than one read is read whole in the same round. */
  private async readSlowlog(
    slow: PollReply | undefined,
    info: NodeInfo,
    deadline: number,
    outcome: PollOutcome,
    at: number,
  ): Promise<void> {
    if (!slow || this.refuseIfDenied('slowlog', slow) || !slow.ok) return
    const requested = this.settings.slowlogCount ?? 32
    let result = this.slowCursor.accept(parseLogEntries(slow.value), requested, info.server.runId)
    if (result.needAll && Date.now() < deadline) {
      const more = await this.send([{ args: ['SLOWLOG', 'GET', '-1'], buffers: true }], deadline)
      if (more !== 'timeout' && more[0]?.ok)
        result = this.slowCursor.accept(parseLogEntries(more[0].value), -1, info.server.runId)
    }
    if (result.missed > 0) {
      outcome.events.push({
        type: 'slowlog-gap',
        at,
        severity: 'info',
        node: this.node.id,
        address: this.node.address,
        shard: this.node.shard,
        missed: result.missed,
        message: `${this.node.address}: ${result.missed} slowlog entries were trimmed or reset before they could be read`,
      })
    }
    outcome.slowlog = result.fresh.map((e) => toSlowlogEntry(e, this.node, info.server.runId))
  }

  /**
   * COMMANDLOG's size logs, each followed by entry id like the slowlog. A node whose version was
   * not known when the round's commands were chosen (its first round) is asked now, in the same
   * round, so that a one-shot read has them too.
   */
  private async readCommandLog(
    info: NodeInfo,
    byName: Map<string, PollReply>,
    deadline: number,
    outcome: PollOutcome,
    at: number,
  ): Promise<void> {
    const requested = this.settings.slowlogCount ?? 32
    const replies = new Map<LargeLogKind, PollReply>()
    for (const kind of LARGE_LOG_KINDS) {
      const r = byName.get(`COMMANDLOG GET ${kind}`)
      if (r) replies.set(kind, r)
    }
    if (!replies.size && this.wantsCommandLog(info) && Date.now() < deadline) {
      const more = await this.send(commandLogGets(requested), deadline)
      if (more !== 'timeout') LARGE_LOG_KINDS.forEach((kind, i) => more[i] && replies.set(kind, more[i]))
    }
    for (const [kind, r] of replies) {
      if (this.refuseIfDenied('commandlog', r) || !r.ok) continue
      this.commandLogRead = true
      let cursor = this.commandCursors.get(kind)
      if (!cursor) this.commandCursors.set(kind, (cursor = new LogCursor()))
      let result = cursor.accept(parseLogEntries(r.value), requested, info.server.runId)
      if (result.needAll && Date.now() < deadline) {
        const more = await this.send(commandLogGets(-1, [kind]), deadline)
        if (more !== 'timeout' && more[0]?.ok)
          result = cursor.accept(parseLogEntries(more[0].value), -1, info.server.runId)
      }
      if (result.missed > 0) {
        outcome.events.push({
          type: 'commandlog-gap',
          at,
          severity: 'info',
          node: this.node.id,
          address: this.node.address,
          shard: this.node.shard,
          kind,
          missed: result.missed,
          message: `${this.node.address}: ${result.missed} ${kind} entries were trimmed or reset before they could be read`,
        })
      }
      outcome.commandLog.push(
        ...result.fresh.map((e) => toCommandLogEntry(e, kind, this.node, info.server.runId)),
      )
    }
  }
}
