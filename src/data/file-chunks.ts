import { closeSync, openSync, readSync } from 'node:fs'
import { setImmediate as nextTurn } from 'node:timers/promises'

/**
 * A file's bytes in chunks, read synchronously: a read from the page cache costs less than the
 * thread-pool round trip of a stream read, which on a busy machine waits for a core twice per
 * chunk. The event loop still gets a turn every few chunks (signals, timers, sockets). Each chunk
 * is a buffer of its own (readers keep views of them). `from`: the byte offset to start at.
 */
export async function* readFileChunks(
  path: string,
  chunkSize = 1024 * 1024,
  from = 0,
): AsyncGenerator<Buffer> {
  const fd = openSync(path, 'r')
  try {
    for (let n = 1, at = from; ; n++) {
      const chunk = Buffer.allocUnsafe(chunkSize)
      const got = readSync(fd, chunk, 0, chunkSize, at)
      if (got === 0) return
      at += got
      yield got === chunkSize ? chunk : chunk.subarray(0, got)
      if (n % 8 === 0) await nextTurn()
    }
  } finally {
    closeSync(fd)
  }
}
