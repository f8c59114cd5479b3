/**
 * Streaming parser for RESP *requests*: the command streams of AOF files, `redis-cli --pipe` inputs
 * and captured logs. Binary-safe (arguments are Buffers), incremental (feed chunks with `push`,
 * take commands with `next`), and frugal with large values: a bulk string bigger than what is
 * buffered is collected chunk by chunk and joined once, so a file is never loaded whole and a large
 * argument is never re-copied.
 *
 * Besides `*N` arrays it accepts inline commands (`PING\r\n`, split the way Redis splits them, with
 * quotes and \x escapes) and, for AOF files, `#...` annotation lines (Redis 7 writes `#TS:<unix>`).
 *
 * `readCommands` wraps the parser around any byte source (a file stream, a socket) as an async
 * generator of batches: it pulls the next chunk only when the consumer asks for more, which is the
 * backpressure.
 */
import { constants as bufferConstants } from 'node:buffer'
import { closeSync, openSync, readSync } from 'node:fs'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { UsageError } from '../../errors.js'
import { frameArgsAt, FrameScanner } from './frame-scanner.js'

export type CommandRecord =
  | {
      kind: 'command'
      args: Buffer[]
      /** Byte offset of the command in the stream. */
      offset: number
      /** Its size in bytes, as encoded in the stream. */
      size: number
    }
  | { kind: 'annotation'; text: string; offset: number; size: number }
  | CommandFrame

/**
 * A multibulk command left in place (the `frames` option): its bytes are buf[start..end), exactly
 * as the log holds them, with where its name and first argument are. No buffer is made per
 * argument; `frameArgs` makes them when a caller needs them all.
 */
export interface CommandFrame {
  kind: 'frame'
  buf: Buffer
  start: number
  end: number
  argc: number
  nameStart: number
  nameEnd: number
  /** The second argument (-1 when there is none): the key of most commands. */
  arg1Start: number
  arg1End: number
  offset: number
  size: number
}

/** Views of every argument of a frame (well formed: the parser checked it). */
export function frameArgs(frame: CommandFrame): Buffer[] {
  return frameArgsAt(frame.buf, frame.start)
}

/** Bad input (exit 2): callers add the file name. */
export class RespProtocolError extends UsageError {
  constructor(
    message: string,
    /** Byte offset in the stream where the problem is. */
    readonly offset: number,
    /** What the parser expected there. */
    readonly expected: string,
  ) {
    super(`${message} at byte offset ${offset}: expected ${expected}`, { code: 'bad-input' })
    this.name = 'RespProtocolError'
  }
}

export const NEED_MORE: unique symbol = Symbol('need-more')

/** An inline line of spaces only: no command (internal). */
const BLANK: unique symbol = Symbol('blank')

const CR = 0x0d
const LF = 0x0a

/** Largest argument count and bulk length accepted (Redis's own limits: 1M args in a multibulk is
 * not a limit, but lengths beyond 512 MB are refused by default; we accept up to 4 GB, less what
 * one buffer cannot hold). A declared length is only a promise: nothing is allocated for it, the
 * bytes are gathered as they come. */
const MAX_RECORD = Math.min(bufferConstants.MAX_LENGTH, 4 * 1024 * 1024 * 1024)
const MAX_BULK = MAX_RECORD - 1024
const MAX_ARGS = 64 * 1024 * 1024
const MAX_LINE = 64 * 1024 * 1024

interface CommandParserOptions {
  /** Yield `#...` lines as annotations (AOF); otherwise they are a protocol error. Default true. */
  annotations?: boolean
  /** Accept inline (space separated) commands. Default true. */
  inline?: boolean
  /** Multibulk commands as frames (CommandFrame: bytes left in place) instead of argument lists. */
  frames?: boolean
  /** Stream offset of the first byte pushed (default 0): where offsets count from. */
  offset?: number
}

export class RespCommandParser {
  private buf: Buffer = Buffer.alloc(0)
  private pos = 0
  /** Stream offset of buf[0]. */
  private base: number
  private pending: Buffer[] = []
  private pendingBytes = 0
  /** Bytes (from the record start) that must be buffered before parsing is worth retrying. */
  private need = 0
  private recordStart = 0
  private readonly annotations: boolean
  private readonly inline: boolean
  private readonly frames: boolean
  /**
   * While the record waits for the end of a line: the byte that ends it, and how many of the
   * pending chunks are known not to hold it. New chunks are searched on their own, and the
   * buffer is only joined (and the record parsed again) once the line can end: a long line costs
   * linear time, not a join and a scan per chunk.
   */
  private waitFor = -1
  private scannedChunks = 0
  /** Where that line starts (stream offset) and how far it has been searched. */
  private scanLine = -1
  private scannedTo = 0

