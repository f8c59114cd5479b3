import type { Redis } from 'ioredis'
import type { Capabilities } from '../../connect/capabilities.js'
import type { Deployment } from '../../connect/deployment.js'
import type { TopologyNode } from '../../connect/topology.js'
import { keySlot } from '../../wire/routed-pipeline.js'
import { UsageError, errorMessage } from '../../errors.js'
import { keyspace, parseInfo } from '../../redis/info.js'
import { sampleKeys } from '../../data/keyspace/sampler.js'
import { THRESHOLDS } from '../../metrics/thresholds.js'
import { inspectNotifications, notificationProblems } from './notifications.js'
import type { CopyMode, MigrateMode } from './types.js'

export interface PlanItem {
  level: 'blocker' | 'warning' | 'ok'
  check: string
  summary: string
  why?: string
  action?: string
}

export interface PlanReport {
  go: boolean
  items: PlanItem[]
  source: {
    mode: string
    engine: string
    version: string
    keys: number
    dbs: Record<number, number>
    usedMemory: number
  }
  target: {
    mode: string
    engine: string
    version: string
    keys: number
    maxmemory: number
    usedMemory: number
  }
}

interface SideFacts {
  mode: string
  engine: string
  version: string
  provider: string
  keys: number
  dbs: Record<number, number>
  usedMemory: number
  maxmemory: number
  policy: string
  modules: string[]
  tls: boolean
  acl: boolean
}

async function facts(d: Deployment): Promise<SideFacts> {
  const primaries = d.primaries
  let keys = 0
  let usedMemory = 0
  let maxmemory = 0
  const dbs: Record<number, number> = {}
  let info: Record<string, string> = {}
  const modules = new Set<string>()
  for (const node of primaries) {
    const c: Redis = await d.client(node)
    const text = String(await c.info('all').catch(() => c.info()))
    info = parseInfo(text)
    for (const [db, ks] of keyspace(text)) {
      dbs[db] = (dbs[db] ?? 0) + ks.keys
      keys += ks.keys
    }
    usedMemory += Number(info.used_memory ?? 0)
    maxmemory += Number(info.maxmemory ?? 0)
  }
  // MODULE LIST is refused on managed services: no modules is then the answer we can give.
  const moduleList = (await (
    await d.client(primaries[0])
  )
    .call('MODULE', 'LIST')
    .catch(() => [])) as unknown[]
  for (const m of moduleList as unknown[][]) if (Array.isArray(m)) modules.add(String(m[1]))
  return {
    mode: d.topology.mode,
    engine: info.server_name === 'valkey' || info.valkey_version ? 'valkey' : 'redis',
    version: info.valkey_version ?? info.redis_version ?? 'unknown',
    provider: d.capabilities?.provider ?? 'self-managed',
    keys,
    dbs,
    usedMemory,
    maxmemory,
    policy: info.maxmemory_policy ?? 'unknown',
    modules: [...modules].filter(Boolean),
    tls: d.spec.endpoint.tls,
    acl: Boolean(d.spec.endpoint.username && d.spec.endpoint.username !== 'default'),
  }
}

/** The RDB version of a DUMP payload: the two bytes before the CRC64. */
function payloadVersion(payload: Buffer | null): number | undefined {
  return payload && payload.length >= 10 ? payload.readUInt16LE(payload.length - 10) : undefined
}

/** A scratch key this node serves (a cluster node only answers for its own slots). */
function probeKey(node: TopologyNode): string {
  const base = `__kvtop_probe__:dumpver:${process.pid}`
  if (!node.slots.length) return base
  for (let i = 0; i < 100_000; i++) {
    const key = `${base}:{${i}}`
    const slot = keySlot(Buffer.from(key))
    if (node.slots.some(([a, b]) => slot >= a && slot <= b)) return key
  }
  return base
}

/**
 * RDB version a server writes in DUMP payloads. `existing`: read from a key it holds (SCAN + DUMP,
 * nothing written) before falling back to a scratch key of its own (written, dumped, deleted).
 */
async function dumpVersion(d: Deployment, options: { existing?: boolean } = {}): Promise<number | undefined> {
  const node = d.topology.mode === 'cluster' ? d.primaries.find((n) => n.slots.length) : d.primaries[0]
  if (!node) return undefined
  try {
    const c = await d.client(node)
    if (options.existing) {
      const [, keys] = await c.scanBuffer('0', 'COUNT', 100)
      for (const key of keys.slice(0, 10)) {
        const version = payloadVersion((await c.dumpBuffer(key)) as Buffer | null)
        if (version !== undefined) return version
      }
    }
    const key = probeKey(node)
    await c.set(key, 'x', 'PX', 5000)
    const payload = (await c.dumpBuffer(key)) as Buffer | null
    await c.del(key)
    return payloadVersion(payload)
  } catch {
    return undefined
  }
}

