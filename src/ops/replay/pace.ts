import type { Retries } from './retries.js'
import type { ReplayStalls } from './stalls.js'

/**
 * --speed: commands sent at their recorded pace (or a multiple of it), the first one's time
 * taken as now. What was sent is settled before each pause.
 */
export class Pace {
  private origin: { t0: number; w0: number } | undefined

  constructor(
    private readonly retries: Retries,
    private readonly stalls: ReplayStalls,
    private readonly signal?: AbortSignal,
  ) {}

  /** A promise when a command recorded at `timestampMs` is due later than now. */
  keep(timestampMs: number, speed: number): Promise<void> | undefined {
    this.origin ??= { t0: timestampMs, w0: Date.now() }
    const due = this.origin.w0 + (timestampMs - this.origin.t0) / speed
    if (due - Date.now() > 2) return this.sleepUntil(due)
  }

  private async sleepUntil(due: number): Promise<void> {
    await this.retries.settle()
    const left = due - Date.now()
    if (left > 0) await this.stalls.sleep(left, this.signal)
  }
}
