import type { TopologyNode } from '../connect/topology.js'
import { errorMessage } from '../errors.js'
import type { MonitorEvent } from './alerts.js'
import type { ExternalMetrics } from './types.js'

/**
 * A source of per-node metrics from outside the servers (CloudWatch). The engine polls it on the
 * source's own schedule, never inside a round: a slow API call does not delay the nodes' polls.
 */
export interface ExternalMetricsSource {
  /** Shown in the dashboard panel and in `status --json` (`external.source`), e.g. 'cloudwatch'. */
  readonly name: string
  /** How often to poll (CloudWatch: 60 s resolution). */
  readonly intervalMs: number
  /** nodeId -> metric name -> latest value, for the nodes it knows. */
  poll(nodes: TopologyNode[]): Promise<Map<string, Record<string, number>>>
  close?(): Promise<void> | void
}

/** Runs an external source in the background and keeps its latest answer. */
export class ExternalRunner {
  private value: ExternalMetrics
  private timer?: NodeJS.Timeout
  private running = false
  private inFlight?: Promise<void>

  constructor(
    private readonly source: ExternalMetricsSource,
    private readonly nodes: () => TopologyNode[],
    private readonly onEvent: (e: MonitorEvent) => void,
  ) {
    this.value = { source: source.name, nodes: {} }
  }

  latest(): ExternalMetrics {
    return this.value
  }

  /** One poll now (also used by one-shot `status`). */
  async refresh(): Promise<void> {
    if (this.inFlight) return this.inFlight
    this.inFlight = (async () => {
      try {
        const result = await this.source.poll(this.nodes())
        this.value = { source: this.source.name, at: Date.now(), nodes: Object.fromEntries(result) }
      } catch (err) {
        const message = errorMessage(err)
        if (this.value.error !== message) {
          this.onEvent({
            type: 'error',
            at: Date.now(),
            severity: 'warning',
            source: this.source.name,
            message: `${this.source.name}: ${message}`,
          })
        }
        this.value = { ...this.value, error: message }
      }
    })().finally(() => {
      this.inFlight = undefined
    })
    return this.inFlight
  }

  start(): void {
    if (this.running) return
    this.running = true
    const tick = () => {
      if (!this.running) return
      void this.refresh().finally(() => {
        if (this.running) this.timer = setTimeout(tick, this.source.intervalMs)
      })
    }
    tick()
  }

  stop(): void {
    this.running = false
    if (this.timer) clearTimeout(this.timer)
    void this.source.close?.()
  }
}
