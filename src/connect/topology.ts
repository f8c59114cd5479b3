import type { Redis } from 'ioredis'
import { formatAddress } from './endpoint.js'
import type { ConnectionSpec, NodeAddress } from '../wire/spec.js'
import { parseInfo, parseInfoReplicas } from '../redis/info.js'
import { errorMessage } from '../errors.js'
import { refusalReason } from '../wire/classify.js'
import { mapConnectError } from '../wire/connect-errors.js'
import { nodeDialOptions } from '../wire/dial.js'
import {
  countSlots,
  parseClusterNodes,
  parseClusterShards,
  type ClusterNodeRecord,
  type SlotRange,
} from './cluster-parsers.js'

export type DeploymentMode = 'standalone' | 'replicated' | 'cluster'
export type NodeHealth = 'online' | 'loading' | 'failed' | 'pfail' | 'handshake' | 'noaddr' | 'unknown'

export interface TopologyNode {
  /** Cluster node id, or host:port outside cluster mode. */
  id: string
  host: string
  port: number
  address: string
  role: 'primary' | 'replica'
  /** Shard index, 0-based, ordered by each shard's first slot (standalone: 0). */
  shard: number
  primaryId?: string
  slots: SlotRange[]
  up: boolean
  health: NodeHealth
  hostname?: string
  importing?: { slot: number; from: string }[]
  migrating?: { slot: number; to: string }[]
}

export interface TopologyShard {
  index: number
  primaryId?: string
  slots: SlotRange[]
  nodeIds: string[]
}

export interface Topology {
  mode: DeploymentMode
  nodes: TopologyNode[]
  shards: TopologyShard[]
  /** Slots served by some primary (cluster mode); 16384 means full coverage. */
  slotsCovered?: number
  clusterState?: string
}

/**
 * What discovery needs of a connection to one node, whichever client holds it (ioredis for a
 * Deployment, kvtop's own wire layer for a one-shot target, see target.ts): replies with bulk
 * strings as text, an error reply rejecting.
 */
export interface DiscoveryLink {
  call(...args: string[]): Promise<unknown>
  /** A connection to another node of the deployment (the primary of a replica seed). */
  openPeer(node: NodeAddress): Promise<DiscoveryLink>
  close(): Promise<void>
}

/** Discover the whole deployment from an ioredis connection to any one of its nodes. */
export async function discoverTopology(spec: ConnectionSpec, seed: Redis): Promise<Topology> {
  return discoverVia(spec, ioredisLink(spec, seed))
}

/** An ioredis connection as a DiscoveryLink (connect/client.js, and so ioredis, is loaded only here). */
function ioredisLink(spec: ConnectionSpec, client: Redis, owned = false): DiscoveryLink {
  return {
    call: (...args) => client.call(args[0], ...args.slice(1)),
    openPeer: async (node) => {
      const { openNode } = await import('./client.js')
      return ioredisLink(spec, await openNode(spec, node, { commandTimeoutMs: spec.timeoutMs }), true)
    },
    close: async () => {
      if (!owned) return
      const { closeQuietly } = await import('./client.js')
      await closeQuietly(client)
    },
  }
}

/** Discover the whole deployment from a connection to any one of its nodes. */
export async function discoverVia(spec: ConnectionSpec, seed: DiscoveryLink): Promise<Topology> {
  try {
    const info = parseInfo(String(await seed.call('INFO')))
    if (info.cluster_enabled === '1')
      return await discoverCluster(seed, spec.endpoint.host, spec.endpoint.port)
    return await discoverReplicated(spec, seed, info)
  } catch (err) {
    // A user the ACL denies INFO or CLUSTER cannot be monitored: exit 3 naming the grant, not a crash.
    if (refusalReason(errorMessage(err)) === 'acl')
      throw mapConnectError(err, nodeDialOptions(spec, spec.endpoint).context)
    throw err
  }
}

async function discoverCluster(seed: DiscoveryLink, seedHost: string, seedPort: number): Promise<Topology> {
  const clusterInfo = parseInfo(String(await seed.call('CLUSTER', 'INFO')))
  // CLUSTER NODES carries importing/migrating slots and link flags, which SHARDS lacks; SHARDS
  // carries announced endpoints and hostnames. Read both where possible.
  const nodesText = String(await seed.call('CLUSTER', 'NODES'))
  let records = parseClusterNodes(nodesText)
  try {
    const shards = parseClusterShards(await seed.call('CLUSTER', 'SHARDS'))
    const byId = new Map(shards.flatMap((s) => s.nodes).map((n) => [n.id, n]))
    records = records.map((r) => {
      const s = byId.get(r.id)
      return s ? { ...r, endpoint: s.endpoint || r.ip, ...(s.hostname ? { hostname: s.hostname } : {}) } : r
    })
  } catch {
    // Redis < 7: CLUSTER NODES alone.
  }
  for (const r of records) {
    // A node that has not met others reports an empty ip for itself: it is the seed.
    if (!r.endpoint) r.endpoint = r.myself ? seedHost : r.ip
    if (!r.ip && r.myself) r.ip = seedHost
  }
  return buildClusterTopology(records, clusterInfo.cluster_state, seedPort)
}

