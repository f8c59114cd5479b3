import { setTimeout as sleep } from 'node:timers/promises'
import type { Capabilities } from '../../connect/capabilities.js'
import type { Redis } from 'ioredis'
import { closeQuietly, openNode, type ConnectionSpec } from '../../connect/client.js'
import type { TopologyNode } from '../../connect/topology.js'
import { parseInfo } from '../../redis/info.js'
import { keySlot } from '../../wire/routed-pipeline.js'

/** A key whose slot the node serves (a cluster routes writes by slot), named as kvtop's own. */
function probeKeyFor(node: TopologyNode, cluster: boolean): string {
  for (let i = 0; ; i++) {
    const key = `__kvtop_probe__:{${i}}:${process.pid}`
    if (!cluster) return key
    const slot = keySlot(Buffer.from(key))
    if (node.slots.some(([a, b]) => slot >= a && slot <= b)) return key
  }
}

/**
 * The event classes of notify-keyspace-events that --live relies on: every way a key can change or
 * go away. A change of a class that is off is never seen, so the target would keep an old value.
 */
const REQUIRED_CLASSES: readonly { letter: string; what: string }[] = [
  { letter: 'g', what: 'generic: DEL, EXPIRE, RENAME ...' },
  { letter: '$', what: 'string' },
  { letter: 'l', what: 'list' },
  { letter: 's', what: 'set' },
  { letter: 'h', what: 'hash' },
  { letter: 'z', what: 'sorted set' },
  { letter: 't', what: 'stream' },
  { letter: 'x', what: 'expired' },
  { letter: 'e', what: 'evicted' },
]

/** What `A` stands for (Redis 7 and Valkey; older servers' A is a subset of it). */
const ALL_ALIAS = 'g$lshzxetd'

/** The letters a notify-keyspace-events value turns on, `A` expanded. */
export function notifyFlags(setting: string): Set<string> {
  const out = new Set<string>()
  for (const c of setting) {
    if (c === 'A') for (const a of ALL_ALIAS) out.add(a)
    else out.add(c)
  }
  return out
}

/** Where kvtop hears of changes: keyspace channels (K: event name per key) or keyevent ones (E: key per event). */
type ChangeChannel = 'keyspace' | 'keyevent'

/** What one source node's notifications let --live see. */
export interface NotificationReport {
  node: string
  /** How the setting was learned: CONFIG GET, or (where CONFIG is refused) test writes of each class. */
  via: 'config' | 'probe'
  /** The notify-keyspace-events value (CONFIG GET only). */
  setting?: string
  /** The channel kvtop follows; undefined: neither K nor E events come. */
  channel?: ChangeChannel
  /** Classes --live relies on that are off, as letters (`REQUIRED_CLASSES` order). */
  missing: string[]
  /** Classes that matter but that a probe cannot show (e: kvtop cannot cause an eviction). */
  unverified: string[]
  /** Databases from which no event reached kvtop (pub/sub blocked, or notifications off). */
  silentDbs: number[]
}

/** Is anything wrong for --live? A sentence per problem (empty: all good). */
export function notificationProblems(r: NotificationReport): { code: string; message: string }[] {
  const out: { code: string; message: string }[] = []
  const setting = r.setting === undefined ? '' : ` (notify-keyspace-events is "${r.setting}")`
  if (r.missing.length || (r.via === 'config' && !r.channel)) {
    const add = `${r.channel ? '' : 'K'}${r.missing.join('')}`
    const classes = r.missing.map((l) => `${l} (${REQUIRED_CLASSES.find((c) => c.letter === l)!.what})`)
    const lacks = [...(r.channel ? [] : ['K (keyspace events)']), ...classes].join(', ')
    out.push({
      code: 'notifications-incomplete',
      message: `keyspace notifications on ${r.node} lack what --live relies on${setting}: ${lacks}; add "${add}" (or set KEA)`,
    })
    return out
  }
  for (const db of r.silentDbs)
    out.push({
      code: 'no-notifications',
      message: `keyspace notifications do not reach kvtop from ${r.node} (db ${db})${setting}: --live cannot follow changes`,
    })
  return out
}

/** Event name (as notifications carry it) -> the class it belongs to, for the probe's writes. */
const EVENT_CLASS: Record<string, string> = {
  set: '$',
  del: 'g',
  expire: 'g',
  rpush: 'l',
  sadd: 's',
  hset: 'h',
  zadd: 'z',
  xadd: 't',
  expired: 'x',
}

