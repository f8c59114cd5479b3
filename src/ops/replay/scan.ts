import { closeSync, openSync } from 'node:fs'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { KvtopError } from '../../errors.js'
import { CommandNames, mayNotBePlain } from '../../redis/command-names.js'
import { frameArgsAt } from '../../data/resp/frame-scanner.js'
import { FrameSkimmer } from '../../data/resp/frame-skimmer.js'
import {
  itemAt,
  replayItems,
  streamsCommandsOnly,
  type LogFrames,
  type LogRdbEntries,
  type ReplayInput,
  type ReplayItem,
} from './sources.js'

/**
 * Commands that act on a whole dataset, or on a whole script or function store, rather than on
 * keys: a replay refuses them unless `--allow-flush` says so.
 */
export type DatasetWideCommand =
  'FLUSHALL' | 'FLUSHDB' | 'SWAPDB' | 'SCRIPT FLUSH' | 'FUNCTION FLUSH' | 'FUNCTION RESTORE FLUSH'

/** Where a command is in the log: its file, byte offset and number (1 for the first command). */
export interface LogPosition {
  file: string
  offset: number
  number: number
}

/** Does `bytes` spell `lower` (lower-case ASCII letters), in any case? No allocation. */
function is(bytes: Buffer | undefined, lower: string): boolean {
  return bytes !== undefined && spells(bytes, 0, bytes.length, lower)
}

/** Does buf[start..end) spell `lower` (lower-case ASCII letters), in any case? */
function spells(buf: Uint8Array, start: number, end: number, lower: string): boolean {
  if (end - start !== lower.length) return false
  // `| 0x20` folds A-Z onto a-z, and maps no other byte onto a letter.
  for (let i = 0; i < lower.length; i++) if ((buf[start + i] | 0x20) !== lower.charCodeAt(i)) return false
  return true
}

/** The dataset-wide command `args` is, if it is one. Cheap: a length switch before any compare. */
export function datasetWideCommand(args: Buffer[]): DatasetWideCommand | undefined {
  const name = args[0]
  switch (name.length) {
    case 6:
      if (is(name, 'swapdb')) return 'SWAPDB'
      if (is(name, 'script') && is(args[1], 'flush')) return 'SCRIPT FLUSH'
      return undefined
    case 7:
      return is(name, 'flushdb') ? 'FLUSHDB' : undefined
    case 8:
      if (is(name, 'flushall')) return 'FLUSHALL'
      if (is(name, 'function')) {
        if (is(args[1], 'flush')) return 'FUNCTION FLUSH'
        // FUNCTION RESTORE payload [FLUSH | APPEND | REPLACE]
        if (is(args[1], 'restore') && is(args[3], 'flush')) return 'FUNCTION RESTORE FLUSH'
      }
      return undefined
    default:
      return undefined
  }
}

/** SELECT's argument as Redis reads it (a decimal integer, no sign, no leading zero), or undefined. */
export function parseSelectArg(arg: Buffer | undefined): number | undefined {
  if (!arg) return undefined
  const text = arg.toString('latin1')
  if (!/^(0|[1-9]\d{0,8})$/.test(text)) return undefined
  return Number(text)
}

/** `FLUSHALL 2, SWAPDB 1`. */
export function formatCounts(counts: Partial<Record<string, number>>): string {
  return Object.entries(counts)
    .map(([name, n]) => `${name} ${n}`)
    .join(', ')
}

export interface LogScan {
  /** Commands read, up to --until or to where the log cannot be read (the replay reports that). */
  commands: number
  /** Dataset-wide commands the replay would send, by command (none from a DISCARDed block). */
  datasetWide: Partial<Record<DatasetWideCommand, number>>
  datasetWideTotal: number
  firstDatasetWide?: LogPosition & { command: DatasetWideCommand }
  /** The source dbs commands run in, each with the first command in it. */
  dbs: Map<number, LogPosition>
  /** An invalid SELECT argument: where, and what it was. */
  badSelect?: LogPosition & { arg: string }
  seconds: number
}

interface ScanOptions {
  untilMs?: number
  skipTruncatedTail?: boolean
  signal?: AbortSignal
  /** Every few thousand commands: commands and bytes read so far. */
  onProgress?: (commands: number, bytes: number) => void
}

