/**
 * A writer that records every acknowledged write, for checking that a scale loses none.
 * Each key is written once with a value derived from its number (so an acknowledged key must be
 * present with exactly that value), and a few hot counters take INCRs (so the final value must lie
 * between the acknowledged and the attempted increments).
 */
import type { Cluster } from 'ioredis'

export interface AckWriterOptions {
  prefix: string
  /** Writes in flight at once. */
  concurrency?: number
  /** Pause between rounds in milliseconds (0: as fast as the client goes). */
  pauseMs?: number
  counters?: number
}

export interface AckCheck {
  acked: number
  failed: number
  errorKinds: Record<string, number>
  missing: string[]
  wrong: string[]
  counterViolations: string[]
}

export class AckWriter {
  private readonly acked: number[] = []
  private failed = 0
  private readonly errorKinds = new Map<string, number>()
  private readonly counterAcked: number[]
  private readonly counterTried: number[]
  private next = 0
  private running = false
  private loop: Promise<void> | undefined

  constructor(
    private readonly client: Cluster,
    private readonly options: AckWriterOptions,
  ) {
    this.counterAcked = new Array(options.counters ?? 8).fill(0)
    this.counterTried = new Array(options.counters ?? 8).fill(0)
  }

  key(n: number): string {
    return `${this.options.prefix}:k:${n}`
  }

  value(n: number): string {
    return `v${n}:${(n * 2654435761) % 1000003}`
  }

  counterKey(i: number): string {
    return `${this.options.prefix}:ctr:${i}`
  }

  get ackedCount(): number {
    return this.acked.length
  }

  start(): void {
    this.running = true
    const concurrency = this.options.concurrency ?? 16
    this.loop = (async () => {
      while (this.running) {
        const round: Promise<void>[] = []
        for (let i = 0; i < concurrency; i++) {
          const n = this.next++
          round.push(
            this.client.set(this.key(n), this.value(n)).then(
              () => void this.acked.push(n),
              (err: Error) => this.fail(err),
            ),
          )
          if (n % 4 === 0) {
            const c = n % this.counterAcked.length
            this.counterTried[c]++
            round.push(
              this.client.incr(this.counterKey(c)).then(
                () => void this.counterAcked[c]++,
                (err: Error) => this.fail(err),
              ),
            )
          }
        }
        await Promise.all(round)
        if (this.options.pauseMs) await new Promise((r) => setTimeout(r, this.options.pauseMs))
      }
    })()
  }

  private fail(err: Error): void {
    this.failed++
    const kind = err.message.split('\n')[0].slice(0, 100)
    this.errorKinds.set(kind, (this.errorKinds.get(kind) ?? 0) + 1)
  }

  async stop(): Promise<void> {
    this.running = false
    await this.loop
  }

  /** Read back every acknowledged write through `reader` (any cluster client). */
  async check(reader: Cluster): Promise<AckCheck> {
    const missing: string[] = []
    const wrong: string[] = []
    for (let i = 0; i < this.acked.length; i += 500) {
      const chunk = this.acked.slice(i, i + 500)
      const values = await Promise.all(chunk.map((n) => reader.get(this.key(n))))
      chunk.forEach((n, j) => {
        if (values[j] === null) missing.push(this.key(n))
        else if (values[j] !== this.value(n)) wrong.push(this.key(n))
      })
    }
    const counterViolations: string[] = []
    for (let c = 0; c < this.counterAcked.length; c++) {
      const v = Number((await reader.get(this.counterKey(c))) ?? 0)
      if (v < this.counterAcked[c] || v > this.counterTried[c])
        counterViolations.push(
          `${this.counterKey(c)}=${v} (acked ${this.counterAcked[c]}, tried ${this.counterTried[c]})`,
        )
    }
    return {
      acked: this.acked.length,
      failed: this.failed,
      errorKinds: Object.fromEntries(this.errorKinds),
      missing,
      wrong,
      counterViolations,
    }
  }
}
