import { UsageError } from '../errors.js'

/**
 * `--db-map SOURCE:TARGET` flags (repeatable) -> source db -> target db. A cluster or MemoryDB
 * holds db 0 only, so restore, replay, verify and migrate all need the same mapping.
 */
export function parseDbMap(entries: readonly string[] = []): Map<number, number> {
  const map = new Map<number, number>()
  for (const entry of entries) {
    const m = /^(\d+):(\d+)$/.exec(entry.trim())
    if (!m) throw new UsageError(`invalid --db-map '${entry}': expected SOURCE:TARGET, e.g. 3:0`)
    const from = Number(m[1])
    if (map.has(from)) throw new UsageError(`--db-map names db ${from} twice`)
    map.set(from, Number(m[2]))
  }
  return map
}
