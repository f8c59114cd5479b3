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
  ioThreads?: {
    readsPerSec?: number
    writesPerSec?: number
    freedObjectsPerSec?: number
    pollsPerSec?: number
    prefetchBatchesPerSec?: number
    prefetchEntriesPerSec?: number
  }
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
  const restarted =
    (prev.server.runId !== undefined &&
      cur.server.runId !== undefined &&
      prev.server.runId !== cur.server.runId) ||
    (prev.server.uptimeSeconds !== undefined &&
      cur.server.uptimeSeconds !== undefined &&
      cur.server.uptimeSeconds < prev.server.uptimeSeconds)
  let reset = restarted
  const rate = (a: number | undefined, b: number | undefined): number | undefined => {
    if (restarted) return undefined
    const d = counterDelta(a, b)
    if (d.reset) reset = true
    return d.value === undefined || !(seconds > 0) ? undefined : d.value / seconds
  }
  const ownTotal = Object.values(ownCommands).reduce((s, v) => s + v, 0)

  const commands: CommandRate[] = []
  let callsSum = 0
  let usecSum = 0
  if (!restarted) {
    for (const [command, c] of Object.entries(cur.commandStats)) {
      const p = prev.commandStats[command]
      const calls = counterDelta(p?.calls ?? 0, c.calls)
      const usec = counterDelta(p?.usec ?? 0, c.usec)
      if (calls.reset || usec.reset) {
        reset = true
        continue
      }
      const own = ownCommands[command] ?? 0
      const netCalls = Math.max(0, (calls.value ?? 0) - own)
      if (netCalls <= 0) continue
      // kvtop's own calls of this command are removed with their share of its time.
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
    for (const command of Object.keys(prev.commandStats)) if (!(command in cur.commandStats)) reset = true
  }
  commands.sort((a, b) => b.opsPerSec - a.opsPerSec || a.command.localeCompare(b.command))

  let p99Us: number | undefined
  let p50Us: number | undefined
  for (const c of commands) {
    if (c.opsPerSec * seconds < callsSum * 0.01) continue
    if (c.p99Us !== undefined) p99Us = Math.max(p99Us ?? 0, c.p99Us)
    if (c.p50Us !== undefined) p50Us = Math.max(p50Us ?? 0, c.p50Us)
  }

  const processed = counterDelta(prev.stats.totalCommandsProcessed, cur.stats.totalCommandsProcessed)
  if (processed.reset) reset = true
  const opsPerSec =
    restarted || processed.value === undefined || !(seconds > 0)
      ? undefined
      : Math.max(0, processed.value - ownTotal) / seconds

  const hits = counterDelta(prev.stats.keyspaceHits, cur.stats.keyspaceHits)
  const misses = counterDelta(prev.stats.keyspaceMisses, cur.stats.keyspaceMisses)
  if (hits.reset || misses.reset) reset = true
  const lookups = (hits.value ?? 0) + (misses.value ?? 0)
  const hitRatio =
    !restarted && hits.value !== undefined && misses.value !== undefined && lookups > 0
      ? hits.value / lookups
      : undefined

  const cpuPrev = (prev.cpu.sys ?? NaN) + (prev.cpu.user ?? NaN)
  const cpuCur = (cur.cpu.sys ?? NaN) + (cur.cpu.user ?? NaN)
  const cpuRate = Number.isNaN(cpuPrev) || Number.isNaN(cpuCur) ? undefined : rate(cpuPrev, cpuCur)

  const allErrors =
    cur.stats.totalErrorReplies !== undefined
      ? rate(prev.stats.totalErrorReplies, cur.stats.totalErrorReplies)
      : rate(sum(prev.errorStats), sum(cur.errorStats))
  // kvtop's own refused commands (asked once, then never again) are not the clients' errors.
  const errors = allErrors === undefined ? undefined : Math.max(0, allErrors - ownErrors / seconds)
  const fullSyncs = restarted ? undefined : counterDelta(prev.stats.syncFull, cur.stats.syncFull).value
  const io = {
    readsPerSec: rate(prev.stats.ioThreadedReadsProcessed, cur.stats.ioThreadedReadsProcessed),
    writesPerSec: rate(prev.stats.ioThreadedWritesProcessed, cur.stats.ioThreadedWritesProcessed),
    freedObjectsPerSec: rate(prev.stats.ioThreadedFreedObjects, cur.stats.ioThreadedFreedObjects),
    pollsPerSec: rate(prev.stats.ioThreadedPollProcessed, cur.stats.ioThreadedPollProcessed),
    prefetchBatchesPerSec: rate(prev.stats.ioThreadedPrefetchBatches, cur.stats.ioThreadedPrefetchBatches),
    prefetchEntriesPerSec: rate(prev.stats.ioThreadedPrefetchEntries, cur.stats.ioThreadedPrefetchEntries),
  }
  const ioThreads = Object.fromEntries(Object.entries(io).filter(([, v]) => v !== undefined))

  return {
    opsPerSec,
    commands,
    latencyUs: callsSum > 0 ? usecSum / callsSum : undefined,
    ...(p99Us !== undefined ? { p99Us } : {}),
    ...(p50Us !== undefined ? { p50Us } : {}),
    hitRatio,
    netInputBytesPerSec: rate(prev.stats.netInputBytes, cur.stats.netInputBytes),
    netOutputBytesPerSec: rate(prev.stats.netOutputBytes, cur.stats.netOutputBytes),
    cpuPercent: cpuRate === undefined ? undefined : cpuRate * 100,
    evictionsPerSec: rate(prev.stats.evictedKeys, cur.stats.evictedKeys),
    expiredPerSec: rate(prev.stats.expiredKeys, cur.stats.expiredKeys),
    errorsPerSec: errors,
    connectionsPerSec: rate(prev.stats.totalConnectionsReceived, cur.stats.totalConnectionsReceived),
    ...(fullSyncs !== undefined ? { fullSyncs } : {}),
    ...(Object.keys(ioThreads).length ? { ioThreads } : {}),
    countersReset: reset,
  }
}

function sum(record: Record<string, number>): number {
  return Object.values(record).reduce((s, v) => s + v, 0)
}
