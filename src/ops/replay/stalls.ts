import type { SeededTarget } from '../../connect/target.js'
import { OperationError } from '../../errors.js'
import { StallWatch, stallMessage, type Watched } from '../../wire/stall-watch.js'
import type { KeySlots } from './key-slots.js'
import { plural, where, type ReplayReport } from './report.js'
import type { Sender } from './sender.js'
import { wait as sleep } from '../../wait.js'

/**
 * A node that owes replies and sends none (hung, paused, partitioned) must not hold the replay
 * forever: after the stall timeout it stops the replay, and every wait of the replay (a pause, a
 * back-off, COMMAND GETKEYS) ends with it.
 */
export class ReplayStalls {
  /** Why the replay stopped, once a node stalled. */
  stalled: OperationError | undefined
  /** Rejects when a node stalls. */
  readonly stall: Promise<never>
  private reject: (err: Error) => void = () => {}
  private watch: StallWatch | undefined

  constructor() {
    this.stall = new Promise<never>((_, reject) => (this.reject = reject))
    this.stall.catch(() => {})
  }

  /** Wait `ms` (less when `signal` aborts); rejects when a node stalls meanwhile. */
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return Promise.race([sleep(ms, signal), this.stall])
  }

  /** Watch the nodes written to, and the seed while COMMAND GETKEYS is awaited. */
  start(
    timeoutMs: number,
    target: SeededTarget,
    sender: Sender,
    keySlots: KeySlots,
    report: ReplayReport,
  ): void {
    const seedAddress = target.seed.address
    const pipeline = sender.pipeline
    this.watch = new StallWatch({
      timeoutMs,
      onStall: (silent) => {
        const last = sender.lastSent
        const after = last ? ` after command #${last.number} (${where(last)})` : ''
        this.stalled = new OperationError(
          `${stallMessage(silent, 'target')} (--stall-timeout): the replay stopped${after}`,
          {
            code: 'stalled',
            hint: `Commands sent to it since its last reply may or may not have been applied. Check the node (hung, paused, cut off); if it is only slow, raise --stall-timeout (0 waits forever). ${plural(report.commands, 'command')} were sent.`,
          },
        )
        pipeline.abort(this.stalled)
        this.reject(this.stalled)
        return this.stalled
      },
    })
    this.watch.addSource(() => {
      const silent: Watched[] = []
      const worst = pipeline.silentest()
      if (worst)
        silent.push({
          address: worst.address,
          target: { silentForMs: worst.ms, abort: (err) => pipeline.abort(err) },
        })
      if (keySlots.seedWaitingSince)
        silent.push({
          address: seedAddress,
          target: { silentForMs: Date.now() - keySlots.seedWaitingSince },
        })
      return silent
    })
  }

  stop(): void {
    this.watch?.stop()
  }
}