  constructor(options: CommandParserOptions = {}) {
    this.annotations = options.annotations ?? true
    this.inline = options.inline ?? true
    this.frames = options.frames ?? false
    this.base = options.offset ?? 0
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return
    this.pending.push(chunk)
    this.pendingBytes += chunk.length
  }

  /** Bytes held but not yet returned as commands. */
  get buffered(): number {
    return this.buf.length - this.pos + this.pendingBytes
  }

  /** Stream offset of the next unparsed byte. */
  get offset(): number {
    return this.base + this.pos
  }

  /** The next command or annotation, or NEED_MORE when the buffered bytes end inside one. */
  next(): CommandRecord | typeof NEED_MORE {
    if (this.pendingBytes > 0) {
      if (this.buf.length - this.pos + this.pendingBytes < this.need) return NEED_MORE
      if (this.waitFor >= 0 && this.buffered <= MAX_LINE && !this.pendingHolds(this.waitFor)) return NEED_MORE
      this.compact()
    }
    this.waitFor = -1
    if (this.pos >= this.buf.length) return NEED_MORE
    const start = (this.recordStart = this.pos)
    const record = this.parseRecord()
    if (record === NEED_MORE) {
      this.pos = start
      return NEED_MORE
    }
    this.need = 0
    this.scanLine = -1
    return record
  }

  /**
   * The complete multibulk frames from here on, recorded in place by `scanner` (no object each):
   * how many. 0 when the next record is something else or is incomplete: `next()` reads it. The
   * frames are in `frameBytes`, whose byte 0 is at stream offset `frameBase`.
   */
  scanFrames(scanner: FrameScanner): number {
    scanner.count = 0
    // A record already known to be incomplete is next()'s to finish.
    if (this.need > 0 || this.waitFor >= 0) return 0
    if (this.pendingBytes > 0) this.compact()
    this.pos = scanner.scan(this.buf, this.pos)
    return scanner.count
  }

  get frameBytes(): Buffer {
    return this.buf
  }

  get frameBase(): number {
    return this.base
  }

  private pendingHolds(byte: number): boolean {
    for (; this.scannedChunks < this.pending.length; this.scannedChunks++)
      if (this.pending[this.scannedChunks].indexOf(byte) >= 0) return true
    return false
  }

  /**
   * Call at the end of the input: throws a RespProtocolError naming the offset if the input ended
   * inside a command (a truncated file), unless nothing is left.
   */
  finish(): void {
    if (this.buffered === 0) return
    this.compact()
    let i = this.pos
    while (i < this.buf.length && (this.buf[i] === CR || this.buf[i] === LF)) i++
    if (i >= this.buf.length) return
    const start = this.pos
    const record = this.parseRecord()
    this.pos = start
    if (record !== NEED_MORE) return
    throw new RespProtocolError(
      `the input ends inside a command (${this.buf.length - start} bytes left over)`,
      this.base + this.buf.length,
      this.expectedAtEnd ?? 'the rest of the command',
    )
  }

  /** Unconsumed bytes (after an error or at the end), e.g. an AOF's truncated tail. */
  remainder(): Buffer {
    this.compact()
    return this.buf.subarray(this.pos)
  }

  private expectedAtEnd: string | undefined

  private compact(): void {
    if (this.pendingBytes === 0) return
    const keep = this.buf.length - this.pos
    this.base += this.pos
    this.buf =
      keep === 0 && this.pending.length === 1
        ? this.pending[0]
        : Buffer.concat([this.buf.subarray(this.pos), ...this.pending])
    this.pos = 0
    this.recordStart = 0
    this.pending = []
    this.pendingBytes = 0
    this.scannedChunks = 0
  }

  private needFromRecordStart(bytes: number, expected: string, waitFor = -1): typeof NEED_MORE {
    if (bytes > MAX_RECORD)
      throw new RespProtocolError(
        `command of more than ${MAX_RECORD} bytes`,
        this.base + this.recordStart,
        'a command that fits in memory',
      )
    this.need = bytes
    this.expectedAtEnd = expected
    this.waitFor = waitFor
    return NEED_MORE
  }

