import { parseClusterNodes } from '../../connect/cluster-parsers.js'
import type { Deployment } from '../../connect/deployment.js'
import { formatAddress } from '../../connect/endpoint.js'
import type { TopologyNode } from '../../connect/topology.js'
import { eachNode } from '../../connect/each-node.js'
import { parseInfo } from '../../redis/info.js'
import type { ClientInfo, NodeExtras, OpenSlot, SlotMarker } from './types.js'

/** CLIENT LIST lines -> clients. Names never hold spaces; fields are `k=v` separated by spaces. */
export function parseClientList(text: string): ClientInfo[] {
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((line) => {
      const f: Record<string, string> = {}
      for (const part of line.trim().split(' ')) {
        const eq = part.indexOf('=')
        if (eq > 0) f[part.slice(0, eq)] = part.slice(eq + 1)
      }
      return {
        addr: f.addr ?? '',
        name: f.name ?? '',
        cmd: f.cmd ?? '',
        flags: f.flags ?? '',
        omem: Number(f.omem ?? 0),
        qbuf: Number(f.qbuf ?? 0),
        ageSeconds: Number(f.age ?? 0),
        idleSeconds: Number(f.idle ?? 0),
      }
    })
}

/** One node's CLUSTER NODES -> its view of who owns which slots, as a canonical string. */
export function slotMapView(clusterNodes: string): string {
  return clusterNodes
    .split('\n')
    .map((l) => l.trim().split(' '))
    .filter((p) => p.length >= 9 && p[2].includes('master'))
    .map(
      (p) =>
        `${p[0]}=${p
          .slice(8)
          .filter((s) => !s.startsWith('['))
          .join(',')}`,
    )
    .filter((l) => !l.endsWith('='))
    .sort()
    .join(' ')
}

/**
 * The IMPORTING / MIGRATING markers of the node whose CLUSTER NODES this is: a node shows them only
 * in its own (`myself`) line, never in its lines about others.
 */
export function ownSlotMarkers(clusterNodes: string): SlotMarker[] {
  const records = parseClusterNodes(clusterNodes)
  const me = records.find((r) => r.myself)
  if (!me) return []
  const where = new Map(
    records.filter((r) => r.ip && r.port).map((r) => [r.id, formatAddress(r.endpoint || r.ip, r.port)]),
  )
  const peer = (id: string) => ({ peer: id, ...(where.has(id) ? { peerAddress: where.get(id)! } : {}) })
  return [
    ...me.migrating.map((m): SlotMarker => ({ slot: m.slot, kind: 'migrating', ...peer(m.to) })),
    ...me.importing.map((i): SlotMarker => ({ slot: i.slot, kind: 'importing', ...peer(i.from) })),
  ]
}

/**
 * Open slots with both sides joined, from every node's own markers (and the seed's, from the
 * topology, for a node whose view could not be read). Peers are named by the address kvtop knows
 * them by, else by the address the marking node knows, else by node id.
 */
export function openSlotsFrom(
  extras: Pick<NodeExtras, 'address' | 'slotMarkers'>[],
  nodes: Pick<TopologyNode, 'id' | 'address' | 'importing' | 'migrating'>[],
): OpenSlot[] {
  const byId = new Map(nodes.map((n) => [n.id, n.address]))
  const found = new Map<string, OpenSlot>()
  const mark = (address: string, m: SlotMarker) => {
    const peer = byId.get(m.peer) ?? m.peerAddress ?? m.peer
    const [from, to] = m.kind === 'migrating' ? [address, peer] : [peer, address]
    const key = `${m.slot}|${from}|${to}`
    const o = found.get(key) ?? { slot: m.slot, from, to, migrating: false, importing: false }
    if (m.kind === 'migrating') o.migrating = true
    else o.importing = true
    found.set(key, o)
  }
  for (const e of extras) for (const m of e.slotMarkers ?? []) mark(e.address, m)
  for (const n of nodes) {
    for (const m of n.migrating ?? []) mark(n.address, { slot: m.slot, kind: 'migrating', peer: m.to })
    for (const i of n.importing ?? []) mark(n.address, { slot: i.slot, kind: 'importing', peer: i.from })
  }
  return [...found.values()].sort((a, b) => a.slot - b.slot || a.from.localeCompare(b.from))
}

async function nodeExtras(deployment: Deployment, node: TopologyNode): Promise<NodeExtras> {
  const client = await deployment.client(node)
  const cluster = deployment.topology.mode === 'cluster'
  const [stats, clients, clusterNodes] = await Promise.all([
    client.info('stats').then(String),
    (client.call('CLIENT', 'LIST') as Promise<string>).catch((err: Error) => new Error(err.message)),
    cluster ? (client.call('CLUSTER', 'NODES') as Promise<string>).catch(() => undefined) : undefined,
  ])
  const clientsInfo = (await client.info('clients').catch(() => '')) || ''
  const memory = parseInfo((await client.info('memory').catch(() => '')) || '')
  const s = parseInfo(stats)
  const c = parseInfo(String(clientsInfo))
  return {
    address: node.address,
    rejectedConnections: Number(s.rejected_connections ?? 0) || undefined,
    maxclients: c.maxclients ? Number(c.maxclients) : undefined,
    ...(clients instanceof Error
      ? { error: `CLIENT LIST refused: ${clients.message}` }
      : { clients: parseClientList(String(clients)) }),
    ...(clusterNodes
      ? { slotMapView: slotMapView(String(clusterNodes)), slotMarkers: ownSlotMarkers(String(clusterNodes)) }
      : {}),
    lfu: /lfu/.test(memory.maxmemory_policy ?? ''),
  }
}

/** Per node: rejected connections, clients, its view of the slot map. */
export async function collectExtras(deployment: Deployment, timeoutMs: number): Promise<NodeExtras[]> {
  const nodes = deployment.topology.nodes.filter((n) => n.up)
  const results = await eachNode(nodes, 16, timeoutMs, (n) => nodeExtras(deployment, n))
  return results.map((r, i) => (r.ok ? r.value : { address: nodes[i].address, error: r.error }))
}
