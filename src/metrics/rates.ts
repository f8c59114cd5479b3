import type { NodeInfo } from './node-info.js'

/**
 * Rates from two samples of cumulative counters. A counter that went down was reset (restart,
 * failover to a fresh process, CONFIG RESETSTAT): that interval has no rate, never a negative one.
 */
type Delta = { value: number; reset: false } | { value: undefined; reset: boolean }

export function counterDelta(prev: number | undefined, cur: number | undefined): Delta {
  if (prev === undefined || cur === undefined) return { value: undefined, reset: false }
  if (cur < prev) return { value: undefined, reset: true }
  return { value: cur - prev, reset: false }
}

export function counterRate(
  prev: number | undefined,
  cur: number | undefined,
  seconds: number,
): number | undefined {
  const d = counterDelta(prev, cur)
  if (d.value === undefined || !(seconds > 0)) return undefined
  return d.value / seconds
}

export interface CommandRate {
  /** Lowercase, `container|sub` for subcommands. */
  command: string
  opsPerSec: number
  /** Mean execution time of the calls in this interval. */
  usecPerCall?: number
  /** The server's cumulative latency percentiles for this command (Redis 7+), usec. */
  p50Us?: number
  p99Us?: number
  failedPerSec?: number
}

export interface IoThreadRates {
  readsPerSec?: number
  writesPerSec?: number
  freedObjectsPerSec?: number
  pollsPerSec?: number
  prefetchBatchesPerSec?: number
  prefetchEntriesPerSec?: number
}

export interface NodeRates {
  /** Commands per second, kvtop's own polling commands excluded. */
  opsPerSec?: number
  /** Every command that ran in the interval, busiest first. */
  commands: CommandRate[]
  /** Mean execution time per call over the interval (usec), kvtop's own commands excluded. */
  latencyUs?: number
  /** The highest cumulative p99 among the commands that served at least 1% of the interval's calls. */
  p99Us?: number
  p50Us?: number
  /** keyspace hits / (hits + misses) over the interval, 0..1; undefined when there were no lookups. */
  hitRatio?: number
  netInputBytesPerSec?: number
  netOutputBytesPerSec?: number
  /** Main process CPU (user + sys) as a percentage of one core. */
  cpuPercent?: number
  evictionsPerSec?: number
  expiredPerSec?: number
  errorsPerSec?: number
  connectionsPerSec?: number
  /** Full resyncs served in the interval (primary side). */
  fullSyncs?: number
  /** Work done on I/O threads per second (io_threaded_* counters; the Valkey 8 ones where present). */
  ioThreads?: IoThreadRates
  /** Some counter went backwards in this interval (restart or CONFIG RESETSTAT). */
  countersReset: boolean
}

interface RateInput {
  prev: NodeInfo
  cur: NodeInfo
  seconds: number
  /** Commands kvtop itself sent to this node between the two samples, by command name. */
  ownCommands?: Record<string, number>
  /** Error replies kvtop itself caused between the two samples (a command the server refused). */
  ownErrors?: number
}

/** Everything per second that two INFO samples of one node give. */
export function nodeRates({ prev, cur, seconds, ownCommands = {}, ownErrors = 0 }: RateInput): NodeRates {
  const w = new RateWindow(prev, cur, seconds)
  const { commands, callsSum, usecSum } = commandRates(w, ownCommands)
  const cpu = cpuRate(w)
  const fullSyncs = w.restarted ? undefined : counterDelta(prev.stats.syncFull, cur.stats.syncFull).value
  const ioThreads = ioThreadRates(w)
  return {
    opsPerSec: opsPerSec(w, ownCommands),
    commands,
    latencyUs: callsSum > 0 ? usecSum / callsSum : undefined,
    ...servedPercentiles(commands, callsSum, seconds),
    hitRatio: hitRatio(w),
    netInputBytesPerSec: w.rate(prev.stats.netInputBytes, cur.stats.netInputBytes),
    netOutputBytesPerSec: w.rate(prev.stats.netOutputBytes, cur.stats.netOutputBytes),
    cpuPercent: cpu === undefined ? undefined : cpu * 100,
    evictionsPerSec: w.rate(prev.stats.evictedKeys, cur.stats.evictedKeys),
    expiredPerSec: w.rate(prev.stats.expiredKeys, cur.stats.expiredKeys),
    errorsPerSec: errorsPerSec(w, ownErrors),
    connectionsPerSec: w.rate(prev.stats.totalConnectionsReceived, cur.stats.totalConnectionsReceived),
    ...(fullSyncs !== undefined ? { fullSyncs } : {}),
    ...(ioThreads ? { ioThreads } : {}),
    countersReset: w.reset,
  }
}

