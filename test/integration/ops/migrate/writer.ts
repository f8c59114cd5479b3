import type { Cluster, Redis } from 'ioredis'

/**
 * A concurrent writer for live-migration tests: SET, HSET, DEL, EXPIRE and INCR over a pool of
 * keys (some with binary names), in pipelined rounds, as fast as it goes up to a pause per round.
 * Counts what it sent so the test can state its rate.
 */
export class MixedWriter {
  ops = 0
  errors = 0
  private running = false
  private loop: Promise<void> | undefined
  private startedAt = 0
  private stoppedAt = 0

  constructor(
    private readonly db: Redis | Cluster,
    private readonly o: { prefix: string; keys: number; batch: number; pauseMs: number },
  ) {}

  start(): void {
    this.running = true
    this.startedAt = Date.now()
    this.loop = this.run()
  }

  async stop(): Promise<void> {
    this.running = false
    await this.loop
    this.stoppedAt = Date.now()
  }

  /** Resolves once at least `ops` commands were sent (the writer goes on); rejects after `timeoutMs`. */
  async until(ops: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (this.ops < ops) {
      if (Date.now() > deadline)
        throw new Error(`the writer sent ${this.ops} of ${ops} commands in ${timeoutMs} ms`)
      await new Promise((r) => setTimeout(r, 50))
    }
  }

  get opsPerSecond(): number {
    return this.ops / (((this.stoppedAt || Date.now()) - this.startedAt) / 1000)
  }

  private key(kind: string, i: number): Buffer {
    // Hash tags spread the keys over every slot range; binary bytes in half of the names.
    const tail = i % 2 ? Buffer.from([0x00, 0x0d, 0x0a, 0xff, i & 0xff]) : Buffer.from(`n${i}`)
    return Buffer.concat([Buffer.from(`{${this.o.prefix}${i % 97}}:${kind}:`), tail])
  }

  private command(kind: number, i: number, j: number, round: number): Promise<unknown> {
    switch (kind) {
      case 0:
        return this.db.set(this.key('s', i), Buffer.from([round & 0xff, 0x00, 0xfe, j & 0xff]))
      case 1:
        return this.db.hset(this.key('h', i), `f${j % 7}`, Buffer.from(`v${round}\r\n`))
      case 2:
        return this.db.del(this.key(j % 2 ? 's' : 'h', i))
      case 3:
        // Short expiries: some keys expire during the run (expired events become target DELs).
        return this.db.expire(this.key('s', i), 1 + (j % 4))
      case 4:
        return this.db.incr(this.key('c', i))
      default:
        return this.db.persist(this.key('s', i))
    }
  }

  private async run(): Promise<void> {
    let round = 0
    while (this.running) {
      const sent: Promise<unknown>[] = []
      for (let j = 0; j < this.o.batch; j++) {
        const i = Math.floor(Math.random() * this.o.keys)
        sent.push(this.command((round + j) % 6, i, j, round))
      }
      // Commands sent together are pipelined by ioredis (per node on a cluster).
      const results = await Promise.allSettled(sent)
      this.ops += results.length
      this.errors += results.filter((r) => r.status === 'rejected').length
      round++
      if (this.o.pauseMs) await new Promise((r) => setTimeout(r, this.o.pauseMs))
    }
  }
}
