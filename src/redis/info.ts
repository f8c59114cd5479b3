/**
 * INFO reply -> sections of raw string fields. Tolerant: unknown sections and fields are kept,
 * missing ones are simply absent (ElastiCache and MemoryDB leave some out).
 */
export type InfoSections = Record<string, Record<string, string>>

/**
 * `keep`, when given, chooses the fields to keep by name (the poller keeps only those it reads:
 * most of INFO, allocator details and persistence internals, it does not need).
 */
export function parseInfoSections(text: string, keep?: (field: string) => boolean): InfoSections {
  // Called for every node every round: a plain scan, no regular expressions.
  const sections: InfoSections = {}
  let current: Record<string, string> | undefined
  let start = 0
  const length = text.length
  while (start < length) {
    let end = text.indexOf('\n', start)
    if (end < 0) end = length
    let stop = end
    if (stop > start && text.charCodeAt(stop - 1) === 13) stop--
    if (stop > start) {
      if (text.charCodeAt(start) === 35) {
        const name = text
          .slice(start + 1, stop)
          .trim()
          .toLowerCase()
        current = sections[name] ??= {}
      } else {
        const colon = text.indexOf(':', start)
        if (colon > start && colon < stop) {
          const field = text.slice(start, colon)
          if (keep === undefined || keep(field))
            (current ??= sections.default ??= {})[field] = text.slice(colon + 1, stop)
        }
      }
    }
    start = end + 1
  }
  return sections
}

/** All fields of all sections in one map (later sections win on a clash, which INFO never has). */
function flattenInfo(sections: InfoSections): Record<string, string> {
  return Object.assign({}, ...Object.values(sections))
}

export function parseInfo(text: string): Record<string, string> {
  return flattenInfo(parseInfoSections(text))
}

/** `a=1,b=x` -> {a: '1', b: 'x'} (slaveN, dbN, cmdstat_*, errorstat_*, latency_percentiles_usec_*). */
function parseInfoKeyValues(value: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const part of value.split(',')) {
    const eq = part.indexOf('=')
    if (eq > 0) out[part.slice(0, eq)] = part.slice(eq + 1)
  }
  return out
}

export interface InfoReplica {
  ip: string
  port: number
  state: string
  /** The offset the replica last acknowledged (REPLCONF ACK, about once a second). */
  offset: number
  /** Seconds since that acknowledgement. */
  lag: number
  /** Valkey 8+: `replica`, or `rdb-channel` for the second connection of a dual-channel sync. */
  type?: string
}

/** The `slaveN:ip=..,port=..,state=..,offset=..,lag=..` lines of a primary's INFO replication. */
export function parseInfoReplicas(info: Record<string, string>): InfoReplica[] {
  const replicas: InfoReplica[] = []
  for (const [key, value] of Object.entries(info)) {
    if (!/^slave\d+$/.test(key)) continue
    const kv = parseInfoKeyValues(value)
    // A dual-channel sync's RDB connection is not a second replica.
    if (kv.type === 'rdb-channel') continue
    replicas.push({
      ip: kv.ip ?? '',
      port: Number(kv.port),
      state: kv.state ?? 'unknown',
      offset: Number(kv.offset ?? 0),
      lag: Number(kv.lag ?? 0),
      ...(kv.type ? { type: kv.type } : {}),
    })
  }
  return replicas
}

/** One `cmdstat_<name>` line: cumulative since start (or CONFIG RESETSTAT). */
export interface CommandStat {
  calls: number
  usec: number
  usecPerCall: number
  /** Redis 6.2+: rejected before running (ACL, OOM, wrong arity...) and failed while running. */
  rejectedCalls: number
  failedCalls: number
}

function num(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined
  const n = Number(value)
  return Number.isFinite(n) ? n : undefined
}

/**
 * The Commandstats section -> command name (lowercase, `container|sub` for subcommands as Redis 7
 * reports them) -> counters. Lines that are not `cmdstat_*` are ignored; absent counters are 0.
 */
/**
 * Parsed values of INFO lines by key, reused while a line is unchanged: most commands are idle in
 * any one interval, so their Commandstats and Latencystats lines repeat round after round. The
 * parsed objects are shared between rounds and must not be modified.
 */
export type InfoLineCache = Map<string, { raw: string; value: unknown }>

function cached<T>(cache: InfoLineCache | undefined, key: string, raw: string, parse: () => T): T {
  if (!cache) return parse()
  const hit = cache.get(key)
  if (hit && hit.raw === raw) return hit.value as T
  const value = parse()
  cache.set(key, { raw, value })
  return value
}

