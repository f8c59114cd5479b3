/**
 * Big buffers kept for reuse. A fresh buffer of hundreds of kilobytes is fresh memory: the kernel
 * maps and zeroes each page on its first write, which made copying socket reads into new reply
 * buffers cost several times the copy itself (most of verify's profile), and the external memory
 * churn drove the garbage collector. A reader that knows when it is done with a buffer gives it
 * back; the next batch of replies is written into memory already mapped.
 */
const MIN_SIZE = 4096

export class BufferPool {
  private readonly free: Buffer[] = []
  private freeBytes = 0

  /**
   * @param maxBytes what the pool keeps at most (buffers given back past it are left to the GC).
   */
  constructor(private readonly maxBytes = 32 << 20) {}

  /**
   * A buffer of at least `size` bytes (contents undefined): a kept one when one is big enough, else
   * a new one of the next power of two (so that the next request of about that size fits it).
   */
  take(size: number): Buffer {
    let best = -1
    for (let i = 0; i < this.free.length; i++) {
      const len = this.free[i].length
      if (len >= size && (best < 0 || len < this.free[best].length)) best = i
    }
    if (best < 0) return Buffer.allocUnsafe(Math.max(MIN_SIZE, 2 ** Math.ceil(Math.log2(size))))
    const buf = this.free[best]
    this.free[best] = this.free[this.free.length - 1]
    this.free.pop()
    this.freeBytes -= buf.length
    return buf
  }

  /** Give `buf` back: nothing may read or write it afterwards. */
  give(buf: Buffer): void {
    if (buf.length === 0 || this.freeBytes + buf.length > this.maxBytes) return
    this.free.push(buf)
    this.freeBytes += buf.length
  }
}
