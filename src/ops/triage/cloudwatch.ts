import type { AwsClientOptions } from '../../aws/clients.js'
import type { AwsDeployment } from '../../aws/types.js'
import { errorMessage } from '../../errors.js'
import type { CloudWatchSummary } from './types.js'

/**
 * The worst value of each CloudWatch metric per node over the last `hours` (maximum of the
 * period figures). The AWS SDK is loaded only when a triage knows its AWS identity.
 */
export async function cloudWatchHistory(
  aws: AwsDeployment,
  account: AwsClientOptions,
  hours = 3,
): Promise<CloudWatchSummary> {
  try {
    const { CloudWatchSource } = await import('../../aws/cloudwatch.js')
    const { AwsClients } = await import('../../aws/clients.js')
    const clients = new AwsClients({ ...account, region: account.region ?? aws.region })
    try {
      const history = await new CloudWatchSource({ clients }).fetchHistory(aws.cloudwatch.nodes, hours)
      const nodes: CloudWatchSummary['nodes'] = {}
      for (const [id, byMetric] of history) {
        const worst: Record<string, number> = {}
        for (const [metric, points] of Object.entries(byMetric)) {
          if (points?.length) worst[metric] = Math.max(...points.map((p) => p.value))
        }
        nodes[id] = worst
      }
      const addresses: Record<string, string> = {}
      for (const c of aws.cloudwatch.nodes) if (c.address) addresses[c.id] = c.address
      return { hours, nodes, ...(Object.keys(addresses).length ? { addresses } : {}) }
    } finally {
      clients.destroy()
    }
  } catch (err) {
    return { hours, nodes: {}, error: errorMessage(err) }
  }
}
