import { AtomicFile } from '../data/atomic-file.js'
import { redactDeep } from '../redact.js'
import type { Snapshot } from './types.js'
import { watchJsonLines } from './watch-lines.js'

/**
 * `kvtop top --record FILE`: every polled round as the NDJSON lines `status --watch --json` writes,
 * into a temporary file renamed to FILE when top ends, so FILE is never a half-written recording.
 */
export class RoundRecorder {
  private readonly file: AtomicFile
  private rounds = 0

  /** Refuses an existing FILE without `overwrite` (exit 2, naming --force). */
  constructor(path: string, overwrite: boolean) {
    this.file = AtomicFile.open(path, { overwrite, flagName: '--force' })
  }

  get path(): string {
    return this.file.path
  }

  /**
   * A failed write (disk full, ...) is not thrown into the poller: the AtomicFile keeps it and
   * `close()` reports it, explained, once the dashboard has put the terminal back.
   */
  write(snapshot: Snapshot): void {
    if (this.file.error) return
    const lines = watchJsonLines(snapshot).map((line) => JSON.stringify(redactDeep(line)))
    try {
      this.file.writeSync(Buffer.from(lines.join('\n') + '\n'))
      this.rounds++
    } catch {
      // Kept by the AtomicFile; close() rejects with it.
    }
  }

  /**
   * Put FILE in place with every round recorded, however top ended (a recording that ends in a
   * connection loss is the one worth keeping); with no round at all, nothing is left behind.
   */
  async close(): Promise<void> {
    if (this.rounds === 0 && !this.file.error) return this.file.abort()
    await this.file.commit()
  }
}