/**
 * Two samples of one node and the seconds between them. A restart (another run id, or uptime
 * that went down) gives the interval no rates at all; a counter that went down marks it reset.
 */
class RateWindow {
  readonly restarted: boolean
  reset: boolean

  constructor(
    readonly prev: NodeInfo,
    readonly cur: NodeInfo,
    readonly seconds: number,
  ) {
    const [a, b] = [prev.server, cur.server]
    this.restarted =
      (a.runId !== undefined && b.runId !== undefined && a.runId !== b.runId) ||
      (a.uptimeSeconds !== undefined && b.uptimeSeconds !== undefined && b.uptimeSeconds < a.uptimeSeconds)
    this.reset = this.restarted
  }

  /** A counter's increase; one that went down marks the interval reset. */
  delta(prev: number | undefined, cur: number | undefined): Delta {
    const d = counterDelta(prev, cur)
    if (d.reset) this.reset = true
    return d
  }

  rate(prev: number | undefined, cur: number | undefined): number | undefined {
    if (this.restarted) return undefined
    const d = this.delta(prev, cur)
    return d.value === undefined || !(this.seconds > 0) ? undefined : d.value / this.seconds
  }
}

/**
 * Every command that ran in the window, busiest first, kvtop's own calls removed with their
 * share of the command's time; and the calls and time they sum to.
 */
function commandRates(
  w: RateWindow,
  ownCommands: Record<string, number>,
): { commands: CommandRate[]; callsSum: number; usecSum: number } {
  const commands: CommandRate[] = []
  let callsSum = 0
  let usecSum = 0
  if (!w.restarted) {
    const { prev, cur, seconds } = w
    for (const [command, c] of Object.entries(cur.commandStats)) {
      const p = prev.commandStats[command]
      const calls = w.delta(p?.calls ?? 0, c.calls)
      const usec = w.delta(p?.usec ?? 0, c.usec)
      if (calls.reset || usec.reset) continue
      const netCalls = Math.max(0, (calls.value ?? 0) - (ownCommands[command] ?? 0))
      if (netCalls <= 0) continue
      const netUsec = (usec.value ?? 0) * (netCalls / (calls.value ?? netCalls))
      callsSum += netCalls
      usecSum += netUsec
      const failed = counterDelta(p?.failedCalls ?? 0, c.failedCalls)
      const pct = cur.latencyStats[command]
      commands.push({
        command,
        opsPerSec: netCalls / seconds,
        usecPerCall: netUsec / netCalls,
        ...(pct?.p50 !== undefined ? { p50Us: pct.p50 } : {}),
        ...(pct?.p99 !== undefined ? { p99Us: pct.p99 } : {}),
        ...(failed.value ? { failedPerSec: failed.value / seconds } : {}),
      })
    }
    // A command absent now but present before: its stats were reset.
    for (const command of Object.keys(prev.commandStats)) if (!(command in cur.commandStats)) w.reset = true
  }
  commands.sort((a, b) => b.opsPerSec - a.opsPerSec || a.command.localeCompare(b.command))
  return { commands, callsSum, usecSum }
}