/**
 * Subscribe to the probe key's keyspace channel and to every keyevent channel of `db`, run
 * `writes` on the probe key, and collect which event names came on which channel. Every event the
 * writes caused has come once a PING on the subscription answers (the node pushes them before).
 */
async function listen(
  spec: ConnectionSpec,
  node: TopologyNode,
  db: number,
  key: string,
  writes: (writer: Redis) => Promise<void>,
  timeoutMs: number,
): Promise<Record<ChangeChannel, Set<string>>> {
  const heard: Record<ChangeChannel, Set<string>> = { keyspace: new Set(), keyevent: new Set() }
  const sub = await openNode(spec, node, { name: 'kvtop-migrate-probe' })
  let writer: Redis | undefined
  try {
    writer = await openNode(spec, node, { db, name: 'kvtop-migrate-probe' })
    const space = `__keyspace@${db}__:${key}`
    const eventPrefix = `__keyevent@${db}__:`
    sub.on('messageBuffer', (channel: Buffer, message: Buffer) => {
      if (channel.toString() === space) heard.keyspace.add(message.toString())
    })
    sub.on('pmessageBuffer', (_pattern: Buffer, channel: Buffer, message: Buffer) => {
      const name = channel.toString()
      if (name.startsWith(eventPrefix) && message.toString() === key)
        heard.keyevent.add(name.slice(eventPrefix.length))
    })
    await sub.subscribe(space)
    await sub.psubscribe(`${eventPrefix}*`)
    try {
      await writes(writer)
    } finally {
      await writer.del(key).catch(() => {})
    }
    await Promise.race([sub.ping(), sleep(timeoutMs)])
    return heard
  } finally {
    await Promise.all([closeQuietly(sub), closeQuietly(writer)])
  }
}

/** One write (SET with a short expiry): does any event reach kvtop on `channel`? */
async function notificationsReach(
  spec: ConnectionSpec,
  node: TopologyNode,
  db: number,
  cluster: boolean,
  channel: ChangeChannel = 'keyspace',
  timeoutMs = 1500,
): Promise<boolean> {
  const key = probeKeyFor(node, cluster)
  const heard = await listen(
    spec,
    node,
    db,
    key,
    async (w) => {
      await w.set(key, '1', 'PX', 2000)
    },
    timeoutMs,
  )
  return heard[channel].size > 0
}

/**
 * A write of every class on a scratch key (string, list, set, hash, sorted set, stream, DEL, and an
 * expiry): the classes whose events came, per channel. The key is deleted afterwards.
 */
async function probeClasses(
  spec: ConnectionSpec,
  node: TopologyNode,
  db: number,
  cluster: boolean,
  timeoutMs: number,
): Promise<Record<ChangeChannel, Set<string>>> {
  const key = probeKeyFor(node, cluster)
  const events = await listen(
    spec,
    node,
    db,
    key,
    async (w) => {
      await w
        .pipeline()
        .del(key)
        .set(key, '1', 'PX', 60_000)
        .del(key)
        .rpush(key, 'a')
        .del(key)
        .sadd(key, 'a')
        .del(key)
        .hset(key, 'a', '1')
        .del(key)
        .zadd(key, 1, 'a')
        .del(key)
        .xadd(key, '*', 'a', '1')
        .del(key)
        .set(key, '1', 'PX', 1)
        .exec()
      // Expired once its millisecond has passed; reading it then expires it (and notifies) at once.
      await sleep(20)
      await w.exists(key)
    },
    timeoutMs,
  )
  const classes = (names: Set<string>) =>
    new Set([...names].map((n) => EVENT_CLASS[n]).filter((c): c is string => Boolean(c)))
  return { keyspace: classes(events.keyspace), keyevent: classes(events.keyevent) }
}

/**
 * What one source node's notify-keyspace-events lets --live see. The setting is read with CONFIG
 * GET where allowed; where CONFIG is refused (managed services), a test write of each class on a
 * scratch key shows which events come. Every db is checked for delivery (pub/sub may be blocked).
 */
