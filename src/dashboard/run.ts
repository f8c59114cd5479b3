import { DEFAULT_THRESHOLDS, type AlertThresholds } from '../metrics/alerts.js'
import type { SeriesStore } from '../metrics/history.js'
import type { SlowlogEntry } from '../metrics/slowlog.js'
import type { Snapshot } from '../metrics/types.js'
import { Dashboard } from './dashboard.js'

/**
 * What the dashboard draws from: the monitor engine (live figures), or the CloudWatch-only monitor
 * when the nodes cannot be reached from here.
 */
export interface TopFeed {
  readonly history: SeriesStore
  readonly slowlog: { list(limit?: number): SlowlogEntry[] }
  start(listener: (snapshot: Snapshot) => void, onError?: (err: unknown) => void): void
  stop(): Promise<void>
}

export interface TopOptions {
  thresholds?: Partial<AlertThresholds>
  input?: NodeJS.ReadableStream
  output?: NodeJS.WritableStream
  terminal?: string
  /** False under NO_COLOR / --no-color. */
  color?: boolean
  /** Every round, paused or not (top --record). */
  onRound?: (snapshot: Snapshot) => void
}

export interface TopSummary {
  rounds: number
  renderMs: { p50?: number; p99?: number }
}

/** Run the dashboard on `engine` until the user quits (q / Ctrl-C) or `signal` aborts. */
export async function runTop(
  engine: TopFeed,
  options: TopOptions = {},
  signal?: AbortSignal,
): Promise<TopSummary> {
  let rounds = 0
  let quit!: () => void
  const done = new Promise<void>((resolve) => (quit = resolve))
  const dashboard = new Dashboard({
    input: options.input,
    output: options.output,
    terminal: options.terminal,
    color: options.color,
    thresholds: { ...DEFAULT_THRESHOLDS, ...options.thresholds },
    onQuit: () => quit(),
  })
  signal?.addEventListener('abort', () => quit(), { once: true })
  // The terminal is put back however the dashboard ends.
  const onSignal = () => quit()
  for (const sig of ['SIGTERM', 'SIGHUP'] as const) process.once(sig, onSignal)
  let failure: unknown
  try {
    engine.start(
      (snap) => {
        rounds++
        options.onRound?.(snap)
        dashboard.update(snap, engine.history, engine.slowlog.list(200))
      },
      (err) => {
        failure = err
        quit()
      },
    )
    await done
  } finally {
    for (const sig of ['SIGTERM', 'SIGHUP'] as const) process.off(sig, onSignal)
    dashboard.destroy()
    await engine.stop()
  }
  if (failure) throw failure
  const times = dashboard.renderTimes.toArray().sort((a, b) => a - b)
  const pick = (p: number) =>
    times.length ? times[Math.min(times.length - 1, Math.ceil((p / 100) * times.length) - 1)] : undefined
  return { rounds, renderMs: { p50: pick(50), p99: pick(99) } }
}
