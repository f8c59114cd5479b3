import type { AwsClientOptions } from '../../aws/clients.js'
import type { CloudWatchHistory } from '../../aws/cloudwatch.js'
import type { AwsDeployment } from '../../aws/types.js'
import { errorMessage } from '../../errors.js'
import type { CloudWatchSeries, CloudWatchSummary } from './types.js'

/**
 * CloudWatch over the last `hours` for every node: each metric's series (one value per period,
 * null where CloudWatch has none), its worst value and when that was. The AWS SDK is loaded only
 * when a triage knows its AWS identity.
 */
export async function cloudWatchHistory(
  aws: AwsDeployment,
  account: AwsClientOptions,
  hours = 3,
): Promise<CloudWatchSummary> {
  try {
    const { CloudWatchSource, HISTORY_METRICS } = await import('../../aws/cloudwatch.js')
    const { AwsClients } = await import('../../aws/clients.js')
    const clients = new AwsClients({ ...account, region: account.region ?? aws.region })
    try {
      const source = new CloudWatchSource({ clients, metrics: HISTORY_METRICS })
      const window = source.historyWindow(hours)
      const history = await source.fetchHistory(aws.cloudwatch.nodes, hours, window)
      const summary = summarizeHistory(history, window)
      const addresses: Record<string, string> = {}
      for (const c of aws.cloudwatch.nodes) if (c.address) addresses[c.id] = c.address
      return { hours, ...summary, ...(Object.keys(addresses).length ? { addresses } : {}) }
    } finally {
      clients.destroy()
    }
  } catch (err) {
    return { hours, nodes: {}, error: errorMessage(err) }
  }
}

/** Worst values, their times, and the series laid out on the window's periods. */
function summarizeHistory(
  history: Map<string, CloudWatchHistory>,
  window: { periodSeconds: number; startMs: number; endMs: number },
): Pick<CloudWatchSummary, 'nodes' | 'peaks' | 'series'> {
  const periodMs = window.periodSeconds * 1000
  const slots = Math.max(0, Math.round((window.endMs - window.startMs) / periodMs))
  const nodes: CloudWatchSummary['nodes'] = {}
  const peaks: NonNullable<CloudWatchSummary['peaks']> = {}
  const series: NonNullable<CloudWatchSummary['series']> = {}
  for (const [id, byMetric] of history) {
    nodes[id] = {}
    peaks[id] = {}
    series[id] = {}
    for (const [metric, points] of Object.entries(byMetric)) {
      if (!points?.length) continue
      // The first period at the maximum: when it began.
      const peak = points.reduce((best, p) => (p.value > best.value ? p : best))
      nodes[id][metric] = peak.value
      peaks[id][metric] = { value: peak.value, at: peak.at }
      const values: CloudWatchSeries['values'] = new Array<number | null>(slots).fill(null)
      for (const p of points) {
        const i = Math.round((p.at - window.startMs) / periodMs)
        if (i >= 0 && i < slots) values[i] = p.value
      }
      series[id][metric] = { start: window.startMs, periodSeconds: window.periodSeconds, values }
    }
  }
  return { nodes, peaks, series }
}
