/**
 * Rounds at a steady pace until stopped: each starts one interval after the previous one started
 * (at once when a round took longer). A failed round goes to `onError` and the next one still comes;
 * a round that ends after stop() is not handed on. Used by the monitor engine and by the
 * CloudWatch-only monitor.
 */
export class PollLoop<T> {
  private active = false
  private timer?: NodeJS.Timeout
  private wake?: () => void

  constructor(private readonly intervalMs: number) {}

  get running(): boolean {
    return this.active
  }

  /** Begin the rounds; a second call while running does nothing. */
  start(round: () => Promise<T>, listener: (value: T) => void, onError?: (err: unknown) => void): void {
    if (this.active) return
    this.active = true
    void this.loop(round, listener, onError)
  }

  /** No further round; the wait for the next one ends at once. */
  stop(): void {
    this.active = false
    if (this.timer) clearTimeout(this.timer)
    this.wake?.()
  }

  private async loop(
    round: () => Promise<T>,
    listener: (value: T) => void,
    onError?: (err: unknown) => void,
  ): Promise<void> {
    while (this.active) {
      const t0 = Date.now()
      try {
        const value = await round()
        if (this.active) listener(value)
      } catch (err) {
        onError?.(err)
      }
      if (!this.active) break
      const wait = Math.max(0, t0 + this.intervalMs - Date.now())
      await new Promise<void>((resolve) => {
        this.wake = resolve
        this.timer = setTimeout(resolve, wait)
      })
    }
  }
}
