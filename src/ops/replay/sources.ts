import { createReadStream, readFileSync, statSync } from 'node:fs'
import { basename, join } from 'node:path'
import { parseManifest, replayOrder, ManifestError } from '../../data/aof/manifest.js'
import { detectLogFormat, type LogFormat } from '../../data/logs/detect.js'
import { readMonitorLog, MonitorLogError } from '../../data/monitor/monitor-reader.js'
import { RdbReader, RdbFormatError, RdbEntry, type RdbHeader } from '../../data/rdb/reader.js'
import {
  frameArgs,
  readCommandRuns,
  readFileCommandRuns,
  RespProtocolError,
  type CommandFrame,
  type CommandRecord,
} from '../../data/resp/command-parser.js'
import type { FrameScanner } from '../../data/resp/frame-scanner.js'
import { UsageError } from '../../errors.js'
import { readFileChunks } from '../../data/file-chunks.js'
import type { RdbTarget } from './rdb-target.js'

/** One command to replay, with where it came from. */
export interface ReplayItem {
  args: Buffer[]
  file: string
  offset: number
  size: number
  /** The database the command belongs to, when the log says so per command (MONITOR, RDB). */
  db?: number
  /** When the command ran, epoch ms, from MONITOR timestamps or `#TS:` annotations. */
  timestampMs?: number
  /**
   * Not a command of its own in the log: a further command of the same RDB key (one rebuilt with
   * commands), numbered with the first.
   */
  continues?: boolean
  /** The command's bytes as the log holds them (RESP and AOF streams): sent as they are when nothing is rewritten. */
  frame?: CommandFrame
}

/**
 * Commands of a RESP or AOF stream found in place: frame k is buf[frames.start[k]..frames.end[k]),
 * at log offset `base + frames.start[k]`. No object per command: the replay sends most of them as
 * they are, and makes a ReplayItem (itemAt) only of the few it must look into. Valid until the
 * next batch is asked for.
 */
export interface LogFrames {
  kind: 'frames'
  file: string
  buf: Buffer
  /** Log offset of buf[0]. */
  base: number
  frames: FrameScanner
  timestampMs: number | undefined
}

/**
 * Entries of an RDB (a file, an AOF preamble or base) as the reader gives them: the replay writes
 * most of them as RESTOREs straight from the reader's buffer, and makes items (rdbItems) of the few
 * rebuilt with commands. With `keysOnly` (the pre-pass) their values are not checked.
 */
export interface LogRdbEntries {
  kind: 'rdb'
  file: string
  header: RdbHeader
  entries: RdbEntry[]
}

/** Frame k of `run`, as a ReplayItem (its arguments made when asked for). */
export function itemAt(run: LogFrames, k: number): ReplayItem {
  const f = run.frames
  const start = f.start[k]
  const end = f.end[k]
  const frame: CommandFrame = {
    kind: 'frame',
    buf: run.buf,
    start,
    end,
    argc: f.argc[k],
    nameStart: f.nameStart[k],
    nameEnd: f.nameEnd[k],
    arg1Start: f.arg1Start[k],
    arg1End: f.arg1End[k],
    offset: run.base + start,
    size: end - start,
  }
  return new FramedItem(frame, run.file, run.base + start, run.timestampMs)
}

/**
 * A command of a RESP or AOF stream: its arguments are made from the frame only when asked for
 * (most commands are sent as the log holds them, and never need them).
 */
class FramedItem implements ReplayItem {
  private argList: Buffer[] | undefined
  constructor(
    readonly frame: CommandFrame,
    readonly file: string,
    readonly offset: number,
    readonly timestampMs: number | undefined,
  ) {}

  get size(): number {
    return this.frame.size
  }

  get args(): Buffer[] {
    return (this.argList ??= frameArgs(this.frame))
  }

  set args(args: Buffer[]) {
    this.argList = args
  }
}

interface ReplaySourceOptions {
  skipTruncatedTail?: boolean
  /** RDB entries as `RESTORE key` only, their values not made into DUMP payloads (a pre-pass). */
  keysOnly?: boolean
  /**
   * The target, when known: values it can read are RESTOREd labelled with its RDB version, values
   * whose encoding is newer than it are rebuilt with commands (MULTI, DEL, SET/RPUSH/SADD/HSET/
   * ZADD/XADD ..., EXEC). Without it every value is RESTOREd as the file labels it.
   */
  rdbTarget?: RdbTarget
  onTruncatedTail?: (file: string, offset: number) => void
  /**
   * Read the first file from this byte offset on (a command's or an annotation's first byte), the
   * commands there recorded at `timestampMs` until the next `#TS:`: only for a RESP or AOF stream
   * with no RDB part (streamsCommandsOnly).
   */
  resumeAt?: { offset: number; timestampMs: number | undefined }
}

export interface ReplayInput {
  format: LogFormat
  files: { path: string; bytes: number }[]
  totalBytes: number
}