export async function inspectNotifications(
  spec: ConnectionSpec,
  node: TopologyNode,
  dbs: number[],
  cluster: boolean,
  timeoutMs = 1500,
): Promise<NotificationReport> {
  const conn = await openNode(spec, node, { name: 'kvtop-migrate-probe' })
  let setting: string | undefined
  let policy = ''
  try {
    try {
      const reply = (await conn.config('GET', 'notify-keyspace-events')) as string[]
      if (Array.isArray(reply) && reply.length >= 2) setting = String(reply[1])
    } catch {
      // CONFIG refused for this user (managed services): probe instead
    }
    if (setting === undefined)
      policy = parseInfo(String(await conn.info('memory').catch(() => ''))).maxmemory_policy ?? ''
  } finally {
    await closeQuietly(conn)
  }
  const required = REQUIRED_CLASSES.map((c) => c.letter)
  const report: NotificationReport = {
    node: node.address,
    via: setting === undefined ? 'probe' : 'config',
    ...(setting === undefined ? {} : { setting }),
    missing: [],
    unverified: [],
    silentDbs: [],
  }
  let rest = dbs
  if (setting !== undefined) {
    const flags = notifyFlags(setting)
    report.channel = flags.has('K') ? 'keyspace' : flags.has('E') ? 'keyevent' : undefined
    report.missing = required.filter((l) => !flags.has(l))
    if (!report.channel || report.missing.length) return report
  } else {
    const [first, ...others] = dbs
    const heard = await probeClasses(spec, node, first, cluster, timeoutMs)
    report.channel = heard.keyspace.size ? 'keyspace' : heard.keyevent.size ? 'keyevent' : undefined
    if (!report.channel) {
      report.silentDbs = dbs
      return report
    }
    const got = heard[report.channel]
    // Evictions cannot be caused on purpose: under noeviction there are none to follow.
    report.missing = required.filter((l) => l !== 'e' && !got.has(l))
    if (policy !== 'noeviction') report.unverified = ['e']
    if (report.missing.length) return report
    rest = others
  }
  for (const db of rest)
    if (!(await notificationsReach(spec, node, db, cluster, report.channel!, timeoutMs)))
      report.silentDbs.push(db)
  return report
}

export interface ChangeFeed {
  /** Resolves once every change the node made before the call has been handed to `onKey`. */
  barrier(): Promise<void>
  close(): Promise<void>
}

/**
 * Follow every keyspace event of a node's db: the changed key's bytes go to `onKey`. Subscribed
 * before the bulk scan starts, so no change between the scan and the end goes unseen. Keyspace
 * channels carry the key in the channel name; keyevent channels (E without K) in the message.
 */
export async function followChanges(
  spec: ConnectionSpec,
  node: TopologyNode,
  db: number,
  onKey: (key: Buffer) => void,
  onLost: (err: Error) => void,
  channel: ChangeChannel = 'keyspace',
): Promise<ChangeFeed> {
  const sub: Redis = await openNode(spec, node, { name: 'kvtop-migrate-live' })
  const prefix = Buffer.from(`__${channel}@${db}__:`)
  sub.on('pmessageBuffer', (_pattern: Buffer, name: Buffer, message: Buffer) => {
    if (!name.subarray(0, prefix.length).equals(prefix)) return
    onKey(Buffer.from(channel === 'keyspace' ? name.subarray(prefix.length) : message))
  })
  sub.on('close', () =>
    onLost(new Error(`the keyspace notifications of ${node.address} stopped (connection closed)`)),
  )
  await sub.psubscribe(`__${channel}@${db}__:*`)
  return {
    // A PING's reply comes after every message the server pushed before it: a barrier.
    barrier: async () => {
      await sub.ping()
    },
    close: async () => {
      sub.removeAllListeners('close')
      await closeQuietly(sub)
    },
  }
}

/** Where notify-keyspace-events is set for this endpoint: the parameter group, CONFIG SET, or whoever manages it. */
export function notificationsHint(capabilities: Capabilities | undefined): string {
  const provider = capabilities?.provider ?? 'self-managed'
  if (provider === 'elasticache')
    return "Set notify-keyspace-events to KEA in the cache's parameter group (a custom group; it applies without a reboot)."
  if (capabilities?.refused.includes('config'))
    return (
      'This endpoint refuses CONFIG for this user: have notify-keyspace-events set to KEA where it is managed ' +
      '(on ElastiCache, a custom parameter group; it applies without a reboot), or connect as a user allowed CONFIG SET notify-keyspace-events KEA.'
    )
  return 'Enable them with CONFIG SET notify-keyspace-events KEA (and in redis.conf so it survives a restart).'
}
