import type { Deployment } from '../../connect/deployment.js'
import { sampleKeys } from '../../data/keyspace/sampler.js'
import { THRESHOLDS } from '../../metrics/thresholds.js'
import { dumpCompatibility } from './copy-mode.js'
import { facts, type PlanItem } from './plan-facts.js'
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
    const reply = (await target.command(target.primaries[0], [
      'CONFIG',
      'GET',
      'proto-max-bulk-len',
    ])) as Buffer[]
    if (reply[1]) limit = Number(String(reply[1]))
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
