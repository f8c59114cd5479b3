/**
 * A token bucket: `take(n)` resolves when n more operations fit under `perSecond` (bursts up to one
 * tenth of a second's worth, so a pipeline batch is not split). 0 or undefined means unlimited.
 */
export class RateLimiter {
  private tokens: number
  private last: number
  private readonly burst: number

  constructor(
    readonly perSecond: number | undefined,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.burst = perSecond ? Math.max(1, perSecond / 10) : Infinity
    this.tokens = this.burst
    this.last = now()
  }

  get unlimited(): boolean {
    return !this.perSecond
  }

  /**
   * Milliseconds to wait before n more operations fit; 0 means go now (and they are counted).
   */
  delayFor(n: number): number {
    if (!this.perSecond) return 0
    const t = this.now()
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.perSecond)
    this.last = t
    const need = Math.min(n, this.burst)
    if (this.tokens >= need) {
      this.tokens -= n
      return 0
    }
    return Math.max(1, Math.ceil(((need - this.tokens) / this.perSecond) * 1000))
  }

  async take(n: number, signal?: AbortSignal): Promise<void> {
    if (!this.perSecond) return
    for (;;) {
      const t = this.now()
      this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.perSecond)
      this.last = t
      // A request larger than the burst goes through once the bucket is full, leaving it in debt.
      if (this.tokens >= Math.min(n, this.burst)) {
        this.tokens -= n
        return
      }
      const waitMs = ((Math.min(n, this.burst) - this.tokens) / this.perSecond) * 1000
      await new Promise<void>((resolve) => setTimeout(resolve, Math.max(1, Math.ceil(waitMs))))
      if (signal?.aborted) return
    }
  }
}