/**
 * The highest RDB version a server accepts, from its engine and version, where no DUMP could be
 * made on it (Redis 7.0: 10, 7.2: 11, 7.4: 12; Valkey 7.2 and 8: 11, 9: 80).
 */
function acceptedRdbVersion(engine: string, version: string): number {
  const [major, minor] = version.split('.').map(Number)
  if (engine === 'valkey') return major >= 9 ? 80 : 11
  if (major > 7 || (major === 7 && minor >= 4)) return 12
  if (major === 7 && minor >= 2) return 11
  if (major === 7) return 10
  return 9
}

/** Can the target RESTORE what the source's DUMP writes? */
export interface DumpCompatibility {
  /** RDB version of the source's payloads (undefined: it could not be read). */
  source?: number
  /** The highest version the target reads: the one it writes itself, or known from its version. */
  accepted: number
  /** False when the target refuses the source's payloads; undefined when that cannot be told. */
  readable?: boolean
  /** The target as `engine version`, for messages. */
  target: string
}

/**
 * The source's DUMP version (from a key it holds where it has one: nothing written to it then)
 * against the highest the target reads (the version of its own payloads, written on a scratch key
 * and deleted; its engine's known version where that is refused). A server reads its own version
 * and older ones only.
 */
export async function dumpCompatibility(
  source: Deployment,
  target: Deployment,
  targetServer?: { engine: string; version: string },
): Promise<DumpCompatibility> {
  const [sv, tv] = await Promise.all([dumpVersion(source, { existing: true }), dumpVersion(target)])
  const engine = targetServer?.engine ?? target.capabilities?.engine ?? 'redis'
  const version = targetServer?.version ?? target.capabilities?.version ?? 'unknown'
  const accepted = tv ?? acceptedRdbVersion(engine, version)
  return {
    ...(sv !== undefined ? { source: sv } : {}),
    accepted,
    ...(sv !== undefined && Number.isFinite(accepted) ? { readable: sv <= accepted } : {}),
    target: `${engine} ${version}`,
  }
}

/**
 * The copy mode of `migrate run`: --mode logical as asked; --mode dump refused (exit 2, before
 * anything is copied) when the target cannot read the source's payloads; --mode auto chooses
 * logical then and dump otherwise, saying why (resuming, it keeps what the checkpoint records).
 */
export function chooseMode(
  requested: MigrateMode,
  recorded: CopyMode | undefined,
  dump: DumpCompatibility | undefined,
): { mode: CopyMode; reason?: string } {
  if (requested === 'logical') return { mode: 'logical' }
  if (requested === 'auto' && recorded)
    return { mode: recorded, reason: 'the mode the resumed checkpoint records' }
  const unreadable = dump?.readable === false
  if (requested === 'dump') {
    if (unreadable)
      throw new UsageError(
        `the target (${dump.target}) cannot read the source's DUMP payloads: the source writes RDB version ${dump.source}, the target reads up to ${dump.accepted}`,
        {
          code: 'dump-version',
          hint: 'Copy with --mode logical (values rebuilt with type commands: portable across versions and engines), or --mode auto to have kvtop choose; or upgrade the target.',
        },
      )
    return { mode: 'dump' }
  }
  if (unreadable)
    return {
      mode: 'logical',
      reason: `the target (${dump.target}) reads DUMP payloads up to RDB version ${dump.accepted}, the source writes ${dump.source}`,
    }
  return {
    mode: 'dump',
    reason:
      dump?.readable === true
        ? `the target (${dump.target}) reads the source's DUMP payloads (RDB version ${dump.source})`
        : "the source's DUMP version could not be read: DUMP/RESTORE is tried (a payload the target refuses stops the run, naming --mode logical)",
  }
}

/**
 * `kvtop migrate plan`: go / no-go before a migration. Each item says why it matters and what to do.
 * Reads only: the notification probe writes (every class, where CONFIG is refused) and deletes a
 * scratch key of its own.
 */
