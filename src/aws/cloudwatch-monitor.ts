import { lookup } from 'node:dns/promises'
import type { TopologyNode } from '../connect/topology.js'
import type { ExternalMetricsSource } from '../metrics/external.js'
import { AwsClients, type AwsClientOptions } from './clients.js'
import { CloudWatchSource, type CloudWatchMetric } from './cloudwatch.js'
import { discoverDeployment } from './discovery.js'
import { inferResourceFromHost } from './iam-token.js'
import type { AwsDeployment, CloudWatchNode } from './types.js'
import { parseEndpointUrl } from '../connect/endpoint.js'
import type { ConnectionInput } from '../connect/options.js'
import { UsageError } from '../errors.js'

export type Resolver = (host: string) => Promise<string[]>

const dnsResolver: Resolver = async (host) => (await lookup(host, { all: true })).map((a) => a.address)

function port(address: string | undefined): number | undefined {
  const m = /:(\d+)$/.exec(address ?? '')
  return m ? Number(m[1]) : undefined
}

function hostOf(address: string | undefined): string | undefined {
  return address
    ?.replace(/:\d+$/, '')
    .replace(/^\[(.*)\]$/, '$1')
    .toLowerCase()
}

/**
 * Which CloudWatch node is which topology node. By endpoint (host:port as announced), by the
 * first label of the announced hostname (ElastiCache and MemoryDB node endpoints start with the
 * cache cluster id / node name), and, for nodes known only by IP (cluster mode announces IPs), by
 * resolving the AWS node endpoints. Exported for tests.
 */
export async function matchNodes(
  topology: TopologyNode[],
  cloudwatch: CloudWatchNode[],
  resolve: Resolver = dnsResolver,
): Promise<Map<string, CloudWatchNode>> {
  const out = new Map<string, CloudWatchNode>()
  const byAddress = new Map(cloudwatch.filter((c) => c.address).map((c) => [c.address!.toLowerCase(), c]))
  const byId = new Map(cloudwatch.map((c) => [c.id.toLowerCase(), c]))
  const unmatched: TopologyNode[] = []
  for (const t of topology) {
    const candidates = [t.address, t.hostname ? `${t.hostname}:${t.port}` : undefined].filter(
      Boolean,
    ) as string[]
    let hit = candidates.map((a) => byAddress.get(a.toLowerCase())).find(Boolean)
    if (!hit) {
      const label = (t.hostname ?? t.host).toLowerCase().split('.')[0]
      hit = byId.get(label)
    }
    if (hit) out.set(t.id, hit)
    else unmatched.push(t)
  }
  if (unmatched.length) {
    const byIp = new Map<string, CloudWatchNode>()
    await Promise.all(
      cloudwatch
        .filter((c) => c.address)
        .map(async (c) => {
          try {
            for (const ip of await resolve(hostOf(c.address)!)) byIp.set(`${ip}:${port(c.address)}`, c)
          } catch {
            // An endpoint that does not resolve from here matches nothing.
          }
        }),
    )
    for (const t of unmatched) {
      const hit = byIp.get(`${t.host}:${t.port}`)
      if (hit) out.set(t.id, hit)
    }
  }
  return out
}

export interface CloudWatchMonitorOptions {
  aws?: AwsClientOptions
  clients?: AwsClients
  metrics?: CloudWatchMetric[]
  resolve?: Resolver
  now?: () => number
}

/**
 * The monitor's CloudWatch source (src/metrics ExternalMetricsSource) for one deployment looked
 * up at AWS: per topology node, the latest CloudWatch figures by kvtop metric name (cpu,
 * engineCpu, bytesUsed, hits, replicationLag ...). Serverless caches have no nodes: their
 * figures come under the cache name. Nodes that match no topology node come under their AWS id.
 */
export class CloudWatchMonitorSource implements ExternalMetricsSource {
  readonly name = 'cloudwatch'
  readonly intervalMs = 60_000
  private readonly clients: AwsClients
  private readonly source: CloudWatchSource
  private mapping: { key: string; map: Map<string, CloudWatchNode> } | undefined

  constructor(
    private readonly deployment: AwsDeployment,
    private readonly options: CloudWatchMonitorOptions = {},
  ) {
    this.clients = options.clients ?? new AwsClients({ region: deployment.region, ...options.aws })
    this.source = new CloudWatchSource({
      clients: this.clients,
      ...(options.metrics ? { metrics: options.metrics } : {}),
      ...(options.now ? { now: options.now } : {}),
    })
  }

  async poll(nodes: TopologyNode[]): Promise<Map<string, Record<string, number>>> {
    const cw = this.deployment.cloudwatch.nodes
    const key = nodes.map((n) => `${n.id}@${n.address}`).join(',')
    if (this.mapping?.key !== key) {
      this.mapping = { key, map: await matchNodes(nodes, cw, this.options.resolve) }
    }
    const samples = await this.source.poll(cw)
    const out = new Map<string, Record<string, number>>()
    const claimed = new Set<string>()
    for (const [topologyId, c] of this.mapping.map) {
      out.set(topologyId, { ...samples.get(c.id) })
      claimed.add(c.id)
    }
    for (const c of cw) if (!claimed.has(c.id)) out.set(c.id, { ...samples.get(c.id) })
    return out
  }

  close(): void {
    if (!this.options.clients) this.clients.destroy()
  }
}

/**
 * The CloudWatch source behind `--cloudwatch`: the deployment AWS described (--elasticache,
 * --serverless, --memorydb), or the one the endpoint's AWS host name names.
 */
export async function cloudWatchSourceFor(
  endpoint: { aws?: AwsDeployment; input: ConnectionInput },
  account: AwsClientOptions,
): Promise<CloudWatchMonitorSource> {
  if (endpoint.aws) return new CloudWatchMonitorSource(endpoint.aws, { aws: account })
  const host = endpoint.input.url ? parseEndpointUrl(endpoint.input.url).host : undefined
  const inferred = host ? inferResourceFromHost(host) : undefined
  if (!inferred) {
    throw new UsageError(
      "--cloudwatch needs the deployment's AWS identity, and the endpoint's name does not say it",
      {
        hint: 'Add --elasticache REPLICATION_GROUP, --serverless CACHE or --memorydb CLUSTER (with --region).',
      },
    )
  }
  const clients = new AwsClients({ ...account, region: account.region ?? inferred.region })
  try {
    const kind =
      inferred.service === 'memorydb' ? 'memorydb' : inferred.serverless ? 'serverless' : 'elasticache'
    const aws = await discoverDeployment(clients, { kind, name: inferred.name })
    return new CloudWatchMonitorSource(aws, { aws: { ...account, region: account.region ?? aws.region } })
  } finally {
    clients.destroy()
  }
}
