import type { Deployment } from '../../connect/deployment.js'
import type { TopologyNode } from '../../connect/topology.js'
import { keySlot } from '../../wire/routed-pipeline.js'
import { UsageError } from '../../errors.js'
import { sampleKeys } from '../../data/keyspace/sampler.js'
import { THRESHOLDS } from '../../metrics/thresholds.js'
import { facts, type DumpCompatibility, type PlanItem } from './plan-facts.js'
import {
  databasesCheck,
  dumpVersionCheck,
  evictionPolicyCheck,
  memoryCheck,
  modulesCheck,
  notificationsCheck,
  securityCheck,
  targetEmptyCheck,
  type PlanOptions,
} from './plan-checks.js'
import type { CopyMode, MigrateMode } from './types.js'

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
  options: PlanOptions = {},
): Promise<PlanReport> {
  const [s, t] = await Promise.all([facts(source), facts(target)])
  const dump = await dumpCompatibility(source, target, t)
  const items: (PlanItem | undefined)[] = [
    databasesCheck(s, t, options),
    dumpVersionCheck(dump, t),
    modulesCheck(s, t),
    memoryCheck(s, t),
    await keySizeCheck(source, target),
    targetEmptyCheck(t, options),
    await notificationsCheck(source, options),
    evictionPolicyCheck(s, t),
    securityCheck(s, t),
  ]
  const found = items.filter((item): item is PlanItem => item !== undefined)
  return {
    go: !found.some((i) => i.level === 'blocker'),
    items: found,
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

const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`
