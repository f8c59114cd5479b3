import type { RawLogEntry } from './log-reply.js'

interface CursorResult {
  /** Entries not seen before, newest first. */
  fresh: RawLogEntry[]
  /** The server restarted (run id changed or ids went backwards): ids start over. */
  reset: boolean
  /** The reply was cut at the count asked for and does not reach back to the last entry seen: ask for all. */
  needAll: boolean
  /** Entries that existed but are gone (trimmed at slowlog-max-len, or SLOWLOG RESET) before they were read. */
  missed: number
}

/**
 * Follows one node's log by entry id: every entry is reported once, gaps are counted, restarts are
 * detected. Entry ids increase by one per entry for the life of the server process (SLOWLOG RESET
 * empties the list but does not restart the ids).
 */
export class LogCursor {
  private lastId: number | undefined
  private runId: string | undefined
  /** A read happened: from now on everything in the log is new (even when the first read found it empty). */
  private started = false

  get position(): number | undefined {
    return this.lastId
  }

  /**
   * @param entries the reply, newest first
   * @param requested the count asked for (-1: the whole log)
   * @param runId the node's run_id from INFO, when known
   */
  accept(entries: RawLogEntry[], requested: number, runId?: string): CursorResult {
    let reset = false
    if (runId && this.runId && runId !== this.runId) reset = true
    const maxId = entries.reduce((m, e) => Math.max(m, e.id), -1)
    if (this.lastId !== undefined && maxId >= 0 && maxId < this.lastId) reset = true
    if (runId) this.runId = runId
    if (reset) this.lastId = undefined
    const since = this.lastId
    const fresh = (since === undefined ? entries : entries.filter((e) => e.id > since))
      .slice()
      .sort((a, b) => b.id - a.id)
    const complete = requested < 0 || entries.length < requested
    // The log was empty when first read (or after a restart): all of it is new, so read all of a full reply.
    if (since === undefined && this.started && !complete)
      return { fresh: [], reset, needAll: true, missed: 0 }
    this.started = true
    let missed = 0
    if (since !== undefined && fresh.length) {
      const oldest = fresh[fresh.length - 1].id
      if (oldest > since + 1) {
        if (!complete) return { fresh: [], reset, needAll: true, missed: 0 }
        missed = oldest - since - 1
      }
    }
    if (fresh.length) this.lastId = fresh[0].id
    else if (this.lastId === undefined && maxId >= 0) this.lastId = maxId
    return { fresh, reset, needAll: false, missed }
  }

  /** Forget the position: the next reply is read from scratch (e.g. a new node behind the address). */
  clear(): void {
    this.lastId = undefined
    this.runId = undefined
    this.started = false
  }
}
