import { ExitCode } from './errors.js'

const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const

/** What an interruptible operation is handed: its stop requests as abort signals. */
export interface Interrupts {
  /** Aborted at the first Ctrl-C or SIGTERM: finish cleanly (write the checkpoint, keep no half file). */
  signal: AbortSignal
  /** Aborted at the second one when `second` is 'abort': stop at once (scale leaves slots open). */
  hardStop: AbortSignal
}

interface InterruptOptions {
  /** Called at the first signal, after `signal` is aborted (e.g. to say what happens now). */
  onFirst?: () => void
  /**
   * The second signal: 'exit' (the default) ends the process at once with exit 5, after `onForcedExit`;
   * 'abort' aborts `hardStop` instead, for an operation that has its own way to stop at once.
   */
  second?: 'exit' | 'abort'
  /** Says why the process ends now (written before the forced exit). */
  onForcedExit?: () => void
  /** Ends the process; process.exit unless a test watches it. */
  exit?: (code: number) => void
}

/**
 * Run `work` with Ctrl-C and SIGTERM turned into abort signals instead of the process ending
 * mid-write; the handlers are removed when `work` settles, whichever way.
 */
export async function whileInterruptible<T>(
  work: (interrupts: Interrupts) => Promise<T>,
  options: InterruptOptions = {},
): Promise<T> {
  const graceful = new AbortController()
  const hard = new AbortController()
  const onSignal = () => {
    if (!graceful.signal.aborted) {
      graceful.abort()
      options.onFirst?.()
    } else if (options.second === 'abort') {
      hard.abort()
    } else {
      options.onForcedExit?.()
      ;(options.exit ?? ((code: number) => process.exit(code)))(ExitCode.failed)
    }
  }
  for (const name of STOP_SIGNALS) process.on(name, onSignal)
  try {
    return await work({ signal: graceful.signal, hardStop: hard.signal })
  } finally {
    for (const name of STOP_SIGNALS) process.off(name, onSignal)
  }
}
