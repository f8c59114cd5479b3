import { UsageError } from '../../errors.js'
import { MonitorParseError, parseMonitorLine } from './monitor-line.js'

export interface MonitorCommand {
  args: Buffer[]
  db: number
  /** Epoch milliseconds, with the microseconds as a fraction. */
  timestampMs: number
  offset: number
  size: number
}

/** Bad input (exit 2), naming the byte offset and, for a malformed line, its line number. */
export class MonitorLogError extends UsageError {
  constructor(
    message: string,
    readonly offset: number,
    /** 1-based line number, for a line that is not MONITOR output. */
    readonly line?: number,
  ) {
    super(`${message}${line === undefined ? '' : ` on line ${line}`} at byte offset ${offset}`, {
      code: /truncated/.test(message) ? 'truncated' : 'bad-input',
    })
    this.name = 'MonitorLogError'
  }
}

interface ReadMonitorOptions {
  batchSize?: number
  /** A last line without its newline (a capture cut short) is accepted instead of an error. */
  allowTruncatedTail?: boolean
  onTruncatedTail?: (offset: number, bytes: Buffer) => void
  /** Longest line accepted, in bytes (default 1 GiB): beyond it the input is not a MONITOR capture. */
  maxLineBytes?: number
}

const MAX_LINE = 1024 * 1024 * 1024

/** MONITOR's reply as redis-cli prints it (`OK`) or as it is on the wire (`+OK`). */
function isMonitorReply(line: Buffer): boolean {
  const text = line.toString('latin1')
  return text === 'OK' || text === '+OK'
}

/**
 * Commands from a MONITOR capture, in batches, read only as fast as they are consumed. Lines that
 * are not MONITOR lines are an error naming their line number and byte offset. Time is linear in
 * the input whatever the line lengths: a line spread over many chunks is gathered as a list of
 * pieces and joined once, when its newline comes.
 */
export async function* readMonitorLog(
  source: AsyncIterable<Buffer>,
  options: ReadMonitorOptions = {},
): AsyncGenerator<MonitorCommand[]> {
  const batchSize = options.batchSize ?? 1024
  const maxLine = options.maxLineBytes ?? MAX_LINE
  /** The current line's bytes from earlier chunks (views: sources yield fresh buffers, as streams do). */
  let pieces: Buffer[] = []
  let pieceBytes = 0
  /** Stream offset and number of the current line. */
  let lineOffset = 0
  let lineNo = 1
  let batch: MonitorCommand[] = []
  const take = (line: Buffer, size: number, owned: boolean) => {
    const trimmed = line[line.length - 1] === 0x0d ? line.subarray(0, line.length - 1) : line
    if (trimmed.length === 0) return
    // `redis-cli monitor > file` writes MONITOR's own reply first: a line that is no command.
    if (lineNo === 1 && isMonitorReply(trimmed)) return
    try {
      const rec = parseMonitorLine(trimmed, { inPlace: owned })
      batch.push({
        args: rec.args,
        db: rec.db,
        timestampMs: Number(rec.timestamp) * 1000,
        offset: lineOffset,
        size,
      })
    } catch (err) {
      if (err instanceof MonitorParseError)
        throw new MonitorLogError(`not a MONITOR line (${err.message})`, lineOffset + err.column, lineNo)
      throw err
    }
  }
  for await (const chunk of source) {
    let start = 0
    for (;;) {
      const nl = chunk.indexOf(0x0a, start)
      if (nl < 0) break
      let line: Buffer
      const joined = pieceBytes > 0
      if (joined) {
        pieces.push(chunk.subarray(start, nl))
        line = Buffer.concat(pieces, pieceBytes + nl - start)
        pieces = []
        pieceBytes = 0
      } else line = chunk.subarray(start, nl)
      if (line.length > maxLine)
        throw new MonitorLogError(`line longer than ${maxLine} bytes`, lineOffset, lineNo)
      // A joined line is ours: decoded in place. A view of a chunk is the source's.
      take(line, line.length + 1, joined)
      lineOffset += line.length + 1
      lineNo++
      start = nl + 1
      if (batch.length >= batchSize) {
        yield batch
        batch = []
      }
    }
    if (start < chunk.length) {
      pieces.push(chunk.subarray(start))
      pieceBytes += chunk.length - start
      if (pieceBytes > maxLine)
        throw new MonitorLogError(`line longer than ${maxLine} bytes (no newline)`, lineOffset, lineNo)
    }
  }
  if (pieceBytes) {
    const pending = Buffer.concat(pieces, pieceBytes)
    // A capture always ends its lines: a tail without one was cut mid-line.
    if (!options.allowTruncatedTail) {
      if (batch.length) yield batch
      throw new MonitorLogError('the log ends in the middle of a line (truncated)', lineOffset)
    }
    options.onTruncatedTail?.(lineOffset, pending)
  }
  if (batch.length) yield batch
}
