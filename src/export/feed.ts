import type { AwsConnectionResult } from '../aws/target.js'
import { retryWithBackoff, type BackoffSchedule } from '../backoff.js'
import { errorMessage } from '../errors.js'
import type { MonitorEvent } from '../metrics/alerts.js'
import type { MonitorEngine, MonitorOptions } from '../metrics/engine.js'
import { openMonitor } from '../metrics/service.js'
import type { NodeInfo } from '../metrics/node-info.js'
import type { Snapshot } from '../metrics/types.js'
import { redact } from '../redact.js'
import { InfoTap } from './info-tap.js'
import type { DeploymentView, PatternTally } from './samples.js'

/** One deployment to export, as named on the command line. */
export interface ExportTarget {
  /** The `deployment` label: a profile or AWS name, or the URL's host:port; never a password. */
  name: string
  /** host:port of the seed node when known without AWS: shown down until the first connect. */
  seedAddress?: string
  /** Where to connect; AWS lookups happen here, in the background of the feed. */
  resolve(): Promise<AwsConnectionResult>
}

/** What the feed tells the exporter: events of its rounds, and why it cannot poll (yet). */
interface FeedListener {
  onEvent?(deployment: string, event: MonitorEvent): void
  onOpenFailed?(deployment: string, message: string, retryInMs: number): void
  onOpened?(deployment: string, nodes: number): void
}

/** Retries of a deployment that cannot be opened yet: 1 s doubling to 30 s. */
const OPEN_RETRY: BackoffSchedule = { firstMs: 1000, maxMs: 30_000 }

/** Distinct slowlog patterns counted per deployment; the rest are counted as `(other)`. */
const MAX_PATTERNS = 200

/**
 * One deployment under export: its own monitor engine (the engine of `top`), polling on its own
 * schedule, so that a slow or dead deployment never delays another. Until the deployment can be
 * reached the feed retries in the background with back-off; its figures say it is down.
 */
export class DeploymentFeed implements DeploymentView {
  readonly name: string
  readonly seedAddress?: string
  snapshot?: Snapshot
  readonly events = new Map<string, number>()
  readonly slowlog = new Map<string, PatternTally>()
  /** Why the deployment is not polled, while it is not. */
  openError?: string
  private readonly tap = new InfoTap()
  private engine?: MonitorEngine
  private connection?: AwsConnectionResult
  private readonly stopping = new AbortController()
  private opening?: Promise<void>

  constructor(
    private readonly target: ExportTarget,
    private readonly options: MonitorOptions,
    private readonly listener: FeedListener = {},
  ) {
    this.name = target.name
    this.seedAddress = target.seedAddress
  }

  get staleAfterMs(): number {
    const timeout = this.engine?.timeoutMs ?? this.options.intervalMs
    return 3 * this.options.intervalMs + timeout
  }

  info(address: string): NodeInfo | undefined {
    return this.tap.latest(address)?.info
  }

  /** Start polling (or trying to connect); returns at once. */
  start(): void {
    this.opening = retryWithBackoff(() => this.open(), {
      ...OPEN_RETRY,
      signal: this.stopping.signal,
      onFailure: (err, retryInMs) => {
        this.openError = redact(errorMessage(err))
        this.listener.onOpenFailed?.(this.name, this.openError, retryInMs)
      },
    }).then(() => undefined)
  }

  private async open(): Promise<void> {
    try {
      this.connection = await this.target.resolve()
      const engine = await openMonitor(this.connection.input, this.options, (f) => this.tap.wrap(f))
      if (this.stopping.signal.aborted) {
        await engine.stop()
        return
      }
      this.engine = engine
      this.openError = undefined
      this.listener.onOpened?.(this.name, engine.topology.nodes.length)
      engine.start(
        (snap) => this.accept(snap),
        (err) => (this.openError = redact(errorMessage(err))),
      )
    } catch (err) {
      this.connection?.close()
      this.connection = undefined
      throw err
    }
  }

  private accept(snap: Snapshot): void {
    this.snapshot = snap
    for (const e of snap.events) {
      this.events.set(e.type, (this.events.get(e.type) ?? 0) + 1)
      this.listener.onEvent?.(this.name, e)
    }
    for (const entry of snap.slowlog) {
      const shown = redact(entry.pattern)
      const pattern = this.slowlog.has(shown) || this.slowlog.size < MAX_PATTERNS ? shown : '(other)'
      const t = this.slowlog.get(pattern) ?? { count: 0, totalUs: 0 }
      t.count++
      t.totalUs += entry.durationUs
      this.slowlog.set(pattern, t)
    }
    this.tap.retain(new Set(snap.nodes.map((n) => n.address)))
  }

  async stop(): Promise<void> {
    this.stopping.abort()
    // An open in progress ends on its own (its connect is bounded by --timeout) and stops what it opened.
    await Promise.race([this.opening, new Promise((r) => setTimeout(r, 100))])
    await this.engine?.stop()
    this.connection?.close()
  }
}
