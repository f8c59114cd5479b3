import type { Cluster, Redis } from 'ioredis'
import { Deployment } from '../connect/deployment.js'
import { openDataClient } from '../connect/data-client.js'
import type { ConnectionInput } from '../connect/options.js'
import { resolveConnectionSpec } from '../connect/options.js'
import { profileSourcesWithSandboxes } from './profile-sources.js'

interface LoadOptions {
  /** Operations per second; 0 for as fast as possible. */
  rate: number
  /** Seconds of mixed traffic after seeding; 0 seeds only; Infinity until aborted. */
  durationSeconds: number
  keys: number
  seed: number
  signal?: AbortSignal
  onProgress?: (p: LoadProgress) => void
}

interface LoadProgress {
  phase: 'seeding' | 'running'
  ops: number
  errors: number
  opsPerSecond: number
}

export interface LoadReport {
  seeded: number
  ops: number
  errors: number
  /** Error replies by message, so a failing workload says why. */
  errorKinds: Record<string, number>
  seconds: number
  opsPerSecond: number
}

/** A small, fast, seedable PRNG (mulberry32): the same seed drives the same workload. */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const TYPES = ['string', 'counter', 'hash', 'list', 'set', 'zset', 'stream', 'binary'] as const
type KeyKind = (typeof TYPES)[number]

/** Key n of the workload. Binary keys carry invalid UTF-8, CR LF and NUL on purpose. */
export function workloadKey(n: number): { key: Buffer; kind: KeyKind } {
  const kind = TYPES[n % TYPES.length]
  if (kind === 'binary')
    return {
      key: Buffer.concat([
        Buffer.from(`kvtop:bin:${n}:`),
        Buffer.from([0xff, 0xfe, 0x0d, 0x0a, 0x00, n & 0xff]),
      ]),
      kind,
    }
  return { key: Buffer.from(`kvtop:${kind}:${n}`), kind }
}

function randomBytesFrom(rand: () => number, length: number): Buffer {
  const b = Buffer.allocUnsafe(length)
  for (let i = 0; i < length; i++) b[i] = Math.floor(rand() * 256)
  return b
}

type Client = Redis | Cluster

function writeOp(client: Client, rand: () => number, n: number): Promise<unknown> {
  const { key, kind } = workloadKey(n)
  const r = rand()
  switch (kind) {
    case 'string':
      return r < 0.2
        ? client.set(key, `value-${n}-${Math.floor(rand() * 1e6)}`, 'EX', 60 + Math.floor(rand() * 600))
        : client.set(key, `value-${n}-${Math.floor(rand() * 1e6)}`)
    case 'counter':
      return client.incrby(key, 1 + Math.floor(rand() * 10))
    case 'hash':
      return client.hset(key, `f${Math.floor(rand() * 20)}`, String(Math.floor(rand() * 1e6)))
    case 'list':
      return client.lpush(key, `item-${Math.floor(rand() * 1e6)}`).then(() => client.ltrim(key, 0, 49))
    case 'set':
      return client.sadd(key, `m${Math.floor(rand() * 100)}`)
    case 'zset':
      return client.zadd(key, String(Math.floor(rand() * 1000)), `m${Math.floor(rand() * 100)}`)
    case 'stream':
      return client.xadd(
        key,
        'MAXLEN',
        '~',
        '100',
        '*',
        'n',
        String(n),
        'v',
        String(Math.floor(rand() * 1e6)),
      )
    case 'binary':
      return client.set(key, randomBytesFrom(rand, 8 + Math.floor(rand() * 64)))
  }
}

function readOp(client: Client, rand: () => number, n: number): Promise<unknown> {
  const { key, kind } = workloadKey(n)
  switch (kind) {
    case 'hash':
      return client.hgetall(key)
    case 'list':
      return client.lrange(key, 0, 9)
    case 'set':
      return client.scard(key)
    case 'zset':
      return client.zrange(key, '0', '4')
    case 'stream':
      return client.xlen(key)
    default:
      // Some misses on purpose: keys beyond the seeded space.
      return client.getBuffer(rand() < 0.1 ? Buffer.from(`kvtop:miss:${n}`) : key)
  }
}