export async function planMigration(
  source: Deployment,
  target: Deployment,
  options: { live?: boolean; replace?: boolean; dbMap?: Map<number, number> } = {},
): Promise<PlanReport> {
  const [s, t] = await Promise.all([facts(source), facts(target)])
  const items: PlanItem[] = []
  const memorydb = t.provider === 'memorydb'
  const targetSingleDb = t.mode === 'cluster' || memorydb
  const otherDbs = Object.entries(s.dbs).filter(
    ([db, n]) => Number(db) !== 0 && n > 0 && (options.dbMap?.get(Number(db)) ?? Number(db)) !== 0,
  )
  if (targetSingleDb && otherDbs.length) {
    items.push({
      level: 'blocker',
      check: 'databases',
      summary: `the source has keys in ${otherDbs.map(([db, n]) => `db ${db} (${n})`).join(', ')}; the target (${memorydb ? 'MemoryDB' : 'a cluster'}) holds db 0 only`,
      why: 'Keys outside db 0 have nowhere to go.',
      action: `Map them with ${otherDbs.map(([db]) => `--db-map ${db}:0`).join(' ')} (check that their names do not collide), or move them to db 0 first.`,
    })
  } else
    items.push({
      level: 'ok',
      check: 'databases',
      summary: `databases fit (${
        Object.keys(s.dbs)
          .map((d) => `db ${d}`)
          .join(', ') || 'empty'
      })`,
    })

  const dump = await dumpCompatibility(source, target, t)
  if (dump.readable === false) {
    items.push({
      level: 'blocker',
      check: 'dump-version',
      summary: `source DUMP payloads are RDB version ${dump.source}; the target (${t.engine} ${t.version}) accepts up to ${dump.accepted}`,
      why: 'RESTORE refuses payloads from a newer version.',
      action:
        'Upgrade the target, or copy with migrate run --mode logical (values rebuilt with type commands instead of DUMP/RESTORE; --mode auto chooses it by itself).',
    })
  } else
    items.push({
      level: 'ok',
      check: 'dump-version',
      summary: `DUMP payloads (RDB ${dump.source ?? '?'}) are accepted by the target`,
    })

  const missingModules = s.modules.filter((m) => !t.modules.includes(m))
  if (missingModules.length) {
    items.push({
      level: 'blocker',
      check: 'modules',
      summary: `the source uses modules the target lacks: ${missingModules.join(', ')}`,
      why: 'Keys of module types cannot be restored without the module.',
      action: 'Load the modules on the target, or leave those keys out.',
    })
  }

  if (t.maxmemory > 0) {
    const need = s.usedMemory * 1.2
    if (need > t.maxmemory) {
      items.push({
        level: 'blocker',
        check: 'memory',
        summary: `the source uses ${mb(s.usedMemory)} (${mb(need)} with 20 % headroom); the target's maxmemory is ${mb(t.maxmemory)}`,
        why: 'The target would evict keys or refuse writes before the copy ends.',
        action: 'Use a bigger node type or more shards on the target.',
      })
    } else
      items.push({
        level: 'ok',
        check: 'memory',
        summary: `${mb(s.usedMemory)} fits in ${mb(t.maxmemory)} with headroom`,
      })
  } else
    items.push({
      level: 'warning',
      check: 'memory',
      summary: 'the target has no maxmemory: capacity could not be checked',
      why: 'A full host swaps or gets killed.',
      action: 'Check the target hosts have room for ' + mb(s.usedMemory) + '.',
    })

  items.push(await keySizeCheck(source, target))

  if (t.keys > 0) {
    items.push({
      level: options.replace ? 'warning' : 'blocker',
      check: 'target-empty',
      summary: `the target already holds ${t.keys} keys`,
      why: 'Keys of the same name would be overwritten; others would mix with the copy.',
      action: options.replace
        ? 'You gave --replace: same-named keys will be overwritten.'
        : 'Empty the target, or pass --replace to overwrite same-named keys.',
    })
  } else items.push({ level: 'ok', check: 'target-empty', summary: 'the target is empty' })

  // Keyspace notifications: needed for --live, checked on every source primary (CONFIG GET, or
  // test writes of each class where CONFIG is refused).
  const problems: string[] = []
  const unverified: string[] = []
  for (const node of source.primaries) {
    try {
      const r = await inspectNotifications(source.spec, node, [0], source.topology.mode === 'cluster')
      problems.push(...notificationProblems(r).map((p) => p.message))
      if (r.unverified.length) unverified.push(node.address)
    } catch (err) {
      problems.push(`keyspace notifications could not be checked on ${node.address}: ${errorMessage(err)}`)
    }
  }
  if (problems.length) {
    items.push({
      level: options.live ? 'blocker' : 'warning',
      check: 'notifications',
      summary: problems.join('; '),
      why: '--live follows changes through them, every class of change included; without them only a one-time copy is possible, and a class left out means changes of that kind are never copied.',
      action: notificationsHint(source.capabilities),
    })
  } else
    items.push({
      level: unverified.length && options.live ? 'warning' : 'ok',
      check: 'notifications',
      summary:
        'keyspace notifications of every class reach kvtop (--live possible)' +
        (unverified.length
          ? `; whether evictions (e) are notified on ${unverified.join(', ')} cannot be tested without CONFIG`
          : ''),
      ...(unverified.length && options.live
        ? {
            why: 'A key the source evicts and kvtop does not hear of stays on the target (the final verify reports it).',
            action: 'Make sure notify-keyspace-events includes e (KEA does), or use a noeviction policy.',
          }
        : {}),
    })

  if (s.policy !== t.policy && t.policy !== 'unknown') {
    items.push({
      level: 'warning',
      check: 'eviction-policy',
      summary: `eviction policy differs: ${s.policy} on the source, ${t.policy} on the target`,
      why: 'Under memory pressure the target will drop (or refuse) different keys than the source did.',
      action: 'Align maxmemory-policy (parameter group on AWS) unless the change is intended.',
    })
  }
  if (s.tls !== t.tls || s.acl !== t.acl) {
    items.push({
      level: 'warning',
      check: 'security',
      summary: `TLS ${s.tls ? 'on' : 'off'} / ACL user ${s.acl ? 'yes' : 'no'} on the source, TLS ${t.tls ? 'on' : 'off'} / ACL user ${t.acl ? 'yes' : 'no'} on the target`,
      why: 'Clients switched to the target need the matching TLS settings and credentials.',
      action: 'Update client configuration (TLS, user, password) together with the endpoint at cutover.',
    })
  }
  return {
    go: !items.some((i) => i.level === 'blocker'),
    items,
    source: {
      mode: s.mode,
      engine: s.engine,
      version: s.version,
      keys: s.keys,
      dbs: s.dbs,
      usedMemory: s.usedMemory,
    },
    target: {
      mode: t.mode,
      engine: t.engine,
      version: t.version,
      keys: t.keys,
      maxmemory: t.maxmemory,
      usedMemory: t.usedMemory,
    },
  }
}

