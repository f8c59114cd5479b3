import { RdbFormatError } from '../../data/rdb/reader.js'
import { OperationError } from '../../errors.js'
import type { StallWatch } from '../../wire/stall-watch.js'
import { interrupted } from './create-strategy.js'

// How a SYNC stream is checked, and how reading one fails: shared by the two ways of copying it.

export function crcMismatch(node: string): OperationError {
  return new OperationError(`the RDB streamed by ${node} fails its CRC-64 check (corrupted in transfer?)`, {
    resumable: false,
    hint: 'Run the snapshot again.',
  })
}

/** Why reading a SYNC stream failed: the stalled node, the interruption, or an RDB that cannot be read. */
export function syncFailure(err: unknown, stallWatch: StallWatch, signal: AbortSignal | undefined): unknown {
  if (stallWatch.error) return stallWatch.error
  if (signal?.aborted) return interrupted()
  if (err instanceof RdbFormatError) {
    return new OperationError(`the RDB streamed by the server cannot be read: ${err.message}`, {
      resumable: false,
      cause: err,
    })
  }
  return err
}
