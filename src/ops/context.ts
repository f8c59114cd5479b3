import { ProgressTracker } from './progress.js'
import type { EventSink } from './events.js'

/**
 * What every long operation does besides its work: emit typed events, warn, and count progress
 * per task. One small object handed to the parts of an operation instead of closures rebuilt in each.
 */
export class OperationContext {
  private readonly trackers: ProgressTracker[] = []

  constructor(readonly emit: EventSink = () => {}) {}

  warn(message: string): void {
    this.emit({ type: 'warning', message })
  }

  phase(phase: string, detail?: string): void {
    this.emit(detail === undefined ? { type: 'phase', phase } : { type: 'phase', phase, detail })
  }

  /** A progress counter for one task (of `group`: ProgressEvent.group), shown with the others by reportProgress(). */
  tracker(task: string, unit: string, total?: number, group?: string): ProgressTracker {
    const tracker = new ProgressTracker(task, unit, total)
    tracker.group = group
    this.trackers.push(tracker)
    return tracker
  }

  /** Every task's progress now: one `progress` event each. */
  reportProgress(): void {
    for (const t of this.trackers) this.emit(t.snapshot())
  }
}
