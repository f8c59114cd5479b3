import { OperationError } from '../errors.js'

/**
 * One status transition of an AWS resource seen while waiting. On the NDJSON stream it is a `phase`
 * event (its type value is output, kept as it was); an operation's own phases are ops/events.ts's
 * PhaseEvent, told apart by their fields (`resource`/`status` here, `phase` there).
 */
export interface StatusChangeEvent {
  type: 'phase'
  at: number
  /** What is being waited on: "snapshot nightly", "replication group orders". */
  resource: string
  status: string
  /** The status before, absent on the first observation. */
  from?: string
  elapsedMs: number
}

export interface WaitOptions {
  /** Time between polls (production 15 s; tests tens of milliseconds). */
  intervalMs: number
  /** Give up after this long (an OperationError, exit 5). */
  timeoutMs: number
  onPhase?: (event: StatusChangeEvent) => void
  now?: () => number
  sleep?: (ms: number) => Promise<void>
}

export interface WaitSpec<T> {
  resource: string
  describe: () => Promise<T>
  status: (value: T) => string
  /** Settled successfully. */
  done: (status: string, value: T) => boolean
  /** Settled in failure: the wait ends and the caller explains why. */
  failed?: (status: string, value: T) => boolean
  /** How to pick the wait up again if it times out (printed in the error). */
  resumeHint?: string
}

export interface WaitResult<T> {
  value: T
  status: string
  failed: boolean
  elapsedMs: number
  phases: StatusChangeEvent[]
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/**
 * Poll until `done` or `failed`, reporting each status change with the time elapsed since the wait
 * began. Errors from `describe` propagate (the AWS client has already retried throttling).
 */
export async function waitFor<T>(spec: WaitSpec<T>, options: WaitOptions): Promise<WaitResult<T>> {
  const now = options.now ?? Date.now
  const sleep = options.sleep ?? defaultSleep
  const started = now()
  const phases: StatusChangeEvent[] = []
  let last: string | undefined
  for (;;) {
    const value = await spec.describe()
    const status = spec.status(value)
    const at = now()
    if (status !== last) {
      const event: StatusChangeEvent = {
        type: 'phase',
        at,
        resource: spec.resource,
        status,
        ...(last !== undefined ? { from: last } : {}),
        elapsedMs: at - started,
      }
      phases.push(event)
      options.onPhase?.(event)
      last = status
    }
    const failed = spec.failed?.(status, value) ?? false
    if (failed || spec.done(status, value)) return { value, status, failed, elapsedMs: at - started, phases }
    if (at - started >= options.timeoutMs) {
      throw new OperationError(
        `gave up waiting for ${spec.resource} after ${formatElapsed(at - started)}: still '${status}'`,
        {
          code: 'wait-timeout',
          resumable: true,
          hint: spec.resumeHint ?? 'AWS carries on regardless; raise --wait-timeout to wait longer.',
        },
      )
    }
    await sleep(Math.min(options.intervalMs, Math.max(0, started + options.timeoutMs - at)))
  }
}

/** 0:07, 12:30, 1:02:03 */
export function formatElapsed(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000))
  const h = Math.floor(total / 3600)
  const m = Math.floor((total % 3600) / 60)
  const s = total % 60
  const mm = h ? String(m).padStart(2, '0') : String(m)
  return `${h ? `${h}:` : ''}${mm}:${String(s).padStart(2, '0')}`
}

export function formatPhase(e: StatusChangeEvent): string {
  return `  [${formatElapsed(e.elapsedMs).padStart(5)}] ${e.resource}: ${e.from ? `${e.from} -> ` : ''}${e.status}`
}
