import { render, type Instance } from 'ink'
import type { OperationEvent, ProgressEvent, Reporter } from '../ops/events.js'
import { redact } from '../redact.js'
import { ProgressView, type LagStatus } from './progress-view.js'
import { outputMode } from './output-mode.js'

/** The ink view of an operation's events, on stderr, at most ~10 frames a second. */
export function createTtyReporter(title?: string): Reporter {
  const tasks = new Map<string, ProgressEvent>()
  const warnings: string[] = []
  let phase: string | undefined
  let lag: LagStatus | undefined
  let instance: Instance | undefined
  let pending: NodeJS.Timeout | undefined
  const draw = () => {
    pending = undefined
    const view = (
      <ProgressView
        title={title}
        phase={phase}
        tasks={[...tasks.values()]}
        warnings={warnings}
        lag={lag}
        color={outputMode().color}
      />
    )
    if (instance) instance.rerender(view)
    else instance = render(view, { stdout: process.stderr, patchConsole: false, exitOnCtrlC: false })
  }
  return {
    onEvent(event: OperationEvent) {
      if (event.type === 'progress') tasks.set((event as ProgressEvent).task, event as ProgressEvent)
      else if (event.type === 'phase')
        phase = redact(`${event.phase}${event.detail ? `: ${event.detail}` : ''}`)
      else if (event.type === 'warning') warnings.push(redact(String(event.message)))
      else if (event.type === 'live')
        lag = {
          pending: Number(event.pending),
          oldestAgeMs: Number(event.oldestAgeMs),
          inSync: Boolean(lag?.inSync && Number(event.pending) === 0),
        }
      else if (event.type === 'in-sync') lag = { pending: 0, oldestAgeMs: 0, inSync: true }
      else return
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
