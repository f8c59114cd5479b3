/** What a counting pass (`entries: 'count'`) learns of the keys: keys per db, per RDB type, with an expire time. */
interface KeyCounts {
  keys: number
  expires: number
  perDb: Map<number, number>
  perType: Map<number, number>
}

/**
 * The counts of a pass that tallies keys instead of yielding them. Four map operations per key
 * were a fifth of a verification pass: keys are counted in plain numbers here (in the current db,
 * per RDB type: a byte) and added to the maps with each batch and at each SELECTDB (`flush`).
 */
export class KeyTally {
  readonly counts: KeyCounts = { keys: 0, expires: 0, perDb: new Map(), perType: new Map() }
  private dbPending = 0
  private readonly typePending = new Float64Array(256)

  /** One key of RDB type `type`. */
  add(type: number, expiring: boolean): void {
    const t = this.counts
    t.keys++
    if (expiring) t.expires++
    this.dbPending++
    // A type's first key puts it in the map, so that the map keeps the order types appear in.
    if (this.typePending[type]++ === 0 && !t.perType.has(type)) t.perType.set(type, 0)
  }

  /** Add the keys counted since the last call, all of db `db`, to the maps. */
  flush(db: number): void {
    const t = this.counts
    if (this.dbPending) {
      t.perDb.set(db, (t.perDb.get(db) ?? 0) + this.dbPending)
      this.dbPending = 0
    }
    for (const [type, n] of t.perType) {
      if (!this.typePending[type]) continue
      t.perType.set(type, n + this.typePending[type])
      this.typePending[type] = 0
    }
  }
}
