import type { MonitorEvent } from '../metrics/alerts.js'
import type { MonitorOptions } from '../metrics/engine.js'
import { DeploymentFeed, type ExportTarget } from './feed.js'
import { ExportRegistry } from './registry.js'
import { MetricsServer } from './server.js'

/** What the exporter tells the command, which presents it (text on stderr, or NDJSON). */
interface ExportListener {
  onEvent?(deployment: string, event: MonitorEvent): void
  onOpenFailed?(deployment: string, message: string, retryInMs: number): void
  onOpened?(deployment: string, nodes: number): void
}

/** A periodic side publisher (CloudWatch), fed from the same cached figures as /metrics. */
export interface SidePublisher {
  start(feeds: readonly DeploymentFeed[]): void
  stop(): Promise<void>
}

interface ExportOptions {
  targets: ExportTarget[]
  monitor: MonitorOptions
  listen: { host: string; port: number }
  listener?: ExportListener
  publishers?: SidePublisher[]
}

/**
 * `kvtop export`: one monitor engine per deployment, each polling on its own; /metrics and
 * /healthz served from their cached figures; side publishers (CloudWatch) fed from the same.
 */
export class Exporter {
  readonly feeds: DeploymentFeed[]
  private readonly registry: ExportRegistry
  private readonly server: MetricsServer

  constructor(private readonly options: ExportOptions) {
    this.feeds = options.targets.map((t) => new DeploymentFeed(t, options.monitor, options.listener))
    this.registry = new ExportRegistry(() => this.feeds)
    this.server = new MetricsServer({
      contentType: this.registry.contentType,
      scrape: () => this.registry.scrape(),
      health: () => ({
        deployments: this.feeds.length,
        polling: this.feeds.filter((f) => f.snapshot !== undefined && !f.openError).length,
      }),
    })
  }

  /** Listen first (a taken port fails before any connection), then start every feed. Returns the bound address. */
  async start(): Promise<string> {
    const address = await this.server.listen(this.options.listen.host, this.options.listen.port)
    for (const feed of this.feeds) feed.start()
    for (const p of this.options.publishers ?? []) p.start(this.feeds)
    return address
  }

  async stop(): Promise<void> {
    await this.server.close()
    await Promise.all([
      ...(this.options.publishers ?? []).map((p) => p.stop()),
      ...this.feeds.map((f) => f.stop()),
    ])
  }
}
