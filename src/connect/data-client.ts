import { Cluster, Redis } from 'ioredis'
import { redisOptions } from './client.js'
import type { Deployment } from './deployment.js'
import { keepTokenAuthenticated } from './iam.js'
import { translateAddress } from './nat-map.js'

/**
 * A general-purpose client for commands routed by key: ioredis Cluster for cluster mode (MOVED/ASK
 * handled by ioredis), a plain connection to the primary otherwise. For control and light traffic;
 * bulk data paths use the raw pipeline instead.
 */
export async function openDataClient(
  deployment: Deployment,
  options: { autoPipelining?: boolean } = {},
): Promise<Redis | Cluster> {
  const spec = deployment.spec
  if (deployment.topology.mode === 'cluster') {
    const natMap: Record<string, { host: string; port: number }> = {}
    for (const node of deployment.topology.nodes) {
      const to = translateAddress(spec.natMap, node)
      natMap[`${node.host}:${node.port}`] = to
    }
    const base = redisOptions(spec, undefined)
    const cluster = new Cluster(
      deployment.primaries.map((n) => translateAddress(spec.natMap, n)),
      {
        natMap,
        // ioredis 6's cluster auto-pipelining rejects batches that span slots; keep it off.
        enableAutoPipelining: false,
        slotsRefreshTimeout: spec.timeoutMs,
        enableOfflineQueue: true,
        redisOptions: {
          username: base.username,
          password: base.password,
          tls: base.tls,
          protocol: 2,
          connectTimeout: spec.timeoutMs,
          connectionName: base.connectionName,
          disableClientInfo: true,
        },
        lazyConnect: true,
      },
    )
    cluster.on('error', () => {})
    if (spec.iam) {
      const iam = spec.iam
      // Node connections opened later (slot moves, reconnects) take the current token, not the
      // one this client started with; open ones re-authenticate before the 12-hour limit.
      cluster.on('+node', (node: Redis) => keepTokenAuthenticated(node, iam))
      const timer = setInterval(() => {
        if (cluster.options.redisOptions) cluster.options.redisOptions.password = iam.current()
      }, 60_000)
      timer.unref()
      cluster.once('end', () => clearInterval(timer))
    }
    await cluster.connect()
    return cluster
  }
  const primary = deployment.primaries[0]
  const client = new Redis({
    ...redisOptions(spec, primary, { reconnect: true }),
    enableAutoPipelining: options.autoPipelining ?? false,
  })
  client.on('error', () => {})
  await client.connect()
  return client
}
