import { parseClusterNodes, type SlotRange } from '../connect/cluster-parsers.js'
import { formatAddress } from '../connect/endpoint.js'
import { buildClusterTopology, type Topology, type TopologyNode } from '../connect/topology.js'
import { parseAddress } from '../wire/classify.js'
import type { MonitorEvent } from './alerts.js'
import type { NodeInfo } from './node-info.js'

/**
 * Following a deployment's shape while it is polled: the cluster's own view (CLUSTER NODES) in
 * cluster mode, the nodes' INFO replication otherwise; and the differences between two shapes as
 * events (failover, node added or removed, slots moved).
 */

/**
 * A topology from one node's CLUSTER NODES. Nodes already known keep the address kvtop reaches them
 * by (which may be a hostname or a NAT-mapped address rather than the announced ip).
 */
export function clusterTopologyFromNodes(
  text: string,
  source: { host: string },
  known: Topology,
  clusterState?: string,
): Topology {
  const records = parseClusterNodes(text)
  const byId = new Map(known.nodes.map((n) => [n.id, n]))
  for (const r of records) {
    if (!r.ip && r.myself) r.ip = source.host
    const k = byId.get(r.id)
    r.endpoint = k && k.port === r.port ? k.host : r.ip
  }
  return buildClusterTopology(records, clusterState)
}

/**
 * Non-cluster deployments: the primary is the node that says `role:master` (when several do, the one
 * the others replicate from, then the one with replicas); replicas are those it lists and those that
 * point at it. Nodes that did not answer keep their last known role and stay listed, down.
 */
export function replicatedTopologyFromInfos(
  known: Topology,
  infos: Map<string, NodeInfo>,
  reachable: Set<string>,
): Topology {
  const primaryAddress = choosePrimary(known, infos)
  if (!primaryAddress) return known
  const byAddress = new Map(known.nodes.map((n) => [n.address, n]))
  const primaryKnown = byAddress.get(primaryAddress)
  const { host: pHost, port: pPort } = splitAddress(primaryAddress)
  const nodes: TopologyNode[] = []
  const primaryUp = primaryKnown ? reachable.has(primaryKnown.id) : false
  nodes.push({
    id: primaryAddress,
    host: primaryKnown?.host ?? pHost,
    port: primaryKnown?.port ?? pPort,
    address: primaryAddress,
    role: 'primary',
    shard: 0,
    slots: [],
    up: primaryUp,
    health: primaryUp ? 'online' : 'failed',
  })
  const entry = (address: string, role: 'primary' | 'replica'): TopologyNode => {
    const k = byAddress.get(address)
    const { host, port } = splitAddress(address)
    const up = k ? reachable.has(k.id) : false
    return {
      id: address,
      host: k?.host ?? host,
      port: k?.port ?? port,
      address,
      role,
      shard: 0,
      ...(role === 'replica' ? { primaryId: primaryAddress } : {}),
      slots: [],
      up,
      health: up ? 'online' : k ? 'failed' : 'unknown',
    }
  }
  const { replicaAddresses, otherPrimaries } = othersThan(primaryAddress, primaryKnown, known, infos)
  for (const address of [...replicaAddresses].sort())
    if (address !== primaryAddress && !otherPrimaries.has(address)) nodes.push(entry(address, 'replica'))
  for (const address of [...otherPrimaries].sort()) nodes.push(entry(address, 'primary'))
  return {
    mode: nodes.length > 1 ? 'replicated' : 'standalone',
    nodes,
    shards: [{ index: 0, primaryId: primaryAddress, slots: [], nodeIds: nodes.map((n) => n.id) }],
  }
}

/**
 * The primary's address: of the nodes saying role:master, the one most replicas point at, then the
 * one with most replicas, then the one that was primary; with none, the address most replicas
 * point at; with no replica either, the last known primary (or the first node).
 */
function choosePrimary(known: Topology, infos: Map<string, NodeInfo>): string | undefined {
  const info = (n: TopologyNode) => infos.get(n.id)
  const pointedAt = new Map<string, number>()
  for (const n of known.nodes) {
    const r = info(n)?.replication
    if (r?.role === 'replica' && r.masterHost && r.masterPort) {
      const a = formatAddress(r.masterHost, r.masterPort)
      pointedAt.set(a, (pointedAt.get(a) ?? 0) + 1)
    }
  }
  const primaries = known.nodes.filter((n) => info(n)?.replication.role === 'primary')
  if (primaries.length) {
    primaries.sort(
      (a, b) =>
        (pointedAt.get(b.address) ?? 0) - (pointedAt.get(a.address) ?? 0) ||
        (info(b)!.replication.replicas.length ?? 0) - (info(a)!.replication.replicas.length ?? 0) ||
        (a.role === 'primary' ? -1 : 0) - (b.role === 'primary' ? -1 : 0),
    )
    return primaries[0].address
  }
  if (pointedAt.size) return [...pointedAt.entries()].sort((a, b) => b[1] - a[1])[0][0]
  return known.nodes.find((n) => n.role === 'primary')?.address ?? known.nodes[0]?.address
}

/**
 * Replicas: those the primary lists, those pointing at it, and known nodes that did not answer
 * (kept in view, down). A second node saying role:master (split brain, or an old primary not yet
 * turned into a replica) is kept as a primary of its own.
 */