/** Decide the format (detected, or forced with --format) and list the files it spans. */
export function resolveReplayInput(path: string, forced?: LogFormat): ReplayInput {
  let st
  try {
    st = statSync(path)
  } catch {
    throw new UsageError(`cannot read ${path}: no such file or directory`)
  }
  const detected = detectLogFormat(path)
  const format = forced ?? detected?.format
  if (!format) {
    throw new UsageError(`cannot tell the format of ${path}`, {
      code: 'unknown-format',
      hint: 'Expected a RESP stream, an AOF file or directory, an RDB file or a MONITOR capture; force one with --format.',
    })
  }
  if (format === 'aof-dir') {
    if (!st.isDirectory())
      throw new UsageError(`${path} is not a directory: --format aof-dir takes an appenddirname folder`)
    const manifest = detected?.manifest
    if (!manifest) throw new UsageError(`no *.manifest file in ${path}`)
    let entries
    try {
      entries = replayOrder(parseManifest(readFileSync(manifest, 'utf8')))
    } catch (err) {
      if (err instanceof ManifestError) throw new UsageError(`bad AOF manifest ${manifest}: ${err.message}`)
      throw err
    }
    const files = entries.map((e) => {
      const p = join(path, e.file)
      try {
        return { path: p, bytes: statSync(p).size }
      } catch {
        throw new UsageError(
          `the manifest ${basename(manifest)} names ${e.file}, which is missing from ${path}`,
        )
      }
    })
    return { format, files, totalBytes: files.reduce((n, f) => n + f.bytes, 0) }
  }
  if (st.isDirectory())
    throw new UsageError(`${path} is a directory; give a file, or an AOF directory with a manifest`)
  return { format, files: [{ path, bytes: st.size }], totalBytes: st.size }
}

function fileFormat(path: string, format: LogFormat): LogFormat {
  if (format !== 'aof-dir') return format
  const detected = detectLogFormat(path)
  if (!detected) throw new UsageError(`cannot tell the format of ${path} (listed in the AOF manifest)`)
  return detected.format
}

/** Is the file (of an input of `format`) read as RESP commands from its first byte: no RDB, no MONITOR lines? */
export function streamsCommandsOnly(path: string, format: LogFormat): boolean {
  const own = fileFormat(path, format)
  if (own === 'monitor' || own === 'rdb') return false
  const detected = detectLogFormat(path)
  return !(detected?.format === 'rdb' || detected?.rdbPreamble)
}

function rdbError(err: RdbFormatError, file: string): UsageError {
  return new UsageError(`${file}: ${err.message}`, {
    code: 'bad-input',
    hint: 'The RDB part of the input is damaged or truncated.',
  })
}

/**
 * The commands of a replay input, in batches, streamed with backpressure: RESP and AOF streams
 * (with `#TS:` timestamps), AOF RDB preambles and RDB bases (as RESTORE), MONITOR captures.
 */
export async function* replayItems(
  input: ReplayInput,
  options: ReplaySourceOptions = {},
): AsyncGenerator<ReplayItem[] | LogFrames | LogRdbEntries> {
  for (const [index, { path }] of input.files.entries()) {
    const format = fileFormat(path, input.format)
    const resumeAt = (index === 0 ? options.resumeAt : undefined) ?? { offset: 0, timestampMs: undefined }
    // Where the RESP part of the file starts (after an RDB preamble): error offsets count from it.
    const at = { baseOffset: 0 }
    try {
      if (format === 'monitor') yield* monitorItems(path, options)
      else yield* fileItems(path, format, resumeAt, options, at)
    } catch (err) {
      throw readError(err, path, at.baseOffset)
    }
  }
}

/** A MONITOR capture's commands, with the db and time each ran in. */
async function* monitorItems(path: string, options: ReplaySourceOptions): AsyncGenerator<ReplayItem[]> {
  for await (const batch of readMonitorLog(createReadStream(path, { highWaterMark: 256 * 1024 }), {
    allowTruncatedTail: options.skipTruncatedTail,
    onTruncatedTail: (offset) => options.onTruncatedTail?.(path, offset),
  })) {
    yield batch.map((c) => ({
      args: c.args,
      file: path,
      offset: c.offset,
      size: c.size,
      db: c.db,
      timestampMs: c.timestampMs,
    }))
  }
}

