/** Parsers for CLUSTER SHARDS (Redis 7+) and CLUSTER NODES, the two views of a cluster's layout. */
import { parseAddress } from '../wire/classify.js'

export type SlotRange = [number, number]

export interface ClusterNodeRecord {
  id: string
  ip: string
  port: number
  /** The cluster bus port (`@cport`): port + 10000 unless the node sets `cluster-port`. */
  busPort?: number
  hostname?: string
  /** The address clients are told to use: hostname or ip, as the cluster prefers. */
  endpoint: string
  role: 'primary' | 'replica'
  primaryId?: string
  slots: SlotRange[]
  /** Slots being moved: importing from / migrating to another node id. */
  importing: { slot: number; from: string }[]
  migrating: { slot: number; to: string }[]
  health: 'online' | 'failed' | 'loading' | 'pfail' | 'handshake' | 'noaddr' | 'unknown'
  flags: string[]
  replicationOffset?: number
  myself: boolean
  linkConnected: boolean
}

/** One line per node: `<id> <ip:port@cport[,hostname]> <flags> <primary> <ping> <pong> <epoch> <link> <slot>...` */
export function parseClusterNodes(text: string): ClusterNodeRecord[] {
  const records: ClusterNodeRecord[] = []
  for (const line of text.split('\n')) {
    const parts = line.trim().split(' ')
    if (parts.length < 8) continue
    const [id, addr, flagText, primary, , , , link, ...slotParts] = parts
    const { ip, port, busPort, hostname } = parseNodeAddress(addr)
    const flags = flagText.split(',')
    const slots: SlotRange[] = []
    const importing: { slot: number; from: string }[] = []
    const migrating: { slot: number; to: string }[] = []
    for (const s of slotParts) {
      let m: RegExpExecArray | null
      if ((m = /^\[(\d+)-<-(\S+)\]$/.exec(s))) importing.push({ slot: Number(m[1]), from: m[2] })
      else if ((m = /^\[(\d+)->-(\S+)\]$/.exec(s))) migrating.push({ slot: Number(m[1]), to: m[2] })
      else if ((m = /^(\d+)-(\d+)$/.exec(s))) slots.push([Number(m[1]), Number(m[2])])
      else if (/^\d+$/.test(s)) slots.push([Number(s), Number(s)])
    }
    const health = flags.includes('fail')
      ? 'failed'
      : flags.includes('fail?')
        ? 'pfail'
        : flags.includes('handshake')
          ? 'handshake'
          : flags.includes('noaddr')
            ? 'noaddr'
            : 'online'
    records.push({
      id,
      ip,
      port,
      ...(busPort ? { busPort } : {}),
      ...(hostname ? { hostname } : {}),
      endpoint: ip,
      role: flags.includes('master') ? 'primary' : 'replica',
      ...(primary && primary !== '-' ? { primaryId: primary } : {}),
      slots: mergeRanges(slots),
      importing,
      migrating,
      health,
      flags,
      myself: flags.includes('myself'),
      linkConnected: link === 'connected' || flags.includes('myself'),
    })
  }
  return records
}

/**
 * The address field of a CLUSTER NODES line: `ip:port@cport[,hostname]` (`[v6]:port` too). A node
 * without an address yet (`:0@0`, noaddr or handshake) has an empty ip.
 */
export function parseNodeAddress(field: string): {
  ip: string
  port: number
  busPort?: number
  hostname?: string
} {
  const [hostPort, hostname] = field.split(',')
  const at = hostPort.indexOf('@')
  const ipPort = at >= 0 ? hostPort.slice(0, at) : hostPort
  const cport = at >= 0 ? Number(hostPort.slice(at + 1)) : NaN
  const named = {
    ...(Number.isInteger(cport) && cport > 0 ? { busPort: cport } : {}),
    ...(hostname ? { hostname } : {}),
  }
  const parsed = parseAddress(ipPort)
  if (parsed) return { ip: parsed.host, port: parsed.port, ...named }
  // No usable address (yet): the parts as they are.
  const colon = ipPort.lastIndexOf(':')
  return {
    ip: ipPort.slice(0, Math.max(0, colon)).replace(/^\[|\]$/g, ''),
    port: Number(ipPort.slice(colon + 1)) || 0,
    ...named,
  }
}

function pairsToObject(reply: unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (let i = 0; i + 1 < reply.length; i += 2) out[String(reply[i])] = reply[i + 1]
  return out
}

interface ClusterShardRecord {
  slots: SlotRange[]
  nodes: ClusterNodeRecord[]
}

/** CLUSTER SHARDS reply (RESP2 arrays of alternating names and values). */
export function parseClusterShards(reply: unknown): ClusterShardRecord[] {
  if (!Array.isArray(reply)) return []
  return reply.map((shardReply) => {
    const shard = pairsToObject(shardReply as unknown[])
    const flat = ((shard.slots as unknown[]) ?? []).map(Number)
    const slots: SlotRange[] = []
    for (let i = 0; i + 1 < flat.length; i += 2) slots.push([flat[i], flat[i + 1]])
    const nodes = ((shard.nodes as unknown[][]) ?? []).map((n) => {
      const node = pairsToObject(n)
      const role = String(node.role) === 'master' ? 'primary' : 'replica'
      const health = String(node.health ?? 'unknown')
      const ip = String(node.ip ?? '')
      const endpoint = node.endpoint && String(node.endpoint) !== '?' ? String(node.endpoint) : ip
      const record: ClusterNodeRecord = {
        id: String(node.id),
        ip,
        port: Number(node.port ?? node['tls-port']),
        ...(node.hostname ? { hostname: String(node.hostname) } : {}),
        endpoint,
        role,
        slots: role === 'primary' ? mergeRanges(slots) : [],
        importing: [],
        migrating: [],
        health: health === 'online' || health === 'failed' || health === 'loading' ? health : 'unknown',
        flags: [],
        replicationOffset:
          node['replication-offset'] === undefined ? undefined : Number(node['replication-offset']),
        myself: false,
        linkConnected: health !== 'failed',
      }
      return record
    })
    return { slots: mergeRanges(slots), nodes }
  })
}

/** Sort and merge adjacent or overlapping slot ranges. */
export function mergeRanges(ranges: SlotRange[]): SlotRange[] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0])
  const out: SlotRange[] = []
  for (const [from, to] of sorted) {
    const last = out[out.length - 1]
    if (last && from <= last[1] + 1) last[1] = Math.max(last[1], to)
    else out.push([from, to])
  }
  return out
}

export function countSlots(ranges: SlotRange[]): number {
  return ranges.reduce((n, [a, b]) => n + (b - a + 1), 0)
}
