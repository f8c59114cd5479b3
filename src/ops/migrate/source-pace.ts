/** Reads are judged over at least this many keys: fewer, and the figure is mostly one round trip. */
const MIN_KEYS = 500
/** Slower than this many times the fastest reads seen, and slower than ABSOLUTE_MS a key: back off. */
const FACTOR = 8
const ABSOLUTE_MS = 0.2
const MAX_PAUSE_MS = 1000

/** A pause the copier takes because the source answers slower. */
interface Slowdown {
  pauseMs: number
  msPerKey: number
  /** The first of a run of slow reads (the copier says so once per run). */
  first: boolean
}

/**
 * How fast one source node answers a copier's reads (DUMP and expiry, on one connection), and when
 * the copier should pause because it answers slower: the migration must not become the incident.
 *
 * A read is timed from when the source could start on it: its send, or, when the copier still had
 * earlier reads in flight on the connection, the moment the last of them was answered and handled
 * (`handled()`). The source answers a connection in order: until then the read waited behind the
 * copier's own reads, which is no slowness of the source. A short read (a scan's last page, a page
 * mostly outside --slots) is judged together with the next ones, so that it is not one round trip
 * divided by a few keys.
 */
export class SourcePace {
  private freeAt = 0
  private ms = 0
  private keys = 0
  private fastest: number | undefined
  private slow = false

  /** A read answered on the connection is handled: the source may already be on the next one. */
  handled(): void {
    this.freeAt = performance.now()
  }

  /** How long the source took with a read sent at `sentAt` (performance.now()) and answered now. */
  took(sentAt: number): number {
    return performance.now() - Math.max(sentAt, this.freeAt)
  }

  /** A read of `keys` keys took `ms`: the pause to take, if the source answers slower. */
  read(ms: number, keys: number): Slowdown | undefined {
    this.ms += ms
    this.keys += keys
    if (this.keys < MIN_KEYS) return undefined
    const msPerKey = this.ms / this.keys
    this.ms = this.keys = 0
    if (this.fastest === undefined || msPerKey < this.fastest) this.fastest = Math.max(msPerKey, 0.005)
    if (msPerKey <= this.fastest * FACTOR || msPerKey <= ABSOLUTE_MS) {
      this.slow = false
      return undefined
    }
    const first = !this.slow
    this.slow = true
    return { pauseMs: Math.min(MAX_PAUSE_MS, msPerKey * 100), msPerKey, first }
  }
}
