import { AwsClients } from '../aws/clients.js'
import { toAwsError } from '../aws/errors.js'
import { formatRetryNotice } from '../aws/retry.js'
import { redact } from '../redact.js'
import { batchMetricData, cloudWatchData, type PublishedCounts } from './cloudwatch-data.js'
import type { DeploymentView } from './samples.js'
import type { SidePublisher } from './service.js'

export interface CloudWatchPublisherOptions {
  namespace: string
  /** Between publications; below 60 s the metrics are high-resolution. */
  intervalMs: number
  region?: string
  profile?: string
  onPublished?: (result: PublishResult) => void
  /** A publication failed after its retries: the message, secrets removed. */
  onFailed?: (message: string) => void
  /** A call is retried (throttling, a transient error): what happened and when the retry comes. */
  onRetry?: (message: string) => void
  /** Clients to use (tests); by default made from region and profile. */
  clients?: AwsClients
}

export interface PublishResult {
  namespace: string
  metrics: number
  calls: number
  failedCalls: number
}

/**
 * `export --cloudwatch-namespace`: kvtop's figures as CloudWatch custom metrics, once per interval,
 * from the same cached rounds as /metrics. AWS errors are retried by the clients' retry strategy
 * (throttling backs off) and then reported; they never touch the Prometheus side.
 */
export class CloudWatchPublisher implements SidePublisher {
  private readonly clients: AwsClients
  private published: PublishedCounts = new Map()
  private timer?: NodeJS.Timeout
  private inFlight?: Promise<PublishResult>
  private feeds: readonly DeploymentView[] = []

  constructor(private readonly options: CloudWatchPublisherOptions) {
    this.clients =
      options.clients ??
      new AwsClients({
        region: options.region,
        profile: options.profile,
        onRetry: (n) => options.onRetry?.(redact(formatRetryNotice(n))),
      })
  }

  start(feeds: readonly DeploymentView[]): void {
    this.feeds = feeds
    this.timer = setInterval(() => {
      // A publication still running (AWS slow or throttling) is not doubled by the next one.
      if (!this.inFlight) this.inFlight = this.publish().finally(() => (this.inFlight = undefined))
    }, this.options.intervalMs)
  }

  /** One publication of every deployment's figures: as many PutMetricData calls as the limits need. */
  async publish(feeds: readonly DeploymentView[] = this.feeds, at = new Date()): Promise<PublishResult> {
    const round = cloudWatchData(feeds, at, this.published, this.options.intervalMs < 60_000)
    const batches = batchMetricData(round.data)
    let failedCalls = 0
    if (batches.length) {
      const { client, sdk } = await this.clients.cloudwatch()
      for (const batch of batches) {
        try {
          await client.send(
            new sdk.PutMetricDataCommand({ Namespace: this.options.namespace, MetricData: batch }),
          )
        } catch (err) {
          failedCalls++
          const mapped = toAwsError(err, {
            service: 'CloudWatch',
            operation: 'PutMetricData',
            region: this.options.region,
          })
          this.options.onFailed?.(
            redact(`PutMetricData of ${batch.length} metrics failed: ${mapped.message}`),
          )
        }
      }
    }
    // Counts are sent as increases: only once all of them reached CloudWatch does the base move.
    if (!failedCalls) this.published = round.counts
    const result = {
      namespace: this.options.namespace,
      metrics: round.data.length,
      calls: batches.length,
      failedCalls,
    }
    this.options.onPublished?.(result)
    return result
  }

  async stop(): Promise<void> {
    clearInterval(this.timer)
    await this.inFlight?.catch(() => undefined)
    this.clients.destroy()
  }
}
