import type { Deployment } from '../../connect/deployment.js'
import { keyspace, parseInfo } from '../../redis/info.js'

/** One line of `kvtop migrate plan`: a blocker says why it matters and what to do. */
export interface PlanItem {
  level: 'blocker' | 'warning' | 'ok'
  check: string
  summary: string
  why?: string
  action?: string
}

/** What the plan's checks know of one side, read once from INFO and MODULE LIST. */
export interface SideFacts {
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

export async function facts(d: Deployment): Promise<SideFacts> {
  const primaries = d.primaries
  let keys = 0
  let usedMemory = 0
  let maxmemory = 0
  const dbs: Record<number, number> = {}
  let info: Record<string, string> = {}
  const modules = new Set<string>()
  for (const node of primaries) {
    const text = await d.info(node, 'all').catch(() => d.info(node))
    info = parseInfo(text)
    for (const [db, ks] of keyspace(text)) {
      dbs[db] = (dbs[db] ?? 0) + ks.keys
      keys += ks.keys
    }
    usedMemory += Number(info.used_memory ?? 0)
    maxmemory += Number(info.maxmemory ?? 0)
  }
  // MODULE LIST is refused on managed services: no modules is then the answer we can give.
  const moduleList = (await d.command(primaries[0], ['MODULE', 'LIST']).catch(() => [])) as unknown[]
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

export const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`