function othersThan(
  primaryAddress: string,
  primaryKnown: TopologyNode | undefined,
  known: Topology,
  infos: Map<string, NodeInfo>,
): { replicaAddresses: Set<string>; otherPrimaries: Set<string> } {
  const replicaAddresses = new Set<string>()
  const otherPrimaries = new Set<string>()
  const primaryInfo = primaryKnown ? infos.get(primaryKnown.id) : undefined
  for (const line of primaryInfo?.replication.replicas ?? [])
    replicaAddresses.add(formatAddress(line.ip, line.port))
  for (const n of known.nodes) {
    if (n.address === primaryAddress) continue
    const r = infos.get(n.id)?.replication
    if (r?.role === 'primary') otherPrimaries.add(n.address)
    else replicaAddresses.add(n.address)
  }
  return { replicaAddresses, otherPrimaries }
}

/** host and port of a node address (the one parser); an unparsable one is kept whole, port 0. */
function splitAddress(address: string): { host: string; port: number } {
  return parseAddress(address) ?? { host: address, port: 0 }
}

function overlap(a: SlotRange[], b: SlotRange[]): number {
  let n = 0
  for (const [a0, a1] of a)
    for (const [b0, b1] of b) n += Math.max(0, Math.min(a1, b1) - Math.max(a0, b0) + 1)
  return n
}

function sameSlots(a: SlotRange[], b: SlotRange[]): boolean {
  return a.length === b.length && a.every((r, i) => r[0] === b[i][0] && r[1] === b[i][1])
}

/** Events between two shapes of the same deployment: failovers, then each node's changes, then nodes gone. */
export function topologyEvents(prev: Topology, next: Topology, at: number): MonitorEvent[] {
  const prevById = new Map(prev.nodes.map((n) => [n.id, n]))
  const nextById = new Map(next.nodes.map((n) => [n.id, n]))
  const events = failovers(prev, next, prevById, nextById, at)
  for (const n of next.nodes) events.push(...nodeChanges(prevById.get(n.id), n, at))
  for (const p of prev.nodes) {
    if (!nextById.has(p.id))
      events.push({
        type: 'node-removed',
        at,
        severity: 'warning',
        node: p.id,
        address: p.address,
        shard: p.shard,
        message: `${p.role} ${p.address} left the deployment`,
      })
  }
  return events
}

/** A shard (matched by its slots in cluster mode) that now has another primary. */
function failovers(
  prev: Topology,
  next: Topology,
  prevById: Map<string, TopologyNode>,
  nextById: Map<string, TopologyNode>,
  at: number,
): MonitorEvent[] {
  const events: MonitorEvent[] = []
  for (const s of next.shards) {
    const match =
      next.mode === 'cluster'
        ? prev.shards
            .map((p) => ({ p, o: overlap(p.slots, s.slots) }))
            .filter((x) => x.o > 0)
            .sort((a, b) => b.o - a.o)[0]?.p
        : prev.shards[0]
    if (!match?.primaryId || !s.primaryId || match.primaryId === s.primaryId) continue
    const from = prevById.get(match.primaryId)
    const to = nextById.get(s.primaryId)
    // A brand-new node taking over slots is a slot move, not a failover; a replica promoted is.
    if (!prevById.has(s.primaryId) && next.mode === 'cluster') continue
    events.push({
      type: 'failover',
      at,
      severity: 'critical',
      shard: s.index,
      from: match.primaryId,
      to: s.primaryId,
      ...(from ? { fromAddress: from.address } : {}),
      ...(to ? { toAddress: to.address } : {}),
      node: s.primaryId,
      ...(to ? { address: to.address } : {}),
      message: `shard ${s.index}: ${to?.address ?? s.primaryId} replaced ${from?.address ?? match.primaryId} as primary`,
    })
  }
  return events
}

/** One node of the new shape against its old self (`p`, undefined: it joined). */
function nodeChanges(p: TopologyNode | undefined, n: TopologyNode, at: number): MonitorEvent[] {
  if (!p) {
    return [
      {
        type: 'node-added',
        at,
        severity: 'info',
        node: n.id,
        address: n.address,
        shard: n.shard,
        role: n.role,
        message: `${n.role} ${n.address} joined shard ${n.shard}`,
      },
    ]
  }
  const events: MonitorEvent[] = []
  if (p.role !== n.role) {
    events.push({
      type: 'role-change',
      at,
      severity: 'warning',
      node: n.id,
      address: n.address,
      shard: n.shard,
      from: p.role,
      to: n.role,
      message: `${n.address} is now a ${n.role} (was ${p.role})`,
    })
  }
  if (n.role === 'primary' && p.role === 'primary' && !sameSlots(p.slots, n.slots)) {
    events.push({
      type: 'slots-moved',
      at,
      severity: 'info',
      node: n.id,
      address: n.address,
      shard: n.shard,
      slots: n.slots,
      previousSlots: p.slots,
      message: `${n.address} now serves ${slotCount(n.slots)} slots (was ${slotCount(p.slots)})`,
    })
  }
  return events
}

const slotCount = (ranges: SlotRange[]): number => ranges.reduce((c, [a, b]) => c + b - a + 1, 0)