  /** Index of the first `byte` of the line starting at pos, resuming an earlier search of the same line. */
  private findInLine(byte: number): number {
    const from =
      this.scanLine === this.base + this.pos ? Math.max(this.pos, this.scannedTo - this.base) : this.pos
    const at = this.buf.indexOf(byte, from)
    if (at < 0) {
      this.scanLine = this.base + this.pos
      this.scannedTo = this.base + this.buf.length
    }
    return at
  }

  /** A CRLF-terminated line starting at pos; returns the index of its CR. */
  private lineEnd(what: string): number | typeof NEED_MORE {
    const end = this.findInLine(CR)
    if (end < 0 || end + 1 >= this.buf.length) {
      if (this.buf.length - this.pos > MAX_LINE) {
        throw new RespProtocolError('line too long', this.base + this.pos, `${what} ending in CRLF`)
      }
      return this.needFromRecordStart(
        this.buf.length - this.recordStart + 1,
        `${what} ending in CRLF`,
        end < 0 ? CR : -1,
      )
    }
    if (this.buf[end + 1] !== LF) {
      throw new RespProtocolError('CR not followed by LF', this.base + end + 1, 'LF')
    }
    return end
  }

  private readInteger(from: number, to: number, what: string): number {
    if (from >= to) throw new RespProtocolError(`empty ${what}`, this.base + from, `a decimal ${what}`)
    let n = 0
    let i = from
    let negative = false
    if (this.buf[i] === 0x2d) {
      negative = true
      i++
    }
    for (; i < to; i++) {
      const c = this.buf[i]
      if (c < 0x30 || c > 0x39) {
        throw new RespProtocolError(
          `invalid ${what} '${this.buf.toString('latin1', from, to)}'`,
          this.base + from,
          `a decimal ${what}`,
        )
      }
      n = n * 10 + (c - 0x30)
    }
    return negative ? -n : n
  }

  private parseRecord(): CommandRecord | typeof NEED_MORE {
    // A loop, not recursion: any number of blank lines (or inline lines of spaces) in a row.
    for (;;) {
      const first = this.buf[this.pos]
      if (first === 0x2a) return this.parseMultibulk()
      if (first === 0x23 && this.annotations) {
        const end = this.lineEnd('an annotation line')
        if (end === NEED_MORE) return NEED_MORE
        const offset = this.base + this.pos
        const text = this.buf.toString('utf8', this.pos + 1, end)
        this.pos = end + 2
        return { kind: 'annotation', text, offset, size: end + 2 - (offset - this.base) }
      }
      if (first === CR || first === LF) {
        // Blank lines between commands (redis-cli --pipe inputs often end with one): skip them.
        let i = this.pos
        while (i < this.buf.length && (this.buf[i] === CR || this.buf[i] === LF)) i++
        this.pos = i
        if (i >= this.buf.length)
          return this.needFromRecordStart(this.buf.length - this.recordStart + 1, 'a command')
        this.recordStart = i
        continue
      }
      if (this.inline && first !== 0x24) {
        const record = this.parseInline()
        if (record !== BLANK) return record
        if (this.pos >= this.buf.length)
          return this.needFromRecordStart(this.pos - this.recordStart + 1, 'a command')
        this.recordStart = this.pos
        continue
      }
      throw new RespProtocolError(
        `unexpected byte 0x${first.toString(16).padStart(2, '0')}`,
        this.base + this.pos,
        "'*' starting a command",
      )
    }
  }

  /** A `*N` command: its arguments as views (a command) or its bounds in the buffer (a frame). */
  private parseMultibulk(): CommandRecord | typeof NEED_MORE {
    const offset = this.base + this.pos
    const frameStart = this.pos
    const count = this.argumentCount(offset)
    if (count === NEED_MORE) return NEED_MORE
    // Grown as the arguments are there: the declared count is not allocated up front.
    const args: Buffer[] = []
    let nameStart = 0
    let nameEnd = 0
    let arg1Start = -1
    let arg1End = -1
    for (let i = 0; i < count; i++) {
      const dataStart = this.bulkArgument(i, count)
      if (dataStart === NEED_MORE) return NEED_MORE
      const dataEnd = this.pos - 2
      if (!this.frames) {
        // A view, not a copy: the batch buffer stays alive while its commands do.
        args.push(this.buf.subarray(dataStart, dataEnd))
      } else if (i === 0) {
        nameStart = dataStart
        nameEnd = dataEnd
      } else if (i === 1) {
        arg1Start = dataStart
        arg1End = dataEnd
      }
    }
    const size = this.base + this.pos - offset
    if (this.frames)
      return {
        kind: 'frame',
        buf: this.buf,
        start: frameStart,
        end: this.pos,
        argc: count,
        nameStart,
        nameEnd,
        arg1Start,
        arg1End,
        offset,
        size,
      }
    return { kind: 'command', args, offset, size }
  }

