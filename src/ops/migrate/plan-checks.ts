import type { Deployment } from '../../connect/deployment.js'
import { errorMessage } from '../../errors.js'
import { inspectNotifications, notificationProblems, notificationsHint } from './notifications.js'
import { mb, type DumpCompatibility, type PlanItem, type SideFacts } from './plan-facts.js'

/**
 * The checks of `kvtop migrate plan`, one function per item, in the order the report lists them.
 * Each says what it found; a blocker says why it matters and what to do.
 */
export interface PlanOptions {
  live?: boolean
  replace?: boolean
  dbMap?: Map<number, number>
}

/** Keys outside db 0 have nowhere to go on a cluster or MemoryDB unless mapped. */
export function databasesCheck(s: SideFacts, t: SideFacts, options: PlanOptions): PlanItem {
  const memorydb = t.provider === 'memorydb'
  const targetSingleDb = t.mode === 'cluster' || memorydb
  const otherDbs = Object.entries(s.dbs).filter(
    ([db, n]) => Number(db) !== 0 && n > 0 && (options.dbMap?.get(Number(db)) ?? Number(db)) !== 0,
  )
  if (targetSingleDb && otherDbs.length)
    return {
      level: 'blocker',
      check: 'databases',
      summary: `the source has keys in ${otherDbs.map(([db, n]) => `db ${db} (${n})`).join(', ')}; the target (${memorydb ? 'MemoryDB' : 'a cluster'}) holds db 0 only`,
      why: 'Keys outside db 0 have nowhere to go.',
      action: `Map them with ${otherDbs.map(([db]) => `--db-map ${db}:0`).join(' ')} (check that their names do not collide), or move them to db 0 first.`,
    }
  return {
    level: 'ok',
    check: 'databases',
    summary: `databases fit (${
      Object.keys(s.dbs)
        .map((d) => `db ${d}`)
        .join(', ') || 'empty'
    })`,
  }
}

export function dumpVersionCheck(dump: DumpCompatibility, t: SideFacts): PlanItem {
  if (dump.readable === false)
    return {
      level: 'blocker',
      check: 'dump-version',
      summary: `source DUMP payloads are RDB version ${dump.source}; the target (${t.engine} ${t.version}) accepts up to ${dump.accepted}`,
      why: 'RESTORE refuses payloads from a newer version.',
      action:
        'Upgrade the target, or copy with migrate run --mode logical (values rebuilt with type commands instead of DUMP/RESTORE; --mode auto chooses it by itself).',
    }
  return {
    level: 'ok',
    check: 'dump-version',
    summary: `DUMP payloads (RDB ${dump.source ?? '?'}) are accepted by the target`,
  }
}

export function modulesCheck(s: SideFacts, t: SideFacts): PlanItem | undefined {
  const missingModules = s.modules.filter((m) => !t.modules.includes(m))
  if (!missingModules.length) return undefined
  return {
    level: 'blocker',
    check: 'modules',
    summary: `the source uses modules the target lacks: ${missingModules.join(', ')}`,
    why: 'Keys of module types cannot be restored without the module.',
    action: 'Load the modules on the target, or leave those keys out.',
  }
}

/** The source's memory with 20 % headroom against the target's maxmemory. */
export function memoryCheck(s: SideFacts, t: SideFacts): PlanItem {
  if (t.maxmemory <= 0)
    return {
      level: 'warning',
      check: 'memory',
      summary: 'the target has no maxmemory: capacity could not be checked',
      why: 'A full host swaps or gets killed.',
      action: 'Check the target hosts have room for ' + mb(s.usedMemory) + '.',
    }
  const need = s.usedMemory * 1.2
  if (need > t.maxmemory)
    return {
      level: 'blocker',
      check: 'memory',
      summary: `the source uses ${mb(s.usedMemory)} (${mb(need)} with 20 % headroom); the target's maxmemory is ${mb(t.maxmemory)}`,
      why: 'The target would evict keys or refuse writes before the copy ends.',
      action: 'Use a bigger node type or more shards on the target.',
    }
  return {
    level: 'ok',
    check: 'memory',
    summary: `${mb(s.usedMemory)} fits in ${mb(t.maxmemory)} with headroom`,
  }
}

export function targetEmptyCheck(t: SideFacts, options: PlanOptions): PlanItem {
  if (t.keys <= 0) return { level: 'ok', check: 'target-empty', summary: 'the target is empty' }
  return {
    level: options.replace ? 'warning' : 'blocker',
    check: 'target-empty',
    summary: `the target already holds ${t.keys} keys`,
    why: 'Keys of the same name would be overwritten; others would mix with the copy.',
    action: options.replace
      ? 'You gave --replace: same-named keys will be overwritten.'
      : 'Empty the target, or pass --replace to overwrite same-named keys.',
  }
}

/**
 * Keyspace notifications: needed for --live, checked on every source primary (CONFIG GET, or
 * test writes of each class where CONFIG is refused).
 */
export async function notificationsCheck(source: Deployment, options: PlanOptions): Promise<PlanItem> {
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
  if (problems.length)
    return {
      level: options.live ? 'blocker' : 'warning',
      check: 'notifications',
      summary: problems.join('; '),
      why: '--live follows changes through them, every class of change included; without them only a one-time copy is possible, and a class left out means changes of that kind are never copied.',
      action: notificationsHint(source.capabilities),
    }
  return {
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
  }
}

export function evictionPolicyCheck(s: SideFacts, t: SideFacts): PlanItem | undefined {
  if (s.policy === t.policy || t.policy === 'unknown') return undefined
  return {
    level: 'warning',
    check: 'eviction-policy',
    summary: `eviction policy differs: ${s.policy} on the source, ${t.policy} on the target`,
    why: 'Under memory pressure the target will drop (or refuse) different keys than the source did.',
    action: 'Align maxmemory-policy (parameter group on AWS) unless the change is intended.',
  }
}

export function securityCheck(s: SideFacts, t: SideFacts): PlanItem | undefined {
  if (s.tls === t.tls && s.acl === t.acl) return undefined
  return {
    level: 'warning',
    check: 'security',
    summary: `TLS ${s.tls ? 'on' : 'off'} / ACL user ${s.acl ? 'yes' : 'no'} on the source, TLS ${t.tls ? 'on' : 'off'} / ACL user ${t.acl ? 'yes' : 'no'} on the target`,
    why: 'Clients switched to the target need the matching TLS settings and credentials.',
    action: 'Update client configuration (TLS, user, password) together with the endpoint at cutover.',
  }
}
