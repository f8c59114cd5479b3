import type { OperationEvent, Reporter } from '../ops/events.js'
import { redact, redactDeep } from '../redact.js'
import { createHeartbeatReporter, heartbeatIntervalMs } from './heartbeat-reporter.js'
import { outputMode } from './output-mode.js'

type ReporterMode = 'tty' | 'json' | 'log' | 'quiet'

/**
 * --json: NDJSON events; --quiet: warnings only; a terminal that can redraw: the ink view; anything
 * else (a pipe, a log file, TERM=dumb): heartbeat lines.
 */
export function reporterMode(json: boolean, stream: NodeJS.WriteStream = process.stderr): ReporterMode {
  if (json) return 'json'
  const mode = outputMode()
  if (mode.quiet) return 'quiet'
  return stream.isTTY && !mode.dumb ? 'tty' : 'log'
}

/**
 * Shows an operation's events: an ink view on a TTY, NDJSON lines `{type, at, ...}` with --json,
 * a heartbeat line every few seconds when piped, nothing but warnings with --quiet. All of it on stderr: stdout carries the command's one result
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
  if (mode === 'log') return createHeartbeatReporter(title, { intervalMs: heartbeatIntervalMs() })
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
