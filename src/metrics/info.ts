/**
 * INFO reply -> sections of raw string fields. Tolerant: unknown sections and fields are kept,
 * missing ones are simply absent (ElastiCache and MemoryDB leave some out).
 */
export type InfoSections = Record<string, Record<string, string>>

export function parseInfoSections(text: string): InfoSections {
  const sections: InfoSections = {}
  let current = 'default'
  for (const rawLine of text.split('\n')) {
    const line = rawLine.replace(/\r$/, '')
    if (!line) continue
    if (line.startsWith('#')) {
      current = line.slice(1).trim().toLowerCase()
      sections[current] ??= {}
      continue
    }
    const colon = line.indexOf(':')
    if (colon <= 0) continue
    ;(sections[current] ??= {})[line.slice(0, colon)] = line.slice(colon + 1)
  }
  return sections
}

/** All fields of all sections in one map (later sections win on a clash, which INFO never has). */
export function flattenInfo(sections: InfoSections): Record<string, string> {
  return Object.assign({}, ...Object.values(sections))
}

export function parseInfo(text: string): Record<string, string> {
  return flattenInfo(parseInfoSections(text))
}

/** `a=1,b=x` -> {a: '1', b: 'x'} (slaveN, dbN, cmdstat_*, errorstat_*, latency_percentiles_usec_*). */
export function parseInfoKeyValues(value: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const part of value.split(',')) {
    const eq = part.indexOf('=')
    if (eq > 0) out[part.slice(0, eq)] = part.slice(eq + 1)
  }
  return out
}

export function infoNumber(info: Record<string, string>, key: string): number | undefined {
  const raw = info[key]
  if (raw === undefined || raw === '') return undefined
  const n = Number(raw)
  return Number.isFinite(n) ? n : undefined
}

export interface InfoReplica {
  ip: string
  port: number
  state: string
  offset: number
  lag: number
}

/** The `slaveN:ip=..,port=..,state=..,offset=..,lag=..` lines of a primary's INFO replication. */
export function parseInfoReplicas(info: Record<string, string>): InfoReplica[] {
  const replicas: InfoReplica[] = []
  for (const [key, value] of Object.entries(info)) {
    if (!/^slave\d+$/.test(key)) continue
    const kv = parseInfoKeyValues(value)
    replicas.push({
      ip: kv.ip ?? '',
      port: Number(kv.port),
      state: kv.state ?? 'unknown',
      offset: Number(kv.offset ?? 0),
      lag: Number(kv.lag ?? 0),
    })
  }
  return replicas
}