  /** The `*N` line of a command at `offset`: N (1 to MAX_ARGS), pos moved past the line. */
  private argumentCount(offset: number): number | typeof NEED_MORE {
    const headerEnd = this.lineEnd('an argument count')
    if (headerEnd === NEED_MORE) return NEED_MORE
    const count = this.readInteger(this.pos + 1, headerEnd, 'argument count')
    if (count > MAX_ARGS)
      throw new RespProtocolError(`argument count ${count} too large`, offset, 'a smaller argument count')
    // Redis refuses an AOF command without arguments as a bad format; a log has no use for one.
    if (count < 1)
      throw new RespProtocolError(
        `${count === 0 ? 'empty command (argument count 0)' : `invalid argument count ${count}`}`,
        offset,
        'an argument count of at least 1',
      )
    this.pos = headerEnd + 2
    return count
  }

  /**
   * Argument i (of count), a bulk string at pos: where its bytes start, pos moved past it and its
   * CRLF; NEED_MORE (pos unchanged) while it has not all arrived.
   */
  private bulkArgument(i: number, count: number): number | typeof NEED_MORE {
    if (this.pos >= this.buf.length)
      return this.needFromRecordStart(this.pos - this.recordStart + 1, `'$' of argument ${i + 1} of ${count}`)
    if (this.buf[this.pos] !== 0x24) {
      throw new RespProtocolError(
        `unexpected byte 0x${this.buf[this.pos].toString(16).padStart(2, '0')} in argument ${i + 1} of ${count}`,
        this.base + this.pos,
        "'$' starting a bulk string",
      )
    }
    const lenEnd = this.lineEnd(`the length of argument ${i + 1} of ${count}`)
    if (lenEnd === NEED_MORE) return NEED_MORE
    const len = this.readInteger(this.pos + 1, lenEnd, 'bulk length')
    if (len < 0 || len > MAX_BULK) {
      throw new RespProtocolError(
        `invalid bulk length ${len}`,
        this.base + this.pos,
        'a bulk length from 0 to 4294967296',
      )
    }
    const dataStart = lenEnd + 2
    if (dataStart + len + 2 > this.buf.length) {
      return this.needFromRecordStart(
        dataStart - this.recordStart + len + 2,
        `${len} bytes of argument ${i + 1} of ${count} and CRLF`,
      )
    }
    if (this.buf[dataStart + len] !== CR || this.buf[dataStart + len + 1] !== LF) {
      throw new RespProtocolError(
        `bulk string of argument ${i + 1} not terminated`,
        this.base + dataStart + len,
        'CRLF after the bulk string',
      )
    }
    this.pos = dataStart + len + 2
    return dataStart
  }

  /** An inline command; BLANK for a line of spaces only (skipped, like Redis does). */
  private parseInline(): CommandRecord | typeof NEED_MORE | typeof BLANK {
    const offset = this.base + this.pos
    const end = this.findInLine(LF)
    if (end < 0) {
      if (this.buf.length - this.pos > MAX_LINE)
        throw new RespProtocolError('inline command too long', offset, 'a line ending')
      return this.needFromRecordStart(
        this.buf.length - this.recordStart + 1,
        'the end of an inline command line',
        LF,
      )
    }
    const lineEnd = end > this.pos && this.buf[end - 1] === CR ? end - 1 : end
    const args = splitInlineArgs(this.buf.subarray(this.pos, lineEnd), offset)
    this.pos = end + 1
    if (args.length === 0) return BLANK
    return { kind: 'command', args, offset, size: this.base + this.pos - offset }
  }
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30
  if (c >= 0x61 && c <= 0x66) return c - 0x57
  if (c >= 0x41 && c <= 0x46) return c - 0x37
  return -1
}