/** Seed `keys` keys of every type, then drive mixed reads and writes at `rate` ops/s. */
export async function runLoad(input: ConnectionInput, options: LoadOptions): Promise<LoadReport> {
  const spec = resolveConnectionSpec(input, process.env, profileSourcesWithSandboxes)
  const deployment = await Deployment.connectSpec(spec)
  const client = await openDataClient(deployment, { autoPipelining: true })
  const load = new Load(client, options)
  try {
    const seeded = await load.seed()
    return await load.drive(seeded)
  } finally {
    client.disconnect()
    await deployment.close()
  }
}

/** One run of the workload: what it sent, what the server refused (and why), progress reports. */
class Load {
  private ops = 0
  private errors = 0
  private readonly errorKinds = new Map<string, number>()
  private readonly rand: () => number
  private readonly started = Date.now()

  constructor(
    private readonly client: Client,
    private readonly options: LoadOptions,
  ) {
    this.rand = prng(options.seed)
  }

  private count(p: Promise<unknown>): Promise<void> {
    return p.then(
      () => void this.ops++,
      (err: Error) => {
        this.ops++
        this.errors++
        const kind = err.message.split('\n')[0].slice(0, 120)
        this.errorKinds.set(kind, (this.errorKinds.get(kind) ?? 0) + 1)
      },
    )
  }

  private progress(phase: LoadProgress['phase'], since: number): void {
    this.options.onProgress?.({
      phase,
      ops: this.ops,
      errors: this.errors,
      opsPerSecond: this.ops / Math.max(0.001, (Date.now() - since) / 1000),
    })
  }

  /** Writes every key once, 500 at a time; returns how many were written. The counters start over. */
  async seed(): Promise<number> {
    const { keys, signal } = this.options
    const batch = 500
    for (let i = 0; i < keys && !signal?.aborted; i += batch) {
      const inFlight: Promise<void>[] = []
      for (let n = i; n < Math.min(keys, i + batch); n++)
        inFlight.push(this.count(writeOp(this.client, this.rand, n)))
      await Promise.all(inFlight)
      this.progress('seeding', this.started)
    }
    const seeded = Math.min(keys, this.ops - this.errors)
    this.ops = 0
    this.errors = 0
    return seeded
  }

  /** Mixed traffic (60% writes) in ticks of 20 ms until the duration ends or the run is aborted. */
  async drive(seeded: number): Promise<LoadReport> {
    const { rate, keys, signal } = this.options
    const runStart = Date.now()
    const endAt = runStart + this.options.durationSeconds * 1000
    const tickMs = 20
    let lastReport = runStart
    while (!signal?.aborted && Date.now() < endAt) {
      const tickStart = Date.now()
      const perTick = rate > 0 ? Math.max(1, Math.round((rate * tickMs) / 1000)) : 500
      const inFlight: Promise<void>[] = []
      for (let i = 0; i < perTick; i++) {
        const n = Math.floor(this.rand() * Math.max(1, keys))
        const op = this.rand() < 0.6 ? writeOp(this.client, this.rand, n) : readOp(this.client, this.rand, n)
        inFlight.push(this.count(op))
      }
      await Promise.all(inFlight)
      if (Date.now() - lastReport > 500) {
        this.progress('running', runStart)
        lastReport = Date.now()
      }
      if (rate > 0) {
        // Pace by the schedule, not the tick, so slow ticks are made up for.
        const due = runStart + ((this.ops + perTick) / rate) * 1000
        const wait = Math.min(tickMs, due - Date.now(), endAt - Date.now())
        if (wait > 0) await new Promise((r) => setTimeout(r, wait))
      } else if (Date.now() - tickStart < 1) {
        await new Promise((r) => setImmediate(r))
      }
    }
    const seconds = (Date.now() - runStart) / 1000
    return {
      seeded,
      ops: this.ops,
      errors: this.errors,
      errorKinds: Object.fromEntries(this.errorKinds),
      seconds: (Date.now() - this.started) / 1000,
      opsPerSecond: seconds > 0 ? this.ops / seconds : 0,
    }
  }
}
