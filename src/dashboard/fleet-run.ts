import { retryWithBackoff, type BackoffSchedule } from '../backoff.js'
import { DEFAULT_THRESHOLDS } from '../metrics/alerts.js'
import type { Snapshot } from '../metrics/types.js'
import { Dashboard } from './dashboard.js'
import { FleetView } from './fleet-view.js'
import type { FleetEntry } from './fleet-view-model.js'
import type { TopFeed, TopOptions } from './run.js'

/** One deployment of the fleet: its running feed, or why it could not be opened. */
export interface FleetMember {
  name: string
  feed?: TopFeed
  error?: string
  /** Try again to open a deployment that could not be opened: it joins the fleet when it answers. */
  reopen?: () => Promise<TopFeed>
}

/** Retry delays for a deployment that could not be opened: 2 s doubling to 30 s. */
const REOPEN_RETRY: BackoffSchedule = { firstMs: 2000, maxMs: 30_000 }

interface Key {
  name?: string
  ctrl?: boolean
}

/**
 * The fleet view until the user quits: every deployment's feed runs all along; Enter opens the
 * selected one's own dashboard, whose q comes back to the fleet (Ctrl-C quits from anywhere).
 */
export async function runFleet(
  members: readonly FleetMember[],
  options: Omit<TopOptions, 'onRound'> = {},
  signal?: AbortSignal,
): Promise<void> {
  const latest = new Map<string, Snapshot>()
  const errors = new Map(members.flatMap((m) => (m.error ? [[m.name, m.error] as const] : [])))
  const entries = (): FleetEntry[] =>
    members.map((m) => ({
      name: m.name,
      ...(latest.has(m.name) ? { snapshot: latest.get(m.name) } : {}),
      ...(errors.has(m.name) ? { error: errors.get(m.name) } : {}),
    }))
  const screens = {
    input: options.input,
    output: options.output,
    terminal: options.terminal,
    color: options.color,
  }
  let quit!: () => void
  const done = new Promise<void>((resolve) => (quit = resolve))
  let fleet: FleetView | undefined
  let drilled: { member: FleetMember; dashboard: Dashboard } | undefined
  let quitting = false

  const showFleet = (selected?: string) => {
    fleet = new FleetView({ ...screens, onOpen: open, onQuit: () => quit() })
    if (selected) fleet.select(selected)
    fleet.update(entries())
  }
  const back = () => {
    if (!drilled || quitting) return quit()
    const name = drilled.member.name
    drilled.dashboard.destroy()
    drilled = undefined
    showFleet(name)
  }
  function open(name: string): void {
    const member = members.find((m) => m.name === name)
    if (!member?.feed) return
    fleet?.destroy()
    fleet = undefined
    const dashboard = new Dashboard({
      ...screens,
      thresholds: { ...DEFAULT_THRESHOLDS, ...options.thresholds },
      onQuit: back,
    })
    // Ctrl-C leaves kvtop from the cluster's dashboard too; its own handler (q) goes back to the fleet.
    dashboard.screen.program.prependListener('keypress', (_ch: string | undefined, key: Key | undefined) => {
      if (key?.ctrl && key.name === 'c') quitting = true
    })
    drilled = { member, dashboard }
    const snap = latest.get(name)
    if (snap) dashboard.update(snap, member.feed.history, member.feed.slowlog.list(200))
  }

  signal?.addEventListener('abort', () => quit(), { once: true })
  const onSignal = () => quit()
  for (const sig of ['SIGTERM', 'SIGHUP'] as const) process.once(sig, onSignal)
  const closing = new AbortController()
  const start = (m: FleetMember, feed: TopFeed) =>
    feed.start(
      (snap) => {
        latest.set(m.name, snap)
        errors.delete(m.name)
        if (drilled?.member === m) drilled.dashboard.update(snap, feed.history, feed.slowlog.list(200))
        else fleet?.update(entries())
      },
      (err) => {
        // One deployment failing is shown on its line; the others carry on.
        errors.set(m.name, (err as Error).message)
        fleet?.update(entries())
      },
    )
  const reopenLater = (m: FleetMember) =>
    void retryWithBackoff(m.reopen!, {
      ...REOPEN_RETRY,
      waitFirst: true,
      signal: closing.signal,
      onFailure: (err) => {
        errors.set(m.name, (err as Error).message)
        fleet?.update(entries())
      },
    }).then(async (feed) => {
      if (!feed) return
      if (quitting || signal?.aborted || closing.signal.aborted) return feed.stop()
      m.feed = feed
      start(m, feed)
    })
  try {
    showFleet()
    for (const m of members) {
      if (m.feed) start(m, m.feed)
      else if (m.reopen) reopenLater(m)
    }
    await done
  } finally {
    closing.abort()
    for (const sig of ['SIGTERM', 'SIGHUP'] as const) process.off(sig, onSignal)
    drilled?.dashboard.destroy()
    fleet?.destroy()
    await Promise.all(members.map((m) => m.feed?.stop()))
  }
}