/** An RDB file, or a RESP/AOF file (its RDB preamble first, if it has one) from `resumeAt` on. */
async function* fileItems(
  path: string,
  format: LogFormat,
  resumeAt: { offset: number; timestampMs: number | undefined },
  options: ReplaySourceOptions,
  at: { baseOffset: number },
): AsyncGenerator<ReplayItem[] | LogFrames | LogRdbEntries> {
  at.baseOffset = resumeAt.offset
  const detected = detectLogFormat(path)
  if (!(format === 'rdb' || detected?.format === 'rdb' || detected?.rdbPreamble)) {
    const runs = readFileCommandRuns(path, resumeAt.offset, runOptions(path, resumeAt.offset, options))
    yield* commandItems(runs, path, resumeAt.offset, resumeAt.timestampMs)
    return
  }
  // Values are checked before they are sent: a damaged listpack sent as a RESTORE payload can
  // crash a server that does not sanitize payloads (sanitize-dump-payload no, the default).
  // The pre-pass (keysOnly) reads keys only: what it cannot read it leaves to the replay, which
  // stops at the same place, so it neither walks the values nor sums the file.
  const reader = new RdbReader(readFileChunks(path, undefined, resumeAt.offset), {
    leaveSourceOpen: format !== 'rdb',
    validate: !options.keysOnly,
    verifyChecksum: !options.keysOnly,
  })
  yield* rdbEntries(reader, path)
  if (format === 'rdb') return
  // The RESP part follows the RDB preamble in the same stream.
  at.baseOffset = reader.offset
  const runs = readCommandRuns(reader.rest(), runOptions(path, at.baseOffset, options))
  yield* commandItems(runs, path, at.baseOffset, resumeAt.timestampMs)
}

/** How the commands of `path` from `baseOffset` on are read: its truncated tail reported in file offsets. */
function runOptions(path: string, baseOffset: number, options: ReplaySourceOptions) {
  return {
    allowTruncatedTail: options.skipTruncatedTail,
    onTruncatedTail: (offset: number) => options.onTruncatedTail?.(path, baseOffset + offset),
  }
}

/** An RDB's entries, a batch at a time, with the header they are read by. */
async function* rdbEntries(reader: RdbReader, path: string): AsyncGenerator<LogRdbEntries> {
  for await (const records of reader.batches()) {
    const header = reader.header ?? { magic: 'REDIS' as const, version: 9, dialect: 'oss' as const }
    const entries = records.filter((r): r is RdbEntry => r instanceof RdbEntry)
    if (entries.length) yield { kind: 'rdb', file: path, header, entries }
  }
}

/**
 * RESP commands (a file's bytes from `baseOffset` on): runs of well-formed frames as they lie
 * (LogFrames, one object reused), the rest (inline commands, annotations) as items.
 */
async function* commandItems(
  runs: ReturnType<typeof readCommandRuns>,
  path: string,
  baseOffset: number,
  timestampMs: number | undefined,
): AsyncGenerator<ReplayItem[] | LogFrames> {
  const time = { timestampMs }
  const run: LogFrames = {
    kind: 'frames',
    file: path,
    buf: Buffer.alloc(0),
    base: 0,
    frames: undefined!,
    timestampMs,
  }
  for await (const batch of runs) {
    if (!Array.isArray(batch)) {
      run.buf = batch.buf
      run.base = baseOffset + batch.base
      run.frames = batch.frames
      run.timestampMs = time.timestampMs
      yield run
      continue
    }
    const items = itemsOf(batch, path, baseOffset, time)
    if (items.length) yield items
  }
}

/** Records that are not in a run: commands as items, `#TS:` annotations setting `time` for what follows. */
function itemsOf(
  batch: CommandRecord[],
  path: string,
  baseOffset: number,
  time: { timestampMs: number | undefined },
): ReplayItem[] {
  const items: ReplayItem[] = []
  for (const rec of batch) {
    if (rec.kind === 'annotation') {
      const ts = /^#?TS:(\d+)/.exec(rec.text)
      if (ts) time.timestampMs = Number(ts[1]) * 1000
      continue
    }
    if (rec.kind === 'frame') items.push(new FramedItem(rec, path, baseOffset + rec.offset, time.timestampMs))
    else
      items.push({
        args: rec.args,
        file: path,
        offset: baseOffset + rec.offset,
        size: rec.size,
        timestampMs: time.timestampMs,
      })
  }
  return items
}

/** What stopped reading `path` (a RESP stream read from `baseOffset` on), in the replay's words. */
function readError(err: unknown, path: string, baseOffset: number): unknown {
  if (err instanceof RespProtocolError) {
    const what = err.message.slice(0, err.message.indexOf(' at byte offset'))
    const leftover = /\((\d+) bytes left over\)/.exec(what)
    const message = leftover
      ? `the log ends inside the command that starts at byte offset ${baseOffset + err.offset - Number(leftover[1])} (${leftover[1]} bytes of it present)`
      : `${what} at byte offset ${baseOffset + err.offset}: expected ${err.expected}`
    return new UsageError(`${path}: ${message}`, {
      code: /truncated|end of (the )?(input|stream)/i.test(err.message) ? 'truncated' : 'bad-input',
      hint: 'Replay stopped after the last complete command. Pass --skip-truncated-tail to accept a log cut short.',
    })
  }
  if (err instanceof MonitorLogError) {
    return new UsageError(`${path}: ${err.message}`, {
      code: /truncated/.test(err.message) ? 'truncated' : 'bad-input',
      hint: 'Replay stopped after the last complete command. Pass --skip-truncated-tail to accept a log cut short.',
    })
  }
  if (err instanceof RdbFormatError) return rdbError(err, path)
  return err
}
