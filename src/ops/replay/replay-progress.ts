import type { OperationContext } from '../context.js'
import type { ProgressTracker } from '../progress.js'
import type { ReplayReport } from './report.js'
import type { ReplayInput } from './sources.js'

/** The send phase's progress: an event at most every half second, with the bytes sent and an ETA. */
export class ReplayProgress {
  /** When sending began. */
  started = 0
  private last = 0

  constructor(
    private readonly input: ReplayInput,
    private readonly report: ReplayReport,
    private readonly tracker: ProgressTracker,
    private readonly context: OperationContext,
  ) {}

  start(): void {
    this.started = Date.now()
  }

  tick(): void {
    if (Date.now() - this.last <= 500) return
    this.last = Date.now()
    const report = this.report
    const totalBytes = this.input.totalBytes
    const rateBytes = report.bytes / Math.max(0.001, (Date.now() - this.started) / 1000)
    this.context.emit({
      ...this.tracker.snapshot(),
      total: undefined,
      etaSeconds: rateBytes > 0 ? Math.round((totalBytes - report.bytes) / rateBytes) : undefined,
      detail: `${Math.round((100 * report.bytes) / Math.max(1, totalBytes))}% of ${totalBytes} bytes`,
    })
  }
}
