import type { ProgressEvent } from './events.js'

/**
 * Counts work and turns counts into a smoothed rate and an ETA. Counter semantics: `add` for
 * increments; rate from an exponentially weighted moving average over samples >= 250 ms apart.
 */
export class ProgressTracker {
  private doneCount = 0
  private bytesCount = 0
  private errorCount = 0
  private smoothedRate: number | undefined
  private lastSampleAt: number
  private lastSampleDone = 0
  /** The rate when the task was last seen complete: an idle finished task keeps the rate it had. */
  private finished: { done: number; total: number; rate: number } | undefined
  private readonly startedAt: number

  /** The piece of work this task is a part of (ProgressEvent.group). */
  group: string | undefined

  constructor(
    readonly task: string,
    readonly unit: string,
    public total: number | undefined = undefined,
    private readonly now: () => number = Date.now,
  ) {
    this.startedAt = now()
    this.lastSampleAt = this.startedAt
  }

  add(count: number, bytes = 0): void {
    this.doneCount += count
    this.bytesCount += bytes
  }

  addErrors(count = 1): void {
    this.errorCount += count
  }

  get done(): number {
    return this.doneCount
  }

  get errors(): number {
    return this.errorCount
  }

  get elapsedSeconds(): number {
    return (this.now() - this.startedAt) / 1000
  }

  /** Average rate over the whole run, for summaries. */
  get averageRate(): number {
    const s = this.elapsedSeconds
    return s > 0 ? this.doneCount / s : 0
  }

  rate(): number {
    const f = this.finished
    if (f && f.done === this.doneCount && f.total === this.total) return f.rate
    const t = this.now()
    const dt = (t - this.lastSampleAt) / 1000
    if (dt >= 0.25) {
      const instant = (this.doneCount - this.lastSampleDone) / dt
      this.smoothedRate = this.smoothedRate === undefined ? instant : 0.3 * instant + 0.7 * this.smoothedRate
      this.lastSampleAt = t
      this.lastSampleDone = this.doneCount
    }
    const rate = this.smoothedRate ?? this.averageRate
    // Samples after the end count no work and would pull the rate of a finished task towards 0
    // (a copy done at 90k keys/s shown at 12k/s while the verify after it runs).
    if (this.total !== undefined && this.doneCount >= this.total)
      this.finished = { done: this.doneCount, total: this.total, rate }
    return rate
  }

  snapshot(detail?: string): ProgressEvent {
    const rate = this.rate()
    const remaining = this.total === undefined ? undefined : Math.max(0, this.total - this.doneCount)
    return {
      type: 'progress',
      task: this.task,
      done: this.doneCount,
      ...(this.total === undefined ? {} : { total: this.total }),
      unit: this.unit,
      ...(this.bytesCount ? { bytes: this.bytesCount } : {}),
      rate: Math.round(rate * 10) / 10,
      ...(remaining !== undefined && rate > 0 ? { etaSeconds: Math.round(remaining / rate) } : {}),
      ...(this.errorCount ? { errors: this.errorCount } : {}),
      ...(detail ? { detail } : {}),
      ...(this.group ? { group: this.group } : {}),
    }
  }
}
