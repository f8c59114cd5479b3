/**
 * Live changes of one source node: keys waiting to be copied again, deduplicated, oldest first.
 * Keys are held as bytes; the map is keyed by their latin1 form (one char per byte: lossless).
 */
export class ChangeSet {
  private readonly pending = new Map<string, { key: Buffer; since: number }>()

  get size(): number {
    return this.pending.size
  }

  /** When the oldest pending change was seen (0: none pending). */
  get oldest(): number {
    for (const entry of this.pending.values()) return entry.since
    return 0
  }

  add(key: Buffer, now = Date.now()): void {
    const id = key.toString('latin1')
    if (!this.pending.has(id)) this.pending.set(id, { key, since: now })
  }

  /** Up to `n` keys, oldest first, removed from the set (a change after this adds them again). */
  take(n: number): Buffer[] {
    const out: Buffer[] = []
    for (const [id, entry] of this.pending) {
      if (out.length >= n) break
      out.push(entry.key)
      this.pending.delete(id)
    }
    return out
  }
}