/** The highest p99 and p50 among the commands that served at least 1% of the window's calls. */
function servedPercentiles(
  commands: CommandRate[],
  callsSum: number,
  seconds: number,
): { p99Us?: number; p50Us?: number } {
  let p99Us: number | undefined
  let p50Us: number | undefined
  for (const c of commands) {
    if (c.opsPerSec * seconds < callsSum * 0.01) continue
    if (c.p99Us !== undefined) p99Us = Math.max(p99Us ?? 0, c.p99Us)
    if (c.p50Us !== undefined) p50Us = Math.max(p50Us ?? 0, c.p50Us)
  }
  return { ...(p99Us !== undefined ? { p99Us } : {}), ...(p50Us !== undefined ? { p50Us } : {}) }
}

function opsPerSec(w: RateWindow, ownCommands: Record<string, number>): number | undefined {
  const processed = w.delta(w.prev.stats.totalCommandsProcessed, w.cur.stats.totalCommandsProcessed)
  if (w.restarted || processed.value === undefined || !(w.seconds > 0)) return undefined
  return Math.max(0, processed.value - sum(ownCommands)) / w.seconds
}

function hitRatio(w: RateWindow): number | undefined {
  const hits = w.delta(w.prev.stats.keyspaceHits, w.cur.stats.keyspaceHits)
  const misses = w.delta(w.prev.stats.keyspaceMisses, w.cur.stats.keyspaceMisses)
  const lookups = (hits.value ?? 0) + (misses.value ?? 0)
  return !w.restarted && hits.value !== undefined && misses.value !== undefined && lookups > 0
    ? hits.value / lookups
    : undefined
}

/** CPU seconds (user + sys) per second of the main process. */
function cpuRate(w: RateWindow): number | undefined {
  const before = (w.prev.cpu.sys ?? NaN) + (w.prev.cpu.user ?? NaN)
  const now = (w.cur.cpu.sys ?? NaN) + (w.cur.cpu.user ?? NaN)
  return Number.isNaN(before) || Number.isNaN(now) ? undefined : w.rate(before, now)
}

/** Error replies per second; kvtop's own refused commands (asked once, then never again) are not the clients'. */
function errorsPerSec(w: RateWindow, ownErrors: number): number | undefined {
  const { prev, cur } = w
  const all =
    cur.stats.totalErrorReplies !== undefined
      ? w.rate(prev.stats.totalErrorReplies, cur.stats.totalErrorReplies)
      : w.rate(sum(prev.errorStats), sum(cur.errorStats))
  return all === undefined ? undefined : Math.max(0, all - ownErrors / w.seconds)
}

/** io_threaded_* counters per second, only those the server reports; undefined when none. */
function ioThreadRates(w: RateWindow): IoThreadRates | undefined {
  const [a, b] = [w.prev.stats, w.cur.stats]
  const io = {
    readsPerSec: w.rate(a.ioThreadedReadsProcessed, b.ioThreadedReadsProcessed),
    writesPerSec: w.rate(a.ioThreadedWritesProcessed, b.ioThreadedWritesProcessed),
    freedObjectsPerSec: w.rate(a.ioThreadedFreedObjects, b.ioThreadedFreedObjects),
    pollsPerSec: w.rate(a.ioThreadedPollProcessed, b.ioThreadedPollProcessed),
    prefetchBatchesPerSec: w.rate(a.ioThreadedPrefetchBatches, b.ioThreadedPrefetchBatches),
    prefetchEntriesPerSec: w.rate(a.ioThreadedPrefetchEntries, b.ioThreadedPrefetchEntries),
  }
  const reported = Object.fromEntries(Object.entries(io).filter(([, v]) => v !== undefined))
  return Object.keys(reported).length ? reported : undefined
}

function sum(record: Record<string, number>): number {
  return Object.values(record).reduce((s, v) => s + v, 0)
}
