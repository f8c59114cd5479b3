import { UsageError } from '../../errors.js'
import type { EventSink } from '../events.js'
import type { DatasetWideCommand, LogPosition } from './scan.js'

export interface ReplayOptions {
  /** 'max', or a multiple of the recorded pace (1 = as recorded). */
  speed: 'max' | number
  /** Stop before the first command recorded after this time (epoch ms). */
  untilMs?: number
  /** Source db -> target db. */
  dbMap: Map<number, number>
  stopOnError: boolean
  skipTruncatedTail: boolean
  /** Replay onto a target that holds keys (refused otherwise, before anything is sent). */
  replace?: boolean
  /** Replay FLUSHALL, FLUSHDB, SWAPDB, SCRIPT FLUSH, FUNCTION FLUSH, FUNCTION RESTORE ... FLUSH. */
  allowFlush?: boolean
  /**
   * With `allowFlush`, when the log holds dataset-wide commands: called with their counts once the
   * pre-pass is done and before anything is sent. Throw to stop with nothing sent.
   */
  confirmDatasetWide?: (found: {
    total: number
    byCommand: Partial<Record<DatasetWideCommand, number>>
    first: LogPosition & { command: DatasetWideCommand }
  }) => Promise<void>
  /** A target node that owes replies and sends none this long stops the replay; 0: never. */
  stallTimeoutMs?: number
  /** How long commands refused for now (OOM, READONLY, LOADING ...) are retried; 0: not at all. */
  retryTimeoutMs?: number
  signal?: AbortSignal
  onEvent?: EventSink
}

export const DEFAULT_RETRY_TIMEOUT_MS = 60_000

/** --speed: max, 1x, 2.5x, or a bare number. */
export function parseSpeed(value: string): 'max' | number {
  if (value === 'max') return 'max'
  const m = /^(\d*\.?\d+)x?$/.exec(value)
  if (!m || !(Number(m[1]) > 0))
    throw new UsageError(`invalid --speed '${value}': expected max, 1x or a multiple such as 2x`)
  return Number(m[1])
}

/** --until: epoch seconds, epoch ms, or an ISO 8601 time. */
export function parseUntil(value: string): number {
  if (/^\d+(\.\d+)?$/.test(value)) {
    const n = Number(value)
    return n < 1e11 ? n * 1000 : n
  }
  const t = Date.parse(value)
  if (Number.isNaN(t))
    throw new UsageError(
      `invalid --until '${value}': expected epoch seconds or an ISO time such as 2026-11-22T10:00:00Z`,
    )
  return t
}