const DEFAULT_PROTO_MAX_BULK_LEN = 512 * 1024 * 1024
/** Keys this big hold the target's event loop while one RESTORE runs: worth knowing before cutover. */
const SLOW_KEY_BYTES = 64 * 1024 * 1024

/**
 * The biggest keys of a sample of the source (SCAN + MEMORY USAGE, rate-limited) against what one
 * RESTORE may carry on the target (proto-max-bulk-len; its default where CONFIG is refused).
 */
async function keySizeCheck(source: Deployment, target: Deployment): Promise<PlanItem> {
  const sample = await sampleKeys(source, {
    budget: 2000,
    lfu: new Map(),
    perSecond: 5000,
    timeoutMs: 5000,
    bigKeyBytes: THRESHOLDS.bigKeyBytes,
    hotKeyFreq: THRESHOLDS.hotKeyFreq,
  }).catch(() => undefined)
  if (!sample || sample.sampled === 0)
    return {
      level: 'ok',
      check: 'key-size',
      summary: 'no key sampled (empty source, or MEMORY USAGE refused)',
    }
  let limit = DEFAULT_PROTO_MAX_BULK_LEN
  try {
    const reply = (await (
      await target.client(target.primaries[0])
    ).config('GET', 'proto-max-bulk-len')) as string[]
    if (reply[1]) limit = Number(reply[1])
  } catch {
    // CONFIG refused (managed services): their default applies
  }
  const biggest = sample.bigKeys[0]
  const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`
  if (biggest && biggest.bytes > limit)
    return {
      level: 'blocker',
      check: 'key-size',
      summary: `key "${biggest.key}" on ${biggest.node} uses ${mb(biggest.bytes)}; the target takes at most ${mb(limit)} in one command (proto-max-bulk-len)`,
      why: 'Its RESTORE payload would be refused: the key would be missing on the target.',
      action:
        'Raise proto-max-bulk-len on the target, split the key, or copy it with --mode logical (chunked).',
    }
  if (biggest && biggest.bytes >= SLOW_KEY_BYTES)
    return {
      level: 'warning',
      check: 'key-size',
      summary: `key "${biggest.key}" on ${biggest.node} uses ${mb(biggest.bytes)} (${sample.bigKeys.length} keys of 1 MB or more among ${sample.sampled} sampled)`,
      why: 'Restoring a key this big blocks the target node while it runs, and every change to it is copied whole again under --live.',
      action: 'Expect a pause per big key; consider --mode logical (chunked) or splitting the key.',
    }
  return {
    level: 'ok',
    check: 'key-size',
    summary: biggest
      ? `largest sampled key ${mb(biggest.bytes)} ("${biggest.key}"), under the target's ${mb(limit)} limit (${sample.sampled} sampled)`
      : `no key of 1 MB or more among ${sample.sampled} sampled`,
  }
}

/** How to turn keyspace notifications on, for what the endpoint is and whether it lets us CONFIG SET. */
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

const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`