const isSpace = (c: number) =>
  c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0b || c === 0x0c

const ESCAPED = new Int16Array(256).fill(-1)
for (const [c, v] of [
  [0x6e, 0x0a],
  [0x72, 0x0d],
  [0x74, 0x09],
  [0x62, 0x08],
  [0x61, 0x07],
])
  ESCAPED[c] = v

/** A closing quote ends its argument: a space or the end of the line must follow it. */
function closingQuote(line: Buffer, i: number, offset: number): void {
  if (i + 1 < line.length && !isSpace(line[i + 1]))
    throw new RespProtocolError('closing quote not followed by a space', offset + i + 1, 'a space')
}

/**
 * Split an inline command as Redis's sdssplitargs does: spaces, "double" and 'single' quotes.
 * Linear in the line: arguments are decoded into one buffer (views of it are returned).
 */
export function splitInlineArgs(line: Buffer, offset = 0): Buffer[] {
  const args: Buffer[] = []
  const n = line.length
  const out = Buffer.allocUnsafe(n)
  let o = 0
  let i = 0
  while (i < n) {
    while (i < n && isSpace(line[i])) i++
    if (i >= n) break
    const argStart = o
    let inDouble = false
    let inSingle = false
    for (;;) {
      if (inDouble) {
        if (i >= n)
          throw new RespProtocolError('unbalanced quotes in inline command', offset + i, 'a closing "')
        const c = line[i]
        if (c === 0x5c && line[i + 1] === 0x78 && hexValue(line[i + 2]) >= 0 && hexValue(line[i + 3]) >= 0) {
          out[o++] = hexValue(line[i + 2]) * 16 + hexValue(line[i + 3])
          i += 4
          continue
        }
        if (c === 0x5c && i + 1 < n) {
          const e = line[i + 1]
          out[o++] = ESCAPED[e] >= 0 ? ESCAPED[e] : e
          i += 2
          continue
        }
        if (c === 0x22) {
          closingQuote(line, i, offset)
          i++
          break
        }
        out[o++] = c
        i++
      } else if (inSingle) {
        if (i >= n)
          throw new RespProtocolError('unbalanced quotes in inline command', offset + i, "a closing '")
        const c = line[i]
        if (c === 0x5c && line[i + 1] === 0x27) {
          out[o++] = 0x27
          i += 2
          continue
        }
        if (c === 0x27) {
          closingQuote(line, i, offset)
          i++
          break
        }
        out[o++] = c
        i++
      } else {
        if (i >= n || isSpace(line[i])) break
        const c = line[i]
        if (c === 0x22) inDouble = true
        else if (c === 0x27) inSingle = true
        else out[o++] = c
        i++
      }
    }
    args.push(out.subarray(argStart, o))
  }
  return args
}

interface ReadCommandsOptions extends CommandParserOptions {
  /** Commands per yielded batch at most (default 1024). */
  batchSize?: number
  /** Bytes (as encoded) per yielded batch, about (default 1 MiB). */
  batchBytes?: number
  /**
   * At the end of the input, a truncated last command is an error (default). With true, the
   * generator returns normally and `onTruncatedTail` gets the offset and the leftover bytes, as
   * `aof-load-truncated yes` would accept them.
   */
  allowTruncatedTail?: boolean
  onTruncatedTail?: (offset: number, bytes: Buffer) => void
}

/**
 * Commands from a byte source, in batches. The source is read only as fast as the batches are
 * consumed (backpressure); memory is bounded by one chunk plus the largest command.
 */
export async function* readCommands(
  source: AsyncIterable<Buffer | string>,
  options: ReadCommandsOptions = {},
): AsyncGenerator<CommandRecord[]> {
  const parser = new RespCommandParser(options)
  const batchSize = options.batchSize ?? 1024
  // A batch is bounded in bytes as well: 1024 commands of 100 KB values would hold 100 MB.
  const batchBytes = options.batchBytes ?? 1024 * 1024
  let batch: CommandRecord[] = []
  let bytes = 0
  for await (const chunk of source) {
    parser.push(typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk)
    for (;;) {
      const record = parser.next()
      if (record === NEED_MORE) break
      batch.push(record)
      bytes += record.size
      if (batch.length >= batchSize || bytes >= batchBytes) {
        yield batch
        batch = []
        bytes = 0
      }
    }
  }
  if (batch.length) yield batch
  finishStream(parser, options)
}

