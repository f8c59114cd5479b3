import { keyspace, parseInfo } from '../../redis/info.js'

/**
 * The counters a primary's INFO moves on every change of its keyspace: a write (any client, a
 * replication stream, FLUSHALL, RESTORE: `rdb_changes_since_last_save`), an expiry (active or on
 * access), an eviction. A save resets the first, so a save during the run is a change too
 * (`rdb_last_save_time`, and `rdb_saves` where the server has it, Redis 7+).
 */
const CHANGE_COUNTERS = ['rdb_changes_since_last_save', 'rdb_last_save_time', 'expired_keys', 'evicted_keys']
const OPTIONAL_COUNTERS = ['rdb_saves']

/** One db of a side, over all its primaries. */
interface DbCounts {
  keys: number
  /** Keys with an expiry. */
  expires: number
}

/** What a side's primaries said of their keyspace at one moment (INFO). */
export interface SideState {
  dbs: Map<number, DbCounts>
  /**
   * Every primary's change counters, as one string: equal strings before and after mean nothing was
   * written, expired, evicted or saved in between. Undefined when a primary leaves one out (a
   * managed service may), is saving right now or is a replica: then no change can be ruled out.
   */
  changes: string | undefined
}

/** The change counters of one INFO reply, or undefined when they cannot tell (see SideState). */
function changeCounters(info: Record<string, string>): string | undefined {
  // A replica hides the keys that expired on its primary until the primary's DEL comes, still
  // counting them: only a primary's counts are its keys.
  if (info.role !== 'master' || info.rdb_bgsave_in_progress !== '0') return undefined
  const values = CHANGE_COUNTERS.map((name) => info[name])
  if (values.some((v) => v === undefined || v === '')) return undefined
  return [...values, ...OPTIONAL_COUNTERS.map((name) => info[name] ?? '')].join(',')
}

/** A side's state from the INFO reply of each of its primaries (address -> reply text). */
export function sideState(replies: [address: string, info: string][]): SideState {
  const dbs = new Map<number, DbCounts>()
  const changes: string[] = []
  let known = true
  for (const [address, text] of replies) {
    const counters = changeCounters(parseInfo(text))
    if (counters === undefined) known = false
    changes.push(`${address}=${counters ?? ''}`)
    for (const [db, ks] of keyspace(text)) {
      const sum = dbs.get(db) ?? { keys: 0, expires: 0 }
      dbs.set(db, { keys: sum.keys + ks.keys, expires: sum.expires + ks.expires })
    }
  }
  return { dbs, changes: known ? changes.join(';') : undefined }
}

/** Did neither moment's counters move (and could both tell)? */
export const unchanged = (before: SideState, after: SideState): boolean =>
  before.changes !== undefined && before.changes === after.changes

/** Does no key of `db` have an expiry (or the db no key)? */
export const holdsNoExpiry = (state: SideState, db: number): boolean =>
  (state.dbs.get(db)?.expires ?? 0) === 0
