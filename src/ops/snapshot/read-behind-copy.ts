import type { Writable } from 'node:stream'

/**
 * A stream's bytes copied to a file only as far as its reader has read: chunks are held as they
 * arrive and written up to the offset the reader has walked past, so that what follows the part
 * read (a SYNC stream's end marker, replication traffic after the RDB) never reaches the file.
 */
export class ReadBehindCopy {
  private readonly held: Buffer[] = []
  /** Stream offset of held[0]; the bytes before it are on their way to the file. */
  private heldAt = 0

  constructor(private readonly sink: Writable) {}

  /** A chunk received, to be written once it has been read. */
  hold(chunk: Buffer): void {
    this.held.push(chunk)
  }

  /** Write the held bytes up to stream offset `end`, waiting whenever the file's buffer is full. */
  async writeUpTo(end: number): Promise<void> {
    const held = this.held
    while (held.length && this.heldAt < end) {
      const chunk = held[0]
      const take = Math.min(chunk.length, end - this.heldAt)
      const ok = this.sink.write(take === chunk.length ? chunk : chunk.subarray(0, take))
      if (take === chunk.length) held.shift()
      else held[0] = chunk.subarray(take)
      this.heldAt += take
      if (!ok) await drainOrFail(this.sink)
    }
  }
}

/** Wait until `sink` takes more; rejects with its error when it fails instead (a full disk). */
function drainOrFail(sink: Writable): Promise<void> {
  // Failed already (a full disk while its buffer was filling): no event is coming.
  if (sink.errored) return Promise.reject(sink.errored)
  if (sink.destroyed) return Promise.reject(new Error('the file was closed while being written'))
  return new Promise<void>((resolve, reject) => {
    const done = (err?: Error) => {
      sink.off('drain', done)
      sink.off('error', done)
      sink.off('close', done)
      if (err instanceof Error) reject(err)
      else resolve()
    }
    sink.on('drain', done)
    sink.on('error', done)
    sink.on('close', done)
  })
}
