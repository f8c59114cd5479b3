import { KvtopError } from '../../errors.js'
import { CommandNames } from '../../redis/command-names.js'
import { itemAt, replayItems, type ReplayInput, type ReplayItem } from './sources.js'

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

export interface ScanOptions {
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
 * A part of the log that cannot be read ends the scan quietly: the replay stops at the same place
 * with the same error, after applying what comes before it (a log cut short is the usual case).
 */
export async function scanLog(input: ReplayInput, options: ScanOptions = {}): Promise<LogScan> {
  const started = Date.now()
  const scan: LogScan = { commands: 0, datasetWide: {}, datasetWideTotal: 0, dbs: new Map(), seconds: 0 }
  const names = new CommandNames()
  let logDb = 0
  let bytes = 0
  let nextProgress = 50_000
  /** Inside MULTI: the dataset-wide commands of the block, counted at its EXEC. */
  let block: (LogPosition & { command: DatasetWideCommand })[] | undefined
  const count = (found: LogPosition & { command: DatasetWideCommand }) => {
    scan.datasetWide[found.command] = (scan.datasetWide[found.command] ?? 0) + 1
    scan.datasetWideTotal++
    scan.firstDatasetWide ??= found
  }
  const firstIn = (db: number, at: LogPosition) => {
    if (!scan.dbs.has(db)) scan.dbs.set(db, at)
  }
  const progress = (number: number) => {
    if (number < nextProgress) return
    nextProgress += 50_000
    options.onProgress?.(number, bytes)
  }
  /** One command the pre-pass looks into; false where the scan ends (an invalid SELECT). */
  const note = (item: ReplayItem, number: number): boolean => {
    const name = item.args[0]
    if (is(name, 'select')) {
      const db = parseSelectArg(item.args[1])
      if (db === undefined) {
        scan.badSelect = {
          file: item.file,
          offset: item.offset,
          number,
          arg: item.args[1]?.toString('latin1') ?? '',
        }
        return false
      }
      logDb = db
      return true
    }
    firstIn(item.db ?? logDb, { file: item.file, offset: item.offset, number })
    if (block) {
      if (is(name, 'exec')) {
        for (const found of block) count(found)
        block = undefined
      } else if (is(name, 'discard')) {
        block = undefined
      } else {
        const command = datasetWideCommand(item.args)
        if (command) block.push({ file: item.file, offset: item.offset, number, command })
      }
      return true
    }
    if (is(name, 'multi')) {
      block = []
      return true
    }
    const command = datasetWideCommand(item.args)
    if (command) count({ file: item.file, offset: item.offset, number, command })
    progress(number)
    return true
  }
  const past = (timestampMs: number | undefined) =>
    options.untilMs !== undefined && timestampMs !== undefined && timestampMs > options.untilMs
  try {
    outer: for await (const batch of replayItems(input, {
      skipTruncatedTail: options.skipTruncatedTail,
      keysOnly: true,
    })) {
      if (options.signal?.aborted) break
      if (!Array.isArray(batch) && batch.kind === 'rdb') {
        // Keys of an RDB: a RESTORE each, in the db the file gives it.
        for (const rec of batch.entries) {
          const number = ++scan.commands
          bytes += rec.size
          firstIn(rec.db, { file: batch.file, offset: rec.offset, number })
        }
        progress(scan.commands)
        continue
      }
      if (!Array.isArray(batch)) {
        // Commands in place: most (GET, SET, HSET, INCR ...) only have their db noted.
        if (past(batch.timestampMs)) break
        const { frames, buf } = batch
        for (let k = 0; k < frames.count; k++) {
          const number = ++scan.commands
          bytes += frames.end[k] - frames.start[k]
          // Only SELECT, MULTI blocks and dataset-wide commands are looked into (not plain ones).
          if (!block && names.of(buf, frames.nameStart[k], frames.nameEnd[k]).plain) {
            if (!scan.dbs.has(logDb))
              scan.dbs.set(logDb, { file: batch.file, offset: batch.base + frames.start[k], number })
            continue
          }
          if (!note(itemAt(batch, k), number)) break outer
        }
        progress(scan.commands)
        continue
      }
      for (const item of batch) {
        if (past(item.timestampMs)) break outer
        const number = ++scan.commands
        bytes += item.size
        if (!note(item, number)) break outer
      }
    }
  } catch (err) {
    // Unreadable from here on: the replay itself reports it when it gets there.
    if (!(err instanceof KvtopError)) throw err
  }
  scan.seconds = (Date.now() - started) / 1000
  return scan
}
