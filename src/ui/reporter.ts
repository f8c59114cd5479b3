import type { OperationEvent } from '../ops/progress.js'
import { redact, redactDeep } from '../redact.js'

export type ReporterMode = 'tty' | 'json' | 'quiet'

export interface Reporter {
  onEvent(event: OperationEvent): void
  /** Stop rendering; the last frame stays on screen. */
  finish(): void
}

export function reporterMode(json: boolean, stream: NodeJS.WriteStream = process.stderr): ReporterMode {
  if (json) return 'json'
  return stream.isTTY ? 'tty' : 'quiet'
}

/**
 * Shows an operation's events: an ink view on a TTY, NDJSON lines `{type, at, ...}` with --json,
 * nothing but warnings when piped. All of it on stderr: stdout carries the command's one result
 * document (README: one JSON document on stdout, progress and diagnostics on stderr).
 *
 * ink and React are loaded only for the TTY view, and only when the first event comes: they cost
 * more start-up time than the rest of the CLI, and scripts never need them.
 */
export function createReporter(mode: ReporterMode, title?: string): Reporter {
  if (mode === 'json') {
    return {
      onEvent: (event) =>
        process.stderr.write(JSON.stringify(redactDeep({ ...event, at: Date.now() })) + '\n'),
      finish: () => {},
    }
  }
  if (mode === 'quiet') {
    return {
      onEvent: (event) => {
        if (event.type === 'warning') process.stderr.write(`Warning: ${redact(String(event.message))}\n`)
      },
      finish: () => {},
    }
  }
  let view: Reporter | undefined
  let loading: Promise<void> | undefined
  let finished = false
  const queued: OperationEvent[] = []
  return {
    onEvent(event) {
      if (view) return view.onEvent(event)
      queued.push(event)
      loading ??= import('./tty-reporter.js').then(({ createTtyReporter }) => {
        if (finished) return
        view = createTtyReporter(title)
        for (const e of queued.splice(0)) view.onEvent(e)
      })
    },
    finish() {
      finished = true
      view?.finish()
    },
  }
}
