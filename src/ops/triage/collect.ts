import type { Redis } from 'ioredis'
import { parseClusterNodes } from '../../connect/cluster-parsers.js'
import type { Deployment } from '../../connect/deployment.js'
import { formatAddress } from '../../connect/endpoint.js'
import type { TopologyNode } from '../../connect/topology.js'
import { escapeBytes } from '../../data/escape.js'
import { RateLimiter } from '../../data/keyspace/rate-limiter.js'
import { errorMessage } from '../../errors.js'
import { parseInfo } from '../../redis/info.js'
import { lengthCommand } from '../verify/logical.js'
import { THRESHOLDS } from '../../metrics/thresholds.js'
import type { ClientInfo, KeySample, KeyScan, NodeExtras, OpenSlot, SlotMarker } from './types.js'

/** Run `fn` over the nodes, `limit` at a time, each bounded by `timeoutMs`: a dead node costs one timeout. */
export async function eachNode<T>(
  nodes: TopologyNode[],
  limit: number,
  timeoutMs: number,
  fn: (node: TopologyNode) => Promise<T>,
): Promise<({ ok: true; value: T } | { ok: false; error: string })[]> {
  const out: ({ ok: true; value: T } | { ok: false; error: string })[] = new Array(nodes.length)
  let next = 0
  const worker = async () => {
    while (next < nodes.length) {
      const i = next++
      let timer: NodeJS.Timeout | undefined
      try {
        const value = await Promise.race([
          fn(nodes[i]),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs)
          }),
        ])
        out[i] = { ok: true, value }
      } catch (err) {
        out[i] = { ok: false, error: errorMessage(err) }
      } finally {
        clearTimeout(timer)
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, nodes.length) }, worker))
  return out
}

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

/**
 * Sample up to `budget` keys over the primaries (SCAN), measure each (MEMORY USAGE), count the
 * elements of the big ones, and read OBJECT FREQ where the policy is LFU. At most `perSecond`
 * commands per node, so a triage never becomes the incident.
 */
export async function sampleKeys(
  deployment: Deployment,
  extras: NodeExtras[],
  budget: number,
  perSecond = 10_000,
  timeoutMs = 8000,
): Promise<KeyScan> {
  const primaries = deployment.primaries.filter((n) => n.up)
  const notes: string[] = []
  const perNode = Math.max(1, Math.ceil(budget / Math.max(1, primaries.length)))
  const lfu = new Map(extras.map((e) => [e.address, e.lfu]))
  // Sampling stops at the deadline with what it has; the per-node timeout is only for a stuck node.
  const deadline = Date.now() + timeoutMs
  const results = await eachNode(primaries, 8, timeoutMs + 2000, async (node) => {
    const client = await deployment.client(node)
    const limiter = new RateLimiter(perSecond)
    const keys: Buffer[] = []
    let cursor = '0'
    do {
      await limiter.take(1)
      const [next, batch] = (await client.callBuffer('SCAN', cursor, 'COUNT', 100)) as [Buffer, Buffer[]]
      cursor = next.toString()
      keys.push(...batch)
    } while (cursor !== '0' && keys.length < perNode && Date.now() < deadline)
    const sample = keys.slice(0, perNode)
    const measured: KeySample[] = []
    for (let i = 0; i < sample.length && Date.now() < deadline; i += 100) {
      const part = sample.slice(i, i + 100)
      await limiter.take(part.length * 2)
      const p = client.pipeline()
      for (const k of part) p.call('MEMORY', 'USAGE', k, 'SAMPLES', '5').type(k)
      const replies = (await p.exec()) ?? []
      part.forEach((k, j) => {
        const [errUsage, usage] = replies[j * 2]
        const [, type] = replies[j * 2 + 1]
        if (errUsage || usage === null) return
        measured.push({
          node: node.address,
          key: escapeBytes(k),
          type: String(type),
          bytes: Number(usage),
          raw: k,
        } as KeySample & { raw: Buffer })
      })
    }
    const big = measured.filter((m) => m.bytes >= THRESHOLDS.bigKeyBytes)
    for (const b of big) {
      const cmd = lengthCommand(b.type)
      if (cmd && cmd !== 'STRLEN')
        b.elements = Number(await client.call(cmd, (b as KeySample & { raw: Buffer }).raw))
    }
    const hot: KeySample[] = []
    if (lfu.get(node.address)) {
      for (const m of measured) {
        await limiter.take(1)
        const freq = Number(
          await client.call('OBJECT', 'FREQ', (m as KeySample & { raw: Buffer }).raw).catch(() => 0),
        )
        if (freq >= THRESHOLDS.hotKeyFreq) hot.push({ ...m, freq })
      }
    }
    return { sampled: measured.length, big, hot, slots: await hotSlots(client, node) }
  })
  const out: KeyScan = { sampled: 0, bigKeys: [], hotKeys: [], notes }
  let slotStats = false
  results.forEach((r, i) => {
    if (!r.ok) {
      notes.push(`${primaries[i].address}: keys not sampled (${r.error})`)
      return
    }
    out.sampled += r.value.sampled
    out.bigKeys.push(...r.value.big.map(strip))
    out.hotKeys.push(...r.value.hot.map(strip))
    if (r.value.slots) {
      slotStats = true
      ;(out.hotSlots ??= []).push(...r.value.slots)
    }
  })
  out.bigKeys.sort((a, b) => b.bytes - a.bytes)
  out.hotKeys.sort((a, b) => (b.freq ?? 0) - (a.freq ?? 0))
  out.hotKeys = out.hotKeys.slice(0, 10)
  if (out.hotSlots)
    out.hotSlots = out.hotSlots.sort((a, b) => (b.cpuUsec ?? 0) - (a.cpuUsec ?? 0)).slice(0, 10)
  if (!extras.some((e) => e.lfu))
    notes.push('hot keys need an LFU maxmemory-policy (OBJECT FREQ); not measured')
  if (deployment.topology.mode === 'cluster' && !slotStats)
    notes.push('CLUSTER SLOT-STATS is not available on this server: hot slots not measured')
  return out
}

function strip(k: KeySample): KeySample {
  const { raw: _raw, ...rest } = k as KeySample & { raw?: Buffer }
  return rest
}

/** CLUSTER SLOT-STATS (Valkey 8+): the busiest slots by CPU, where the server has it. */
async function hotSlots(client: Redis, node: TopologyNode): Promise<KeyScan['hotSlots']> {
  if (!node.slots.length) return undefined
  try {
    const reply = (await client.call('CLUSTER', 'SLOT-STATS', 'ORDERBY', 'cpu-usec', 'LIMIT', '5')) as [
      number,
      (string | number)[],
    ][]
    return reply.map(([slot, stats]) => {
      const m = new Map<string, number>()
      for (let i = 0; i + 1 < stats.length; i += 2) m.set(String(stats[i]), Number(stats[i + 1]))
      return { slot: Number(slot), keys: m.get('key-count'), cpuUsec: m.get('cpu-usec'), node: node.address }
    })
  } catch {
    return undefined
  }
}
