/**
 * Stall detection for long operations (migrate, restore, replay, verify, snapshot create, scale):
 * a node that owes replies and sends nothing for `--stall-timeout` stops the operation, with an
 * error naming the node, instead of holding it forever. Batches of commands may legitimately take
 * long (a big pipeline, a MIGRATE of a big key), so they carry no timeout of their own; what is
 * watched is silence while replies are owed (`silentForMs`), which a working node never shows for
 * long however slow the batch.
 */
import { OperationError } from '../errors.js'

/** The default of --stall-timeout. */
export const DEFAULT_STALL_TIMEOUT_MS = 60_000

/** Anything that may owe a node replies: a connection, a scan reader, a SYNC stream. */
export interface Silent {
  /** How long it has owed replies without receiving a byte; 0 when it owes nothing. */
  readonly silentForMs: number
  /** Fail whatever waits on it with `err`, and close it. */
  abort?(err: Error): void
}

export interface Watched {
  /** The node's address (host:port), named in the error. */
  address: string
  target: Silent
}

interface Stall {
  address: string
  silentForMs: number
}

interface StallWatchOptions {
  /** Silence that counts as a stall; 0 (or less): never. */
  timeoutMs: number
  /**
   * Called once, at the first stall; returns the error every watched target is aborted with
   * (default: stallError(stall)). Stop the rest of the operation here.
   */
  onStall?: (stall: Stall) => Error | void
  /** How often to look (default: a quarter of the timeout, between 50 ms and 1 s). */
  intervalMs?: number
}

/**
 * Watches targets (added one by one, or listed by sources asked at every check) and, at the first
 * one silent for the timeout, calls `onStall` once and aborts every target with its error. The
 * timer does not keep the process alive; `stop()` it when the operation ends.
 */
export class StallWatch {
  private readonly targets = new Set<Watched>()
  private readonly sources = new Set<() => Iterable<Watched>>()
  private readonly timer: NodeJS.Timeout | undefined
  private found: { stall: Stall; error: Error } | undefined

  constructor(private readonly o: StallWatchOptions) {
    if (o.timeoutMs > 0) {
      const interval = o.intervalMs ?? Math.min(1000, Math.max(50, Math.floor(o.timeoutMs / 4)))
      this.timer = setInterval(() => this.check(), interval)
      this.timer.unref()
    }
  }

  get enabled(): boolean {
    return this.o.timeoutMs > 0
  }

  /** Watch one target until the returned function is called. */
  add(address: string, target: Silent): () => void {
    const entry = { address, target }
    this.targets.add(entry)
    return () => this.targets.delete(entry)
  }

  /** Watch whatever `list` returns at each check (connections that come and go), until the returned function is called. */
  addSource(list: () => Iterable<Watched>): () => void {
    this.sources.add(list)
    return () => this.sources.delete(list)
  }

  /** The stall found, if any. */
  get stalled(): Stall | undefined {
    return this.found?.stall
  }

  /** The error the targets were aborted with, once a stall was found: throw it rather than what it caused. */
  get error(): Error | undefined {
    return this.found?.error
  }

  /** Look now (the timer does this); returns the stall when one is found now or was before. */
  check(): Stall | undefined {
    if (this.found || this.o.timeoutMs <= 0) return this.found?.stall
    let worst: Stall | undefined
    for (const w of this.all()) {
      const ms = w.target.silentForMs
      if (ms >= this.o.timeoutMs && ms > (worst?.silentForMs ?? 0))
        worst = { address: w.address, silentForMs: ms }
    }
    if (!worst) return undefined
    const error = this.o.onStall?.(worst) ?? stallError(worst)
    this.found = { stall: worst, error }
    this.stop()
    for (const w of this.all()) {
      try {
        w.target.abort?.(error)
      } catch {
        // already closed
      }
    }
    return worst
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
  }

  private *all(): Iterable<Watched> {
    yield* this.targets
    for (const list of this.sources) yield* list()
  }
}

/** `the node 10.0.0.5:6379 has not answered for 60 s` (`the source node ...` with a role). */
export function stallMessage(stall: Stall, role?: string): string {
  const ms = stall.silentForMs
  const seconds = ms >= 1000 ? String(Math.round(ms / 1000)) : (ms / 1000).toFixed(1)
  return `the ${role ? `${role} ` : ''}node ${stall.address} has not answered for ${seconds} s`
}

/** The error of a stall: exit 5, naming the node. */
export function stallError(
  stall: Stall,
  options: { what?: string; role?: string; resumable?: boolean; hint?: string } = {},
): OperationError {
  return new OperationError(
    `${options.what ? `${options.what} stopped: ` : ''}${stallMessage(stall, options.role)}`,
    {
      code: 'stalled',
      resumable: options.resumable,
      hint:
        options.hint ??
        'The node is hung, overloaded or cut off: check it, then run the command again. If it is only slow, raise --stall-timeout (0 waits forever).',
    },
  )
}
