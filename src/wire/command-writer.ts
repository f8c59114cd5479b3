import type { Writable } from 'node:stream'
import type { CommandArg } from './encode.js'

/**
 * Writes RESP commands onto any Writable (a file, a socket, a pipe to `redis-cli --pipe`),
 * binary-safe, coalescing small commands into larger writes and honouring the Writable's
 * backpressure: `write` resolves at once while there is room and waits for 'drain' when there is not.
 */
export class RespCommandWriter {
  private chunk: Buffer
  private used = 0
  private bytesWritten = 0
  private commands = 0
  private failure: Error | undefined

  constructor(
    private readonly sink: Writable,
    private readonly chunkSize = 256 * 1024,
  ) {
    this.chunk = Buffer.allocUnsafe(chunkSize)
    sink.on('error', (err) => (this.failure ??= err))
  }

  /** Commands and bytes handed to the sink so far (including the unflushed tail). */
  get stats(): { commands: number; bytes: number } {
    return { commands: this.commands, bytes: this.bytesWritten + this.used }
  }

  /** Append one command; resolves when the caller may write more. */
  write(args: readonly CommandArg[]): Promise<void> | void {
    if (this.failure) throw this.failure
    this.commands++
    this.putHeader(0x2a, args.length)
    for (const arg of args) {
      const b = Buffer.isBuffer(arg) ? arg : Buffer.from(typeof arg === 'number' ? String(arg) : arg, 'utf8')
      this.putHeader(0x24, b.length)
      this.putBytes(b)
      this.putCrlf()
    }
    if (this.used >= this.chunkSize / 2) return this.flush()
  }

  /** Append already-encoded RESP (counted as `commands` commands). */
  writeRaw(encoded: Buffer, commands = 1): Promise<void> | void {
    if (this.failure) throw this.failure
    this.commands += commands
    this.putBytes(encoded)
    if (this.used >= this.chunkSize / 2) return this.flush()
  }

  /** Hand the buffered bytes to the sink; waits for 'drain' if the sink is full. */
  flush(): Promise<void> | void {
    if (this.failure) throw this.failure
    if (this.used === 0) return
    // Hand the filled buffer over and start a fresh one: no copy.
    const out = this.chunk.subarray(0, this.used)
    this.bytesWritten += this.used
    this.used = 0
    this.chunk = Buffer.allocUnsafe(this.chunkSize)
    if (!this.sink.write(out)) {
      return new Promise<void>((resolve, reject) => {
        const onDrain = () => {
          this.sink.off('error', onError)
          resolve()
        }
        const onError = (err: Error) => {
          this.sink.off('drain', onDrain)
          reject(err)
        }
        this.sink.once('drain', onDrain)
        this.sink.once('error', onError)
      })
    }
  }

  /** Flush and end the sink; resolves when it has finished (a file: data handed to the OS). */
  async end(): Promise<void> {
    await this.flush()
    await new Promise<void>((resolve, reject) => {
      if (this.failure) return reject(this.failure)
      this.sink.once('error', reject)
      this.sink.end(() => resolve())
    })
  }

  private ensure(extra: number): void {
    if (this.used + extra <= this.chunk.length) return
    if (this.used > 0) {
      // Keep what is buffered; grow to fit a large argument rather than writing piecemeal.
      const next = Buffer.allocUnsafe(Math.max(this.chunk.length * 2, this.used + extra))
      this.chunk.copy(next, 0, 0, this.used)
      this.chunk = next
    } else {
      this.chunk = Buffer.allocUnsafe(Math.max(this.chunkSize, extra))
    }
  }

  private putHeader(type: number, n: number): void {
    this.ensure(24)
    const c = this.chunk
    c[this.used++] = type
    this.used += c.write(String(n), this.used, 'latin1')
    c[this.used++] = 0x0d
    c[this.used++] = 0x0a
  }

  private putBytes(b: Buffer): void {
    this.ensure(b.length)
    b.copy(this.chunk, this.used)
    this.used += b.length
  }

  private putCrlf(): void {
    this.ensure(2)
    this.chunk[this.used++] = 0x0d
    this.chunk[this.used++] = 0x0a
  }
}