/**
 * The pre-pass of a replay: read the whole log (with the replay's own readers, RDB values left
 * undecoded into payloads) before anything is sent, and note what the replay must refuse or
 * announce: dataset-wide commands, the dbs used, a SELECT that cannot be parsed. It follows the
 * replay's reading of the log: --until, MULTI blocks (a DISCARDed one is never sent), SELECT.
 *
 * A RESP or AOF stream is skimmed (FrameSkimmer): a command's name is read, its values skipped by
 * their lengths; from whatever the skimmer does not read on (an annotation, an inline command, a
 * malformed frame) the replay's own reader takes over.
 *
 * A part of the log that cannot be read ends the scan quietly: the replay stops at the same place
 * with the same error, after applying what comes before it (a log cut short is the usual case).
 */
export async function scanLog(input: ReplayInput, options: ScanOptions = {}): Promise<LogScan> {
  const started = Date.now()
  const pass = new PrePass(options)
  try {
    for (const file of input.files) {
      let resumeAt = 0
      if (streamsCommandsOnly(file.path, input.format)) {
        resumeAt = await pass.skim(file.path, file.bytes)
        if (pass.ended) break
        if (resumeAt >= file.bytes) continue
      }
      await pass.read({ ...input, files: [file] }, { offset: resumeAt, timestampMs: pass.skimTimestampMs })
      if (pass.ended) break
    }
  } catch (err) {
    // Unreadable from here on: the replay itself reports it when it gets there.
    if (!(err instanceof KvtopError)) throw err
  }
  pass.scan.seconds = (Date.now() - started) / 1000
  return pass.scan
}

/** What the pre-pass found so far, and where in the log's db and MULTI blocks it is. */
class PrePass {
  readonly scan: LogScan = { commands: 0, datasetWide: {}, datasetWideTotal: 0, dbs: new Map(), seconds: 0 }
  /** At --until, an invalid SELECT or Ctrl-C: nothing further is read. */
  ended = false
  private readonly names = new CommandNames()
  private logDb = 0
  /** Skimming: the db plain commands run in is noted once, until a command looked into may change it. */
  private dbNoted = false
  /** Skimming: when the commands read ran, from the last `#TS:` annotation of the file. */
  skimTimestampMs: number | undefined
  /** ... and whether that is past --until (the next command ends the scan). */
  private skimPast = false
  private bytes = 0
  private nextProgress = 50_000
  /** Inside MULTI: the dataset-wide commands of the block, counted at its EXEC. */
  private block: (LogPosition & { command: DatasetWideCommand })[] | undefined

  constructor(private readonly options: ScanOptions) {}

  /**
   * A RESP or AOF stream by its frames' headers; returns the offset it read to (the file's size,
   * or where the replay's reader must take over).
   */
  async skim(path: string, size: number): Promise<number> {
    this.skimTimestampMs = undefined
    this.skimPast = false
    const fd = openSync(path, 'r')
    try {
      // Only SELECT, MULTI blocks and dataset-wide commands are looked into (not plain ones).
      const skimmer = new FrameSkimmer(
        fd,
        size,
        0,
        (buf, start, end) => mayNotBePlain(buf, start, end) && !this.names.of(buf, start, end).plain,
      )
      // The event loop gets a turn every few reads (Ctrl-C, the target's replies).
      while (this.skimSome(skimmer, path, skimmer.reads + 8)) {
        await nextTurn()
        if (this.options.signal?.aborted) {
          this.ended = true
          break
        }
      }
      return skimmer.offset
    } finally {
      closeSync(fd)
    }
  }

  /** Frames until the skimmer made `untilReads` reads of the file; false where the skim ends. */
  private skimSome(skimmer: FrameSkimmer, path: string, untilReads: number): boolean {
    let number = this.scan.commands
    let bytes = this.bytes
    try {
      while (skimmer.reads < untilReads) {
        if (!skimmer.next()) return false
        if (skimmer.annotation) {
          this.annotated(skimmer)
          continue
        }
        if (this.skimPast) {
          this.ended = true
          return false
        }
        number++
        bytes += skimmer.size
        if (skimmer.whole) {
          this.scan.commands = number
          this.bytes = bytes
          const args = frameArgsAt(skimmer.buf, skimmer.start)
          const item = { args, file: path, offset: skimmer.offset, size: skimmer.size }
          if (!this.note(item, number)) {
            this.ended = true
            return false
          }
          this.dbNoted = false
        } else if (!this.dbNoted) {
          this.firstIn(this.logDb, { file: path, offset: skimmer.offset, number })
          this.dbNoted = true
        }
        if (number >= this.nextProgress) {
          this.bytes = bytes
          this.progress(number)
        }
      }
      return true
    } finally {
      this.scan.commands = number
      this.bytes = bytes
    }
  }

