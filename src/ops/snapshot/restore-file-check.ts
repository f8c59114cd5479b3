import type { EventSink } from '../events.js'
import { fileSize } from './inspect.js'
import { summarize, type FileSummary } from './restore-file.js'

/** The verification pass over a file to restore, under way. */
export interface FileCheck {
  /** The file's size: rejects first when the file cannot be read (exit 2). */
  size: Promise<number>
  summary: Promise<FileSummary>
}

/**
 * Start the verification pass over the file (structure and CRC-64, see `summarize`) while the
 * target is being connected: its reads and the connection's round trips overlap. Nothing is sent
 * before `summary` resolves; a failure is reported when the restore awaits it, after any failure
 * to reach the target.
 */
export function startFileCheck(path: string, emit: EventSink): FileCheck {
  const size = fileSize(path)
  const summary = size.then((bytes) => {
    emit({ type: 'phase', phase: 'verifying', detail: path })
    return summarize(path, emit, bytes)
  })
  size.catch(() => {})
  summary.catch(() => {})
  return { size, summary }
}
