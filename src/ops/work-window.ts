/**
 * At most `size` tasks in flight: `add` waits for a free place. The first failure is rethrown by
 * the next `add` or by `drain` (never left as an unhandled rejection while the caller is busy).
 */
export class WorkWindow {
  private readonly running = new Set<Promise<void>>()
  private failure: { error: unknown } | undefined

  constructor(private readonly size: number) {}

  async add(task: () => Promise<void>): Promise<void> {
    this.check()
    const p: Promise<void> = task()
      .catch((error: unknown) => {
        this.failure ??= { error }
      })
      .finally(() => this.running.delete(p))
    this.running.add(p)
    if (this.running.size >= this.size) await Promise.race(this.running)
    this.check()
  }

  /** Wait for every task; throws the first failure. */
  async drain(): Promise<void> {
    await Promise.all(this.running)
    this.check()
  }

  private check(): void {
    if (this.failure) throw this.failure.error
  }
}
