import { toMs } from '../flags.js'
/**
 * The monitor as `status` and `top` open it when the deployment may be at AWS: CloudWatch beside
 * the nodes, or CloudWatch alone when the nodes cannot be reached. The monitor engine below knows
 * an external source only by its interface; the choice of CloudWatch is made here.
 */
import type { ConnectionInput } from '../connect/options.js'
import { KvtopError } from '../errors.js'
import type { MonitorEngine, MonitorOptions } from '../metrics/engine.js'
import type { ExternalMetricsSource } from '../metrics/external.js'
import { openMonitor, sampleStatus, statusJson } from '../metrics/service.js'
import type { Snapshot } from '../metrics/types.js'
import { CloudWatchOnlyMonitor, dataPlaneUnreachable, withConnectHint } from './cloudwatch-only.js'
import type { AwsDeployment } from './types.js'

/** What `status` and `top` watch: the nodes themselves, or (unreachable from here) CloudWatch alone. */
type MonitorFeed =
  | { live: MonitorEngine; cloudwatchOnly?: undefined }
  | { live?: undefined; cloudwatchOnly: CloudWatchOnlyMonitor }

/**
 * Open the monitor; when the deployment was named through AWS and its nodes cannot be reached
 * from here (timeout, refused, DNS, no route: a laptop outside the VPC), fall back to CloudWatch
 * alone, read once before returning. Without a CloudWatch source (no --cloudwatch), or when
 * CloudWatch cannot be read either, the connection error stands (exit 3), its hint saying so.
 */
export async function openMonitorOrCloudWatch(
  endpoint: { aws?: AwsDeployment; input: ConnectionInput },
  options: MonitorOptions,
): Promise<MonitorFeed> {
  try {
    return { live: await openMonitor(endpoint.input, options) }
  } catch (err) {
    const dataPlane = endpoint.aws ? dataPlaneUnreachable(err) : undefined
    if (!dataPlane || !endpoint.aws) {
      await options.external?.close?.()
      throw err
    }
    const connectError = err as KvtopError
    if (!options.external) {
      throw withConnectHint(
        connectError,
        'From outside the VPC CloudWatch still answers: add --cloudwatch to see its figures for every node.',
      )
    }
    const monitor = new CloudWatchOnlyMonitor(endpoint.aws, options.external, dataPlane, {
      intervalMs: options.intervalMs,
    })
    const first = await monitor.poll()
    if (first.external?.at === undefined) {
      await monitor.stop()
      throw withConnectHint(
        connectError,
        `CloudWatch could not be read either: ${first.external?.error ?? 'no answer'}`,
      )
    }
    return { cloudwatchOnly: monitor }
  }
}

/**
 * `status` and `top`: CloudWatch beside the nodes when asked (`--cloudwatch`), then the live
 * monitor or, where the nodes cannot be reached from here, CloudWatch alone.
 */
export async function openStatusFeed(
  endpoint: { aws?: AwsDeployment; input: ConnectionInput },
  options: Omit<MonitorOptions, 'external'> & { cloudwatch?: { region?: string; profile?: string } },
): Promise<MonitorFeed> {
  const { cloudwatch, ...monitor } = options
  const external = cloudwatch ? await openCloudWatchSource(endpoint, cloudwatch) : undefined
  return openMonitorOrCloudWatch(endpoint, { ...monitor, ...(external ? { external } : {}) })
}

/**
 * The CloudWatch source for `--cloudwatch`. The AWS SDK is loaded only here, so monitoring without
 * CloudWatch never pays for it.
 */
export async function openCloudWatchSource(
  endpoint: { aws?: AwsDeployment; input: ConnectionInput },
  account: { region?: string; profile?: string },
): Promise<ExternalMetricsSource> {
  const { cloudWatchSourceFor } = await import('./cloudwatch-monitor.js')
  return cloudWatchSourceFor(endpoint, account)
}

/** One status document from a feed opened for it, the feed stopped afterwards whatever happens. */
export async function readStatusOnce(feed: MonitorFeed): Promise<Snapshot> {
  if (feed.cloudwatchOnly) {
    await feed.cloudwatchOnly.stop()
    return feed.cloudwatchOnly.latest!
  }
  try {
    const result = await sampleStatus(feed.live)
    // In a fleet, a deployment none of whose nodes answered did not answer.
    if (result.failure) throw result.failure
    return statusJson(result, feed.live)
  } finally {
    await feed.live.stop()
  }
}

/** What `status` and `top` (and their fleets) poll with, from their shared flags. */
export interface FeedFlags {
  cloudwatch?: boolean
  region?: string
  'aws-profile'?: string
  /** Seconds between polls. */
  interval: number
  'lag-alert': number
}

export function feedOptionsFromFlags(flags: FeedFlags) {
  return {
    ...(flags.cloudwatch ? { cloudwatch: { region: flags.region, profile: flags['aws-profile'] } } : {}),
    intervalMs: toMs(flags.interval),
    thresholds: { lagSeconds: flags['lag-alert'] },
  }
}
