/**
 * The event contract between operations and views (docs/architecture.md, "Events"). Operations
 * emit these typed events and know nothing about views; a command hands them to a reporter (ink on
 * a TTY, NDJSON with --json, heartbeat lines when piped). Both sides import this module and
 * nothing of each other, so it sits below both.
 */
export interface ProgressEvent {
  type: 'progress'
  /** Which part of the work, e.g. a source shard '127.0.0.1:7000' or 'restore'. */
  task: string
  done: number
  total?: number
  unit: string
  bytes?: number
  /** Units per second, smoothed. */
  rate?: number
  etaSeconds?: number
  errors?: number
  detail?: string
  /**
   * This task is the sum of the others of its unit (snapshot create's whole beside each node's):
   * a one-line view shows it alone. Set by the operation: two tasks of equal totals (verify's two
   * directions) are not one the sum of the other.
   */
  overall?: true
  /**
   * Tasks of one group are parts of one piece of work (a copy's source nodes): a one-line view may
   * sum them. Tasks of other groups, or of none (verify's two directions), are other work.
   */
  group?: string
}

interface PhaseEvent {
  type: 'phase'
  phase: string
  detail?: string
}

interface WarningEvent {
  type: 'warning'
  message: string
}

export type OperationEvent =
  ProgressEvent | PhaseEvent | WarningEvent | ({ type: string } & Record<string, unknown>)

export type EventSink = (event: OperationEvent) => void

/** What shows an operation's events; src/ui/reporter.ts makes one per output mode. */
export interface Reporter {
  onEvent(event: OperationEvent): void
  /** Stop rendering; the last frame stays on screen. */
  finish(): void
}
