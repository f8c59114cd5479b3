import { UsageError } from '../../errors.js'

/** Which source db goes to which target db; refuses what the target cannot hold. */
export function mapDbs(
  sourceDbs: Map<number, number>,
  source: { cluster: boolean },
  target: { cluster: boolean },
  dbMap: Map<number, number>,
): { source: number; target: number }[] {
  const pairs: { source: number; target: number }[] = []
  const dbs = new Set([...sourceDbs.keys(), 0])
  for (const db of [...dbs].sort((a, b) => a - b)) {
    if (source.cluster && db !== 0) continue
    const to = dbMap.get(db) ?? db
    if (target.cluster && to !== 0) {
      throw new UsageError(`the source has keys in db ${db}, and the target, a cluster, holds only db 0`, {
        code: 'db-refused',
        hint: `Compare them with --db-map ${db}:0 (keys from several dbs may then collide).`,
      })
    }
    pairs.push({ source: db, target: to })
  }
  return pairs
}
