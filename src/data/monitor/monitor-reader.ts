import { MonitorParseError, parseMonitorLine } from './monitor-line.js'

export interface MonitorCommand {
  args: Buffer[]
  db: number
  /** Epoch milliseconds, with the microseconds as a fraction. */
  timestampMs: number
  offset: number
  size: number
}

export class MonitorLogError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} at byte offset ${offset}`)
    this.name = 'MonitorLogError'
  }
}

export interface ReadMonitorOptions {
  batchSize?: number
  /** A last line without its newline (a capture cut short) is accepted instead of an error. */
  allowTruncatedTail?: boolean
  onTruncatedTail?: (offset: number, bytes: Buffer) => void
}

/**
 * Commands from a MONITOR capture, in batches, read only as fast as they are consumed. Lines that
 * are not MONITOR lines are an error naming their byte offset.
 */
export async function* readMonitorLog(
  source: AsyncIterable<Buffer>,
  options: ReadMonitorOptions = {},
): AsyncGenerator<MonitorCommand[]> {
  const batchSize = options.batchSize ?? 1024
  let pending = Buffer.alloc(0)
  let pendingOffset = 0
  let batch: MonitorCommand[] = []
  const take = (line: Buffer, offset: number, size: number) => {
    const trimmed = line[line.length - 1] === 0x0d ? line.subarray(0, line.length - 1) : line
    if (trimmed.length === 0) return
    try {
      const rec = parseMonitorLine(trimmed)
      batch.push({ args: rec.args, db: rec.db, timestampMs: Number(rec.timestamp) * 1000, offset, size })
    } catch (err) {
      if (err instanceof MonitorParseError)
        throw new MonitorLogError(`not a MONITOR line (${err.message})`, offset + err.column)
      throw err
    }
  }
  for await (const chunk of source) {
    const data = pending.length ? Buffer.concat([pending, chunk]) : chunk
    let start = 0
    for (;;) {
      const nl = data.indexOf(0x0a, start)
      if (nl < 0) break
      take(data.subarray(start, nl), pendingOffset + start, nl + 1 - start)
      start = nl + 1
      if (batch.length >= batchSize) {
        yield batch
        batch = []
      }
    }
    pendingOffset += start
    pending = Buffer.from(data.subarray(start))
  }
  if (pending.length) {
    // A capture always ends its lines: a tail without one was cut mid-line.
    if (!options.allowTruncatedTail) {
      if (batch.length) yield batch
      throw new MonitorLogError('the log ends in the middle of a line (truncated)', pendingOffset)
    }
    options.onTruncatedTail?.(pendingOffset, pending)
  }
  if (batch.length) yield batch
}