/** The end of the input: a command cut short is an error, or (allowTruncatedTail) a tail handed over. */
function finishStream(parser: RespCommandParser, options: ReadCommandsOptions): void {
  if (options.allowTruncatedTail) {
    try {
      parser.finish()
    } catch (err) {
      if (!(err instanceof RespProtocolError)) throw err
      options.onTruncatedTail?.(parser.offset, parser.remainder())
    }
    return
  }
  parser.finish()
}

/**
 * Multibulk commands found in place (readCommandRuns): `frames` holds their bounds in `buf`, whose
 * byte 0 is at stream offset `base`. Valid until the next batch is asked for (the scanner's
 * arrays are reused).
 */
interface FrameRun {
  kind: 'run'
  buf: Buffer
  base: number
  frames: FrameScanner
}

/**
 * readCommands for consumers that can take commands in place: runs of well-formed multibulk
 * commands come as FrameRuns (no object per command); everything else (annotations, inline
 * commands, a command that spans chunks) as records, in stream order.
 */
export async function* readCommandRuns(
  source: AsyncIterable<Buffer>,
  options: ReadCommandsOptions = {},
): AsyncGenerator<CommandRecord[] | FrameRun> {
  const parser = new RespCommandParser({ ...options, frames: true })
  const runs = new RunReader()
  for await (const chunk of source) {
    parser.push(chunk)
    yield* runs.read(parser)
  }
  yield* runs.end(parser, options)
}

/** Bytes read from a file at a time by readFileCommandRuns. */
const FILE_CHUNK = 1024 * 1024
/** A command cut by the end of a chunk and no longer than this is read again with the next one. */
const REREAD_MAX = 64 * 1024

/**
 * readCommandRuns over a file, from byte `from` (offsets count from there): the command a chunk
 * ends inside is read again at the start of the next chunk instead of being joined to it, so that
 * no chunk is copied again (a join copies the whole chunk); longer commands are joined as before.
 * Reads are synchronous (see readFileChunks); the event loop gets a turn every few chunks.
 */
export async function* readFileCommandRuns(
  path: string,
  from: number,
  options: ReadCommandsOptions = {},
): AsyncGenerator<CommandRecord[] | FrameRun> {
  const fd = openSync(path, 'r')
  try {
    let parser = new RespCommandParser({ ...options, frames: true })
    const runs = new RunReader()
    for (let n = 1, at = from; ; n++) {
      const chunk = Buffer.allocUnsafe(FILE_CHUNK)
      const got = readSync(fd, chunk, 0, FILE_CHUNK, at)
      if (got === 0) break
      at += got
      parser.push(got === FILE_CHUNK ? chunk : chunk.subarray(0, got))
      yield* runs.read(parser)
      // What is left is the start of one command (the file goes on: the chunk was full).
      if (got === FILE_CHUNK && parser.buffered <= REREAD_MAX) {
        at = from + parser.offset
        parser = new RespCommandParser({ ...options, frames: true, offset: parser.offset })
      }
      if (n % 8 === 0) await nextTurn()
    }
    yield* runs.end(parser, options)
  } finally {
    closeSync(fd)
  }
}

/** The loop of readCommandRuns: runs of frames in place, other records in batches, in stream order. */
class RunReader {
  private readonly scanner = new FrameScanner()
  private readonly run: FrameRun = { kind: 'run', buf: Buffer.alloc(0), base: 0, frames: this.scanner }
  private batch: CommandRecord[] = [];

  /** Everything `parser` holds, up to a record it has only part of. */
  *read(parser: RespCommandParser): Generator<CommandRecord[] | FrameRun> {
    for (;;) {
      if (parser.scanFrames(this.scanner) > 0) {
        if (this.batch.length) yield this.batch
        this.batch = []
        this.run.buf = parser.frameBytes
        this.run.base = parser.frameBase
        yield this.run
        continue
      }
      const record = parser.next()
      if (record === NEED_MORE) return
      this.batch.push(record)
      if (this.batch.length >= 1024) {
        yield this.batch
        this.batch = []
      }
    }
  }

  /** At the end of the input: the last records, and what is left judged (finishStream). */
  *end(parser: RespCommandParser, options: ReadCommandsOptions): Generator<CommandRecord[]> {
    if (this.batch.length) yield this.batch
    this.batch = []
    finishStream(parser, options)
  }
}
