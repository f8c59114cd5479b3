import type { ConnectedTarget } from '../../connect/target.js'
import type { ReplayInput } from './sources.js'

interface ReplayErrorSample {
  file: string
  offset: number
  /** The command's number in the log (1 for the first). */
  number: number
  command: string
  message: string
}

export interface ReplayReport {
  format: string
  files: string[]
  target: string
  mode: string
  /** Keys the target held before the replay (every primary, every db). */
  targetKeysBefore: number
  commands: number
  skippedAdmin: number
  split: number
  broadcast: number
  /** Dataset-wide commands sent (with --allow-flush), by command. */
  datasetWide: { total: number; byCommand: Record<string, number> }
  /** Commands refused for now (OOM, READONLY, LOADING ...) and sent again. */
  retried: number
  /**
   * Writes applied before an earlier command on the same keys that was refused for now and applied
   * later (a pipeline cannot hold them back): for those keys the order differs from the log's.
   */
  reordered: number
  /** Error replies: commands the target did not apply. Any makes the replay exit 5. */
  errors: { total: number; byKind: Record<string, number>; first: ReplayErrorSample[] }
  bytes: number
  /** The pre-pass over the log, before anything is sent. */
  scanSeconds: number
  seconds: number
  commandsPerSecond: number
  stoppedAt?: { file: string; offset: number; reason: string }
  truncatedTail?: { file: string; offset: number }
  /**
   * Keys of RDB parts (an RDB file, an AOF preamble or base) whose encoding is newer than the
   * target's RDB version, rebuilt with commands (one MULTI ... EXEC block each) instead of RESTORE.
   */
  rebuilt: number
}

/** The report before anything is read: every count at zero. */
export function emptyReport(input: ReplayInput, target: ConnectedTarget): ReplayReport {
  return {
    format: input.format,
    files: input.files.map((f) => f.path),
    target: target.primaries.map((p) => p.address).join(','),
    mode: target.topology.mode,
    targetKeysBefore: 0,
    commands: 0,
    skippedAdmin: 0,
    split: 0,
    broadcast: 0,
    datasetWide: { total: 0, byCommand: {} },
    retried: 0,
    reordered: 0,
    errors: { total: 0, byKind: {}, first: [] },
    bytes: 0,
    scanSeconds: 0,
    seconds: 0,
    commandsPerSecond: 0,
    rebuilt: 0,
  }
}

export function where(item: { file: string; offset: number }): string {
  return `${item.file} at byte offset ${item.offset}`
}

export function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`
}
