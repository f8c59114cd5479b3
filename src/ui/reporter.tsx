import { render, type Instance } from 'ink'
import type { OperationEvent, ProgressEvent } from '../ops/progress.js'
import { redact, redactDeep } from '../redact.js'
import { ProgressView } from './progress-view.js'

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
 * document (DESIGN.md: one JSON document on stdout, progress and diagnostics on stderr).
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
  const tasks = new Map<string, ProgressEvent>()
  const warnings: string[] = []
  let phase: string | undefined
  let instance: Instance | undefined
  let pending: NodeJS.Timeout | undefined
  const draw = () => {
    pending = undefined
    const view = <ProgressView title={title} phase={phase} tasks={[...tasks.values()]} warnings={warnings} />
    if (instance) instance.rerender(view)
    else instance = render(view, { stdout: process.stderr, patchConsole: false, exitOnCtrlC: false })
  }
  return {
    onEvent(event) {
      if (event.type === 'progress') tasks.set((event as ProgressEvent).task, event as ProgressEvent)
      else if (event.type === 'phase')
        phase = redact(`${event.phase}${event.detail ? `: ${event.detail}` : ''}`)
      else if (event.type === 'warning') warnings.push(redact(String(event.message)))
      else return
      // At most ~10 frames a second, whatever the event rate.
      pending ??= setTimeout(draw, 100)
    },
    finish() {
      if (pending) {
        clearTimeout(pending)
        draw()
      }
      instance?.unmount()
    },
  }
}