  /** An annotation line: `#TS:<unix>` says when the commands after it ran. */
  private annotated(skimmer: FrameSkimmer): void {
    const text = skimmer.buf.toString('latin1', skimmer.start, skimmer.textEnd)
    const ts = /^#?TS:(\d+)/.exec(text)
    if (!ts) return
    this.skimTimestampMs = Number(ts[1]) * 1000
    this.skimPast = this.past(this.skimTimestampMs)
  }

  /** The log (one file of it) with the replay's own readers, from `resumeAt` on. */
  async read(
    input: ReplayInput,
    resumeAt: { offset: number; timestampMs: number | undefined },
  ): Promise<void> {
    for await (const batch of replayItems(input, {
      skipTruncatedTail: this.options.skipTruncatedTail,
      keysOnly: true,
      resumeAt,
    })) {
      if (this.options.signal?.aborted || !this.take(batch)) return void (this.ended = true)
    }
  }

  /** One batch of the replay's reader; false where the scan ends. */
  private take(batch: ReplayItem[] | LogFrames | LogRdbEntries): boolean {
    const scan = this.scan
    if (!Array.isArray(batch) && batch.kind === 'rdb') {
      // Keys of an RDB: a RESTORE each, in the db the file gives it.
      for (const rec of batch.entries) {
        const number = ++scan.commands
        this.bytes += rec.size
        this.firstIn(rec.db, { file: batch.file, offset: rec.offset, number })
      }
      this.progress(scan.commands)
      return true
    }
    if (!Array.isArray(batch)) {
      // Commands in place: most (GET, SET, HSET, INCR ...) only have their db noted.
      if (this.past(batch.timestampMs)) return false
      const { frames, buf } = batch
      for (let k = 0; k < frames.count; k++) {
        const number = ++scan.commands
        this.bytes += frames.end[k] - frames.start[k]
        // Only SELECT, MULTI blocks and dataset-wide commands are looked into (not plain ones).
        if (!this.block && this.names.of(buf, frames.nameStart[k], frames.nameEnd[k]).plain) {
          if (!scan.dbs.has(this.logDb))
            scan.dbs.set(this.logDb, { file: batch.file, offset: batch.base + frames.start[k], number })
          continue
        }
        if (!this.note(itemAt(batch, k), number)) return false
      }
      this.progress(scan.commands)
      return true
    }
    for (const item of batch) {
      if (this.past(item.timestampMs)) return false
      const number = ++scan.commands
      this.bytes += item.size
      if (!this.note(item, number)) return false
    }
    return true
  }

  /** One command the pre-pass looks into; false where the scan ends (an invalid SELECT). */
  private note(item: Pick<ReplayItem, 'args' | 'file' | 'offset' | 'db'>, number: number): boolean {
    const name = item.args[0]
    if (is(name, 'select')) {
      const db = parseSelectArg(item.args[1])
      if (db === undefined) {
        this.scan.badSelect = {
          file: item.file,
          offset: item.offset,
          number,
          arg: item.args[1]?.toString('latin1') ?? '',
        }
        return false
      }
      this.logDb = db
      return true
    }
    this.firstIn(item.db ?? this.logDb, { file: item.file, offset: item.offset, number })
    if (this.block) {
      if (is(name, 'exec')) {
        for (const found of this.block) this.count(found)
        this.block = undefined
      } else if (is(name, 'discard')) {
        this.block = undefined
      } else {
        const command = datasetWideCommand(item.args)
        if (command) this.block.push({ file: item.file, offset: item.offset, number, command })
      }
      return true
    }
    if (is(name, 'multi')) {
      this.block = []
      return true
    }
    const command = datasetWideCommand(item.args)
    if (command) this.count({ file: item.file, offset: item.offset, number, command })
    this.progress(number)
    return true
  }

  private count(found: LogPosition & { command: DatasetWideCommand }): void {
    const scan = this.scan
    scan.datasetWide[found.command] = (scan.datasetWide[found.command] ?? 0) + 1
    scan.datasetWideTotal++
    scan.firstDatasetWide ??= found
  }

  private firstIn(db: number, at: LogPosition): void {
    if (!this.scan.dbs.has(db)) this.scan.dbs.set(db, at)
  }

  private progress(number: number): void {
    if (number < this.nextProgress) return
    this.nextProgress += 50_000
    this.options.onProgress?.(number, this.bytes)
  }

  private past(timestampMs: number | undefined): boolean {
    return (
      this.options.untilMs !== undefined && timestampMs !== undefined && timestampMs > this.options.untilMs
    )
  }
}
