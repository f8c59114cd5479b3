import { PollLoop } from './poll-loop.js'
import type { ConnectionSpec } from '../connect/client.js'
import type { Topology } from '../connect/topology.js'
import {
  AlertTracker,
  DEFAULT_THRESHOLDS,
  type Alert,
  type AlertThresholds,
  type MonitorEvent,
} from './alerts.js'
import { ioredisFactory, type ConnectionFactory } from './connection.js'
import { ExternalRunner, type ExternalMetricsSource } from './external.js'
import { RingBuffer, SeriesStore } from './history.js'
import { NodePoller, type PollerSettings } from './node-poller.js'
import { buildSnapshot } from './snapshot-builder.js'
import { offsetSeries, recordCharts, recordPrimaryOffsets } from './snapshot-history.js'
import { CommandLogStore, SlowlogStore } from './log-merge.js'
import { type LargeLogKind } from './log-reply.js'
import { type SlowlogEntry } from './slowlog.js'
import { TopologyTracker } from './topology-tracker.js'
import type { CommandLogSnapshot, Snapshot } from './types.js'

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

type Listener = (snapshot: Snapshot) => void

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
 * The metrics engine: one poller per node, one pipelined round per node per interval, every node
 * bounded by its own timeout so that a slow or dead node never holds up the others. Schedules the
 * rounds, follows the topology, merges the logs, keeps history in ring buffers and hands each
 * round's snapshot (rates, the replication model, alerts and events) to its listener.
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
  private readonly states = new Map<string, NodePoller>()
  private readonly alerts: AlertTracker
  private readonly pollerSettings: PollerSettings
  private readonly external?: ExternalRunner
  private readonly tracker: TopologyTracker
  private roundNo = 0
  private latestSnapshot?: Snapshot
  private readonly loop: PollLoop<Snapshot>
  private closed = false
  private current?: Promise<Snapshot>
  private readonly pendingEvents: MonitorEvent[] = []
  readonly timeoutMs: number
  /** How long opening a connection may take (the connection spec's timeout). */
  readonly connectTimeoutMs: number
  readonly concurrency: number

  constructor(
    /** How the nodes are reached (the endpoint that answered discovery, the NAT map). */
    readonly spec: ConnectionSpec | undefined,
    topology: Topology,
    readonly options: MonitorOptions,
  ) {
    if (!spec && !options.connect)
      throw new Error('MonitorEngine needs a connection spec or a connection factory')
    this.connectTimeoutMs = spec?.timeoutMs ?? 5000
    this.tracker = new TopologyTracker(topology)
    this.loop = new PollLoop(options.intervalMs)
    this.timeoutMs = options.timeoutMs ?? Math.max(100, Math.min(5000, Math.round(options.intervalMs * 0.8)))
    this.concurrency = options.concurrency ?? 128
    this.history = new SeriesStore(options.historySize ?? 300)
    this.alerts = new AlertTracker({ ...DEFAULT_THRESHOLDS, ...options.thresholds })
    this.pollerSettings = {
      factory: options.connect ?? ioredisFactory(spec!),
      timeoutMs: this.timeoutMs,
      slowlog: options.slowlog,
      slowlogCount: options.slowlogCount,
      commandlog: options.commandlog,
      latency: options.latency,
      reconnectBaseMs: options.reconnectBaseMs,
      reconnectMaxMs: options.reconnectMaxMs,
      isOpen: () => !this.closed,
    }
    if (options.external) {
      this.external = new ExternalRunner(
        options.external,
        () => this.tracker.topology.nodes,
        (e) => this.pendingEvents.push(e),
      )
    }
    for (const n of topology.nodes) this.states.set(n.id, new NodePoller(n, this.pollerSettings))
  }

  get topology(): Topology {
    return this.tracker.topology
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
    for (const s of this.states.values()) s.ensureConnection()
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

  /** Whether any node has answered COMMANDLOG GET (Valkey 8.1+). */
  get hasCommandLog(): boolean {
    return [...this.states.values()].some((s) => s.commandLogRead)
  }

  /**
   * Each node's COMMANDLOG: `yes` (a read answered), `no` (its version has none, or it refused the
   * command), `unknown` (not read yet).
   */
  commandLogSupport(): { node: string; address: string; support: 'yes' | 'no' | 'unknown' }[] {
    return this.topology.nodes.map((n) => {
      const s = this.states.get(n.id)
      const support = s?.commandLogRead === true ? 'yes' : s?.commandLogAbsent ? 'no' : 'unknown'
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

  private async round(): Promise<Snapshot> {
    const started = Date.now()
    const round = ++this.roundNo
    const pollers = [...this.states.values()]
    const cluster = this.tracker.cluster
    const source = this.tracker.pickSource(pollers)
    const outcomes = await mapLimit(pollers, this.concurrency, (p) => p.poll(round, cluster, p === source))
    const at = Date.now()
    const events: MonitorEvent[] = this.pendingEvents.splice(0)
    for (const o of outcomes) events.push(...o.events)

    // Topology: the cluster's view, refreshed from a node that contradicts it (a role change) first.
    const next = await this.tracker.observe(outcomes, this.timeoutMs)
    if (next && next.nodes.length) {
      this.reconcilePollers(next)
      events.push(...this.tracker.advance(next, at))
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

    const snapshot = this.snapshotOf(at, Date.now() - started, events, freshSlow, freshLog)
    this.roundTimes.push(snapshot.roundMs)
    this.latestSnapshot = snapshot
    return snapshot
  }

  /** pollers follow the topology: new nodes get one, departed nodes' pollers and series go. */
  private reconcilePollers(next: Topology): void {
    const nextIds = new Set(next.nodes.map((n) => n.id))
    for (const [id, s] of [...this.states]) {
      if (nextIds.has(id)) continue
      this.states.delete(id)
      s.retire()
      this.history.drop(`${id}:`)
    }
    for (const n of next.nodes) {
      const s = this.states.get(n.id)
      if (!s) this.states.set(n.id, new NodePoller(n, this.pollerSettings))
      else s.moveTo(n)
    }
  }

  private snapshotOf(
    at: number,
    roundMs: number,
    events: MonitorEvent[],
    slowlog: SlowlogEntry[],
    commandLog?: CommandLogSnapshot,
  ): Snapshot {
    const topology = this.topology
    recordPrimaryOffsets(this.history, topology, this.states)
    const built = buildSnapshot({
      at,
      round: this.roundNo,
      intervalMs: this.options.intervalMs,
      roundMs,
      topology,
      readings: this.states,
      primaryOffsets: (id) => this.history.get(offsetSeries(id)),
      external: this.external?.latest(),
      events,
      slowlog,
      commandLog,
    })
    for (const [id, offset] of built.replicaOffsets) this.states.get(id)!.lastKnownOffset = offset
    const { active, events: alertEvents } = this.alerts.evaluate(built.alertInput)
    built.snapshot.alerts = active as Alert[]
    events.push(...alertEvents)
    recordCharts(this.history, built.snapshot)
    return built.snapshot
  }

  // -------------------------------------------------------------------------------------------
  // Running

  /** Poll every interval until stop(); each snapshot goes to `listener`. */
  start(listener: Listener, onError?: (err: unknown) => void): void {
    if (this.loop.running) return
    this.external?.start()
    this.loop.start(() => this.poll(), listener, onError)
  }

  /** Stop polling and close every connection. */
  async stop(): Promise<void> {
    this.loop.stop()
    this.closed = true
    this.external?.stop()
    if (this.current)
      await Promise.race([
        this.current.catch(() => undefined),
        new Promise((r) => setTimeout(r, this.timeoutMs + 500)),
      ])
    const pending = [...this.states.values()].map((s) => s.connecting).filter(Boolean)
    await Promise.race([Promise.all(pending), new Promise((r) => setTimeout(r, 1000))])
    await Promise.all([...this.states.values()].map((s) => s.close()))
  }
}
