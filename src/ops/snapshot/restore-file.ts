import { RdbReader, type ChecksumStatus, type RdbHeader } from '../../data/rdb/reader.js'
import { ProgressTracker } from '../progress.js'
import type { EventSink } from '../events.js'
import { fileError } from './inspect.js'

export interface FileSummary {
  header: RdbHeader
  checksum: ChecksumStatus
  stored?: string
  computed?: string
  keys: number
  dbKeys: Map<number, number>
  types: Map<number, number>
  functions: Buffer[]
  modules: string[]
}

/**
 * Read the whole file once before anything is sent: its CRC-64 (slicing-by-8 WebAssembly, about
 * disk speed) and its record structure (dbs, types, functions: what the refusals below need),
 * values skipped by their lengths, not opened. A file whose CRC-64 matches is what the server wrote,
 * so its values are not walked one by one here; a file without a usable checksum (saved with
 * rdbchecksum no, or restored with --ignore-checksum) is, with `validate`, so that a damaged value
 * still stops the restore before anything is sent.
 */
export async function summarize(
  path: string,
  emit: EventSink,
  size: number,
  validate = false,
): Promise<FileSummary> {
  const reader = RdbReader.fromFile(path, { entries: 'count', validate, reuseBuffers: true })
  const s: FileSummary = {
    header: { magic: 'REDIS', version: 0, dialect: 'oss' },
    checksum: 'absent',
    keys: 0,
    dbKeys: reader.tally.perDb,
    types: reader.tally.perType,
    functions: [],
    modules: [],
  }
  const tracker = new ProgressTracker('verify', 'bytes', size)
  let last = 0
  try {
    for await (const batch of reader.batches()) {
      for (const rec of batch) {
        if (rec.kind === 'header') s.header = rec.header
        else if (rec.kind === 'function') s.functions.push(Buffer.from(rec.code))
        else if (rec.kind === 'module-aux') s.modules.push(rec.module)
        else if (rec.kind === 'eof') {
          s.checksum = rec.checksum
          s.stored = rec.storedChecksum
          s.computed = rec.computedChecksum
        }
      }
      const t = Date.now()
      if (t - last > 250) {
        last = t
        tracker.add(reader.offset - tracker.done)
        emit(tracker.snapshot())
      }
    }
    s.keys = reader.tally.keys
    // The last word on the pass: the file read to its end (a short pass emitted only its start).
    tracker.add(reader.offset - tracker.done)
    emit(tracker.snapshot())
  } catch (err) {
    throw fileError(path, err)
  }
  return s
}