export function parseCommandStats(
  section: Record<string, string> | undefined,
  cache?: InfoLineCache,
): Record<string, CommandStat> {
  const out: Record<string, CommandStat> = {}
  if (!section) return out
  for (const key in section) {
    if (!key.startsWith('cmdstat_')) continue
    out[key.slice(8).toLowerCase()] = cached(cache, key, section[key], () => parseCommandStat(section[key]))
  }
  return out
}

function parseCommandStat(text: string): CommandStat {
  let calls = 0
  let usec = 0
  let usecPerCall: number | undefined
  let rejectedCalls = 0
  let failedCalls = 0
  scanPairs(text, (name, value) => {
    if (name === 'calls') calls = value
    else if (name === 'usec') usec = value
    else if (name === 'usec_per_call') usecPerCall = value
    else if (name === 'rejected_calls') rejectedCalls = value
    else if (name === 'failed_calls') failedCalls = value
  })
  return {
    calls,
    usec,
    usecPerCall: usecPerCall ?? (calls > 0 ? usec / calls : 0),
    rejectedCalls,
    failedCalls,
  }
}

/** `a=1,b=2.5` -> fn('a', 1), fn('b', 2.5); pairs whose value is not a number are skipped. */
function scanPairs(text: string, fn: (name: string, value: number) => void): void {
  let start = 0
  while (start < text.length) {
    let end = text.indexOf(',', start)
    if (end < 0) end = text.length
    const eq = text.indexOf('=', start)
    if (eq > start && eq < end - 1) {
      const v = Number(text.slice(eq + 1, end))
      if (Number.isFinite(v)) fn(text.slice(start, eq), v)
    }
    start = end + 1
  }
}

/** The Errorstats section (Redis 6.2+): error prefix (`ERR`, `WRONGTYPE`, `NOPERM`...) -> count. */
export function parseErrorStats(section: Record<string, string> | undefined): Record<string, number> {
  const out: Record<string, number> = {}
  if (!section) return out
  for (const [key, value] of Object.entries(section)) {
    if (!key.startsWith('errorstat_')) continue
    const count = num(parseInfoKeyValues(value).count)
    if (count !== undefined) out[key.slice('errorstat_'.length)] = count
  }
  return out
}

/**
 * The Latencystats section (Redis 7+): command -> percentile label (`p50`, `p99`, `p99.9`) -> usec.
 * Cumulative since start: these are the server's own histograms, not per-interval figures.
 */
export function parseLatencyStats(
  section: Record<string, string> | undefined,
  cache?: InfoLineCache,
): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {}
  if (!section) return out
  const prefix = 'latency_percentiles_usec_'
  for (const key in section) {
    if (!key.startsWith(prefix)) continue
    out[key.slice(prefix.length).toLowerCase()] = cached(cache, key, section[key], () => {
      const percentiles: Record<string, number> = {}
      scanPairs(section[key], (label, value) => {
        percentiles[label] = value
      })
      return percentiles
    })
  }
  return out
}

export interface KeyspaceDb {
  keys: number
  expires: number
  /** Average TTL in ms of the keys with one (0 when none or unknown). */
  avgTtl: number
}

/** The Keyspace section: `db0:keys=1,expires=0,avg_ttl=0[,subexpiry=0]` -> {0: {...}}. */
export function parseKeyspace(section: Record<string, string> | undefined): Record<number, KeyspaceDb> {
  const out: Record<number, KeyspaceDb> = {}
  if (!section) return out
  for (const [key, value] of Object.entries(section)) {
    const m = /^db(\d+)$/.exec(key)
    if (!m) continue
    const kv = parseInfoKeyValues(value)
    out[Number(m[1])] = {
      keys: num(kv.keys) ?? 0,
      expires: num(kv.expires) ?? 0,
      avgTtl: num(kv.avg_ttl) ?? 0,
    }
  }
  return out
}

/**
 * The databases an INFO reply (`INFO keyspace`, or a fuller one) lists, by number in ascending
 * order: the one reader of `db0:keys=...,expires=...` for every operation.
 */
export function keyspace(infoText: string): Map<number, KeyspaceDb> {
  const dbs = parseKeyspace(parseInfoSections(infoText).keyspace)
  return new Map(Object.entries(dbs).map(([db, ks]) => [Number(db), ks]))
}
