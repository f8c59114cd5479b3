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
  await new FleetRun(members, options, signal).run()
}

/** One `top` over a fleet: the last snapshot and error of each member, and which screen is up. */
class FleetRun {
  private readonly latest = new Map<string, Snapshot>()
  private readonly errors: Map<string, string>
  private readonly screens: Pick<TopOptions, 'input' | 'output' | 'terminal' | 'color'>
  private fleet: FleetView | undefined
  private drilled: { member: FleetMember; dashboard: Dashboard } | undefined
  /** Ctrl-C in a member's dashboard: its q handler then leaves kvtop instead of going back. */
  private quitting = false
  /** Stops the reopening of members that could not be opened. */
  private readonly closing = new AbortController()
  private quit!: () => void
  private readonly done = new Promise<void>((resolve) => (this.quit = resolve))

  constructor(
    private readonly members: readonly FleetMember[],
    private readonly options: Omit<TopOptions, 'onRound'>,
    private readonly signal?: AbortSignal,
  ) {
    this.errors = new Map(members.flatMap((m) => (m.error ? [[m.name, m.error] as const] : [])))
    const { input, output, terminal, color } = options
    this.screens = { input, output, terminal, color }
  }

  async run(): Promise<void> {
    this.signal?.addEventListener('abort', () => this.quit(), { once: true })
    const onSignal = () => this.quit()
    for (const sig of ['SIGTERM', 'SIGHUP'] as const) process.once(sig, onSignal)
    try {
      this.showFleet()
      for (const m of this.members) {
        if (m.feed) this.start(m, m.feed)
        else if (m.reopen) this.reopenLater(m)
      }
      await this.done
    } finally {
      this.closing.abort()
      for (const sig of ['SIGTERM', 'SIGHUP'] as const) process.off(sig, onSignal)
      this.drilled?.dashboard.destroy()
      this.fleet?.destroy()
      await Promise.all(this.members.map((m) => m.feed?.stop()))
    }
  }

  private entries(): FleetEntry[] {
    return this.members.map((m) => ({
      name: m.name,
      ...(this.latest.has(m.name) ? { snapshot: this.latest.get(m.name) } : {}),
      ...(this.errors.has(m.name) ? { error: this.errors.get(m.name) } : {}),
    }))
  }

  private showFleet(selected?: string): void {
    this.fleet = new FleetView({
      ...this.screens,
      onOpen: (name) => this.open(name),
      onQuit: () => this.quit(),
    })
    if (selected) this.fleet.select(selected)
    this.fleet.update(this.entries())
  }

  /** q in a member's dashboard: back to the fleet, with that member selected (Ctrl-C: quit). */
  private back(): void {
    if (!this.drilled || this.quitting) return this.quit()
    const name = this.drilled.member.name
    this.drilled.dashboard.destroy()
    this.drilled = undefined
    this.showFleet(name)
  }

  /** Enter on a member: its own dashboard, from its last snapshot on. */
  private open(name: string): void {
    const member = this.members.find((m) => m.name === name)
    if (!member?.feed) return
    this.fleet?.destroy()
    this.fleet = undefined
    const dashboard = new Dashboard({
      ...this.screens,
      thresholds: { ...DEFAULT_THRESHOLDS, ...this.options.thresholds },
      onQuit: () => this.back(),
    })
    // Ctrl-C leaves kvtop from the cluster's dashboard too; its own handler (q) goes back to the fleet.
    dashboard.screen.program.prependListener('keypress', (_ch: string | undefined, key: Key | undefined) => {
      if (key?.ctrl && key.name === 'c') this.quitting = true
    })
    this.drilled = { member, dashboard }
    const snap = this.latest.get(name)
    if (snap) dashboard.update(snap, member.feed.history, member.feed.slowlog.list(200))
  }

  /** A member's rounds go to its line in the fleet, or to its dashboard while that is open. */
  private start(m: FleetMember, feed: TopFeed): void {
    feed.start(
      (snap) => {
        this.latest.set(m.name, snap)
        this.errors.delete(m.name)
        if (this.drilled?.member === m)
          this.drilled.dashboard.update(snap, feed.history, feed.slowlog.list(200))
        else this.fleet?.update(this.entries())
      },
      (err) => {
        // One deployment failing is shown on its line; the others carry on.
        this.errors.set(m.name, (err as Error).message)
        this.fleet?.update(this.entries())
      },
    )
  }

  /** A member that could not be opened is tried again with back-off, and joins when it answers. */
  private reopenLater(m: FleetMember): void {
    void retryWithBackoff(m.reopen!, {
      ...REOPEN_RETRY,
      waitFirst: true,
      signal: this.closing.signal,
      onFailure: (err) => {
        this.errors.set(m.name, (err as Error).message)
        this.fleet?.update(this.entries())
      },
    }).then(async (feed) => {
      if (!feed) return
      if (this.quitting || this.signal?.aborted || this.closing.signal.aborted) return feed.stop()
      m.feed = feed
      this.start(m, feed)
    })
  }
}