export function buildClusterTopology(
  records: ClusterNodeRecord[],
  clusterState: string | undefined,
  _seedPort?: number,
): Topology {
  const primaries = records.filter((r) => r.role === 'primary' && !r.flags.includes('noaddr'))
  // Shards ordered by first slot; slot-less primaries last, by address.
  primaries.sort((a, b) => {
    const sa = a.slots[0]?.[0] ?? 1e6
    const sb = b.slots[0]?.[0] ?? 1e6
    return sa - sb || `${a.endpoint}:${a.port}`.localeCompare(`${b.endpoint}:${b.port}`)
  })
  const shardOf = new Map<string, number>()
  primaries.forEach((p, i) => shardOf.set(p.id, i))
  const nodes: TopologyNode[] = records
    .filter((r) => r.role === 'primary' || r.primaryId)
    .map((r) => {
      const shard = r.role === 'primary' ? shardOf.get(r.id) : shardOf.get(r.primaryId!)
      const up = r.health === 'online' || r.health === 'loading'
      return {
        id: r.id,
        host: r.endpoint,
        port: r.port,
        address: formatAddress(r.endpoint, r.port),
        role: r.role,
        shard: shard ?? -1,
        ...(r.primaryId && r.role === 'replica' ? { primaryId: r.primaryId } : {}),
        slots: r.role === 'primary' ? r.slots : [],
        up,
        health: r.health,
        ...(r.hostname ? { hostname: r.hostname } : {}),
        ...(r.importing.length ? { importing: r.importing } : {}),
        ...(r.migrating.length ? { migrating: r.migrating } : {}),
      }
    })
  nodes.sort(
    (a, b) =>
      a.shard - b.shard ||
      (a.role === b.role ? a.address.localeCompare(b.address) : a.role === 'primary' ? -1 : 1),
  )
  const shards: TopologyShard[] = primaries.map((p, i) => ({
    index: i,
    primaryId: p.id,
    slots: p.slots,
    nodeIds: nodes.filter((n) => n.shard === i).map((n) => n.id),
  }))
  return {
    mode: 'cluster',
    nodes,
    shards,
    slotsCovered: primaries.filter((p) => p.health !== 'failed').reduce((n, p) => n + countSlots(p.slots), 0),
    ...(clusterState ? { clusterState } : {}),
  }
}

async function discoverReplicated(
  spec: ConnectionSpec,
  seed: DiscoveryLink,
  seedInfo: Record<string, string>,
): Promise<Topology> {
  let primaryInfo = seedInfo
  let primaryHost = spec.endpoint.host
  let primaryPort = spec.endpoint.port
  const nodes: TopologyNode[] = []
  if (seedInfo.role === 'slave' && seedInfo.master_host) {
    // Started from a replica: the primary holds the full picture.
    primaryHost = seedInfo.master_host
    primaryPort = Number(seedInfo.master_port)
    let primary: DiscoveryLink | undefined
    try {
      primary = await seed.openPeer({ host: primaryHost, port: primaryPort })
      primaryInfo = parseInfo(String(await primary.call('INFO', 'replication')))
    } catch {
      primaryInfo = {}
    } finally {
      await primary?.close()
    }
  }
  const primaryAddress = formatAddress(primaryHost, primaryPort)
  nodes.push({
    id: primaryAddress,
    host: primaryHost,
    port: primaryPort,
    address: primaryAddress,
    role: 'primary',
    shard: 0,
    slots: [],
    up: Object.keys(primaryInfo).length > 0,
    health: Object.keys(primaryInfo).length > 0 ? 'online' : 'failed',
  })
  for (const replica of parseInfoReplicas(primaryInfo)) {
    const address = formatAddress(replica.ip, replica.port)
    nodes.push({
      id: address,
      host: replica.ip,
      port: replica.port,
      address,
      role: 'replica',
      shard: 0,
      primaryId: primaryAddress,
      slots: [],
      up: replica.state === 'online',
      health:
        replica.state === 'online'
          ? 'online'
          : replica.state === 'wait_bgsave' || replica.state === 'send_bulk'
            ? 'loading'
            : 'unknown',
    })
  }
  if (
    seedInfo.role === 'slave' &&
    !nodes.some((n) => n.address === formatAddress(spec.endpoint.host, spec.endpoint.port))
  ) {
    const address = formatAddress(spec.endpoint.host, spec.endpoint.port)
    nodes.push({
      id: address,
      host: spec.endpoint.host,
      port: spec.endpoint.port,
      address,
      role: 'replica',
      shard: 0,
      primaryId: primaryAddress,
      slots: [],
      up: true,
      health: 'online',
    })
  }
  return {
    mode: nodes.length > 1 ? 'replicated' : 'standalone',
    nodes,
    shards: [{ index: 0, primaryId: primaryAddress, slots: [], nodeIds: nodes.map((n) => n.id) }],
  }
}
