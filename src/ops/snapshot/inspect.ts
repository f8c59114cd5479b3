import { stat } from 'node:fs/promises'
import { RdbReader, RdbFormatError } from '../../data/rdb/reader.js'
import { UsageError } from '../../errors.js'
import { ProgressTracker } from '../progress.js'
import type { EventSink } from '../events.js'
import { InspectTally, type InspectReport } from './inspect-report.js'

export type { InspectReport } from './inspect-report.js'

interface InspectOptions {
  /** How many of the largest keys to list (default 20). */
  top?: number
  onEvent?: EventSink
  now?: number
}

/** Turn a reader's format error into the command's exit-2 error, naming the offset. */
export function fileError(path: string, err: unknown): unknown {
  if (err instanceof RdbFormatError) {
    return new UsageError(`${path}: ${err.truncated ? '' : 'corrupt RDB: '}${err.message}`, {
      code: err.truncated ? 'truncated' : 'corrupt',
      hint: err.truncated
        ? 'The file is incomplete (an interrupted copy or download?): get it again.'
        : 'The file is damaged or not an RDB file this version of kvtop reads.',
    })
  }
  const code = (err as NodeJS.ErrnoException)?.code
  if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR') {
    return new UsageError(`cannot read ${path}: ${code}`, { code: 'unreadable' })
  }
  return err
}

/**
 * `kvtop snapshot inspect`: what an RDB file holds, read in one streaming pass. Every value is
 * walked, not skipped: LZF data is checked against its declared length, compact encodings
 * (listpack, ziplist, intset, zipmap) entry by entry, so a damaged value fails (exit 2, naming its
 * byte offset) even when the file's CRC-64 matches its damaged bytes.
 *
 * The phases: the file's size, the pass that hands every record to the tally (inspect-report.ts),
 * and the report it makes.
 */
export async function inspectSnapshot(path: string, options: InspectOptions = {}): Promise<InspectReport> {
  const size = await fileSize(path)
  const tally = new InspectTally(path, size, options.top ?? 20, options.now ?? Date.now())
  await readRecords(path, size, tally, options.onEvent ?? (() => {}))
  return tally.report()
}

/** The size of an RDB file to read; a missing or unreadable file, or a directory, is bad input. */
export async function fileSize(path: string): Promise<number> {
  try {
    const st = await stat(path)
    if (st.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' })
    return st.size
  } catch (err) {
    throw fileError(path, err)
  }
}

/** The streaming pass: every record to `tally`, the bytes read as progress (at most every 250 ms). */
async function readRecords(path: string, size: number, tally: InspectTally, emit: EventSink): Promise<void> {
  const reader = RdbReader.fromFile(path, { countElements: true, validate: true })
  const tracker = new ProgressTracker('inspect', 'bytes', size)
  let lastEmit = 0
  try {
    for await (const batch of reader.batches()) {
      for (const rec of batch) tally.add(rec)
      const t = Date.now()
      if (t - lastEmit > 250) {
        lastEmit = t
        tracker.add(reader.offset - tracker.done)
        emit(tracker.snapshot())
      }
    }
    tracker.add(reader.offset - tracker.done)
    emit(tracker.snapshot())
  } catch (err) {
    throw fileError(path, err)
  }
}
