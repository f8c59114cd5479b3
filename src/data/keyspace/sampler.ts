import type { Redis } from 'ioredis'
import type { Deployment } from '../../connect/deployment.js'
import { eachNode } from '../../connect/each-node.js'
import type { TopologyNode } from '../../connect/topology.js'
import { lengthCommand } from '../../redis/commands.js'
import { escapeBytes } from '../escape.js'
import { RateLimiter } from './rate-limiter.js'

export interface KeySample {
  node: string
  /** Escaped like redis-cli. */
  key: string
  type: string
  bytes: number
  elements?: number
  /** OBJECT FREQ under an LFU policy. */
  freq?: number
}

export interface KeyScan {
  sampled: number
  bigKeys: KeySample[]
  hotKeys: KeySample[]
  /** Where CLUSTER SLOT-STATS exists: the busiest slots. */
  hotSlots?: { slot: number; keys?: number; cpuUsec?: number; node: string }[]
  notes: string[]
}

interface SampleOptions {
  /** Keys sampled at most, over all primaries. */
  budget: number
  /** Whether each primary (by address) runs an LFU policy: only there is OBJECT FREQ read. */
  lfu: ReadonlyMap<string, boolean | undefined>
  /** Commands per node per second at most. */
  perSecond?: number
  timeoutMs?: number
  /** A key this big (MEMORY USAGE) is a big key, its elements counted. */
  bigKeyBytes: number
  /** An OBJECT FREQ this high makes a hot key. */
  hotKeyFreq: number
}

/** A sampled key with the name's bytes, for the commands that follow up on it. */
interface Measured {
  sample: KeySample
  raw: Buffer
}

interface NodeSample {
  sampled: number
  big: KeySample[]
  hot: KeySample[]
  slots: KeyScan['hotSlots']
}

/**
 * Sample up to `budget` keys over the primaries (SCAN), measure each (MEMORY USAGE), count the
 * elements of the big ones, and read OBJECT FREQ where the policy is LFU. At most `perSecond`
 * commands per node, so a triage never becomes the incident.
 */
export async function sampleKeys(deployment: Deployment, options: SampleOptions): Promise<KeyScan> {
  const { budget, perSecond = 10_000, timeoutMs = 8000 } = options
  const primaries = deployment.primaries.filter((n) => n.up)
  const perNode = Math.max(1, Math.ceil(budget / Math.max(1, primaries.length)))
  // Sampling stops at the deadline with what it has; the per-node timeout is only for a stuck node.
  const deadline = Date.now() + timeoutMs
  const results = await eachNode(primaries, 8, timeoutMs + 2000, async (node): Promise<NodeSample> => {
    const client = await deployment.client(node)
    const limiter = new RateLimiter(perSecond)
    const keys = await scanSome(client, limiter, perNode, deadline)
    const measured = await measureKeys(client, limiter, node, keys, deadline)
    const big = measured.filter((m) => m.sample.bytes >= options.bigKeyBytes)
    for (const m of big) await countElements(client, m)
    const hot = options.lfu.get(node.address)
      ? await hotKeys(client, limiter, measured, options.hotKeyFreq)
      : []
    return {
      sampled: measured.length,
      big: big.map((m) => m.sample),
      hot,
      slots: await hotSlots(client, node),
    }
  })
  const out: KeyScan = { sampled: 0, bigKeys: [], hotKeys: [], notes: [] }
  let slotStats = false
  results.forEach((r, i) => {
    if (!r.ok) {
      out.notes.push(`${primaries[i].address}: keys not sampled (${r.error})`)
      return
    }
    out.sampled += r.value.sampled
    out.bigKeys.push(...r.value.big)
    out.hotKeys.push(...r.value.hot)
    if (r.value.slots) {
      slotStats = true
      ;(out.hotSlots ??= []).push(...r.value.slots)
    }
  })
  rank(out)
  if (![...options.lfu.values()].some(Boolean))
    out.notes.push('hot keys need an LFU maxmemory-policy (OBJECT FREQ); not measured')
  if (deployment.topology.mode === 'cluster' && !slotStats)
    out.notes.push('CLUSTER SLOT-STATS is not available on this server: hot slots not measured')
  return out
}

/** Up to `count` key names from SCAN, stopping early at the deadline. */
async function scanSome(
  client: Redis,
  limiter: RateLimiter,
  count: number,
  deadline: number,
): Promise<Buffer[]> {
  const keys: Buffer[] = []
  let cursor = '0'
  do {
    await limiter.take(1)
    const [next, batch] = (await client.callBuffer('SCAN', cursor, 'COUNT', 100)) as [Buffer, Buffer[]]
    cursor = next.toString()
    keys.push(...batch)
  } while (cursor !== '0' && keys.length < count && Date.now() < deadline)
  return keys.slice(0, count)
}

/** MEMORY USAGE and TYPE of each key, 100 to a pipeline; a key gone meanwhile is left out. */
async function measureKeys(
  client: Redis,
  limiter: RateLimiter,
  node: TopologyNode,
  keys: Buffer[],
  deadline: number,
): Promise<Measured[]> {
  const measured: Measured[] = []
  for (let i = 0; i < keys.length && Date.now() < deadline; i += 100) {
    const part = keys.slice(i, i + 100)
    await limiter.take(part.length * 2)
    const p = client.pipeline()
    for (const k of part) p.call('MEMORY', 'USAGE', k, 'SAMPLES', '5').type(k)
    const replies = (await p.exec()) ?? []
    part.forEach((raw, j) => {
      const [errUsage, usage] = replies[j * 2]
      const [, type] = replies[j * 2 + 1]
      if (errUsage || usage === null) return
      const sample = { node: node.address, key: escapeBytes(raw), type: String(type), bytes: Number(usage) }
      measured.push({ sample, raw })
    })
  }
  return measured
}

async function countElements(client: Redis, m: Measured): Promise<void> {
  const cmd = lengthCommand(m.sample.type)
  if (cmd && cmd !== 'STRLEN') m.sample.elements = Number(await client.call(cmd, m.raw))
}

/** The measured keys whose OBJECT FREQ reaches `minFreq` (an LFU policy only). */
async function hotKeys(
  client: Redis,
  limiter: RateLimiter,
  measured: Measured[],
  minFreq: number,
): Promise<KeySample[]> {
  const hot: KeySample[] = []
  for (const m of measured) {
    await limiter.take(1)
    const freq = Number(await client.call('OBJECT', 'FREQ', m.raw).catch(() => 0))
    if (freq >= minFreq) hot.push({ ...m.sample, freq })
  }
  return hot
}

/** Biggest keys first; the ten hottest keys and slots. */
function rank(out: KeyScan): void {
  out.bigKeys.sort((a, b) => b.bytes - a.bytes)
  out.hotKeys.sort((a, b) => (b.freq ?? 0) - (a.freq ?? 0))
  out.hotKeys = out.hotKeys.slice(0, 10)
  if (out.hotSlots)
    out.hotSlots = out.hotSlots.sort((a, b) => (b.cpuUsec ?? 0) - (a.cpuUsec ?? 0)).slice(0, 10)
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
