import type { CommandLogGroup } from '../../metrics/log-groups.js'
import type { LargeCommandSummary, TriageInput, TriageReport } from './types.js'

function largeCommandSummary(g: CommandLogGroup): LargeCommandSummary {
  return {
    pattern: g.pattern,
    count: g.count,
    maxBytes: g.maxBytes,
    nodes: g.nodes,
    example: g.largest.args.join(' '),
  }
}

/** The workload and client sections of the report. */
export function summarize(input: TriageInput): Pick<TriageReport, 'workload' | 'clients'> {
  const { calls, time } = commandTotals(input)
  return {
    workload: {
      opsPerSec: input.snapshot.cluster.opsPerSec,
      topByCalls: top(calls).map(([command, opsPerSec]) => ({
        command,
        opsPerSec: Math.round(opsPerSec * 10) / 10,
      })),
      topByTime: [...time]
        .sort((a, b) => b[1].usec - a[1].usec)
        .slice(0, 10)
        .map(([command, t]) => ({
          command,
          usecPerSec: Math.round(t.usec),
          ...(t.perCall ? { usecPerCall: Math.round(t.perCall * 10) / 10 } : {}),
          ...(t.p99 !== undefined ? { p99Us: t.p99 } : {}),
        })),
      slowlog: input.slowlogGroups.slice(0, 10).map((g) => ({
        pattern: g.pattern,
        count: g.count,
        maxUs: g.maxUs,
        nodes: g.nodes,
        example: g.slowest.args.join(' '),
      })),
      ...(input.commandLogGroups
        ? {
            commandLog: {
              largeRequests: input.commandLogGroups.largeRequests.slice(0, 10).map(largeCommandSummary),
              largeReplies: input.commandLogGroups.largeReplies.slice(0, 10).map(largeCommandSummary),
            },
          }
        : {}),
    },
    clients: clientSummary(input),
  }
}

/** The ten largest counts, largest first. */
const top = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).slice(0, 10)

/** Per command over every node: calls per second, and time per second, per call and p99 at worst. */
function commandTotals(input: TriageInput): {
  calls: Map<string, number>
  time: Map<string, { usec: number; perCall?: number; p99?: number }>
} {
  const calls = new Map<string, number>()
  const time = new Map<string, { usec: number; perCall?: number; p99?: number }>()
  for (const n of input.snapshot.nodes) {
    for (const c of n.topCommands) {
      calls.set(c.command, (calls.get(c.command) ?? 0) + c.opsPerSec)
      const t = time.get(c.command) ?? { usec: 0 }
      t.usec += c.opsPerSec * (c.usecPerCall ?? 0)
      t.perCall = Math.max(t.perCall ?? 0, c.usecPerCall ?? 0)
      if (c.p99Us !== undefined) t.p99 = Math.max(t.p99 ?? 0, c.p99Us)
      time.set(c.command, t)
    }
  }
  return { calls, time }
}

/** Connections by client host (the port left out) and by client name, the ten most of each. */
function clientSummary(input: TriageInput): TriageReport['clients'] {
  const addresses = new Map<string, number>()
  const names = new Map<string, number>()
  for (const e of input.extras) {
    for (const c of e.clients ?? []) {
      const host = c.addr.replace(/:\d+$/, '')
      addresses.set(host, (addresses.get(host) ?? 0) + 1)
      if (c.name) names.set(c.name, (names.get(c.name) ?? 0) + 1)
    }
  }
  return {
    topAddresses: top(addresses).map(([host, connections]) => ({ host, connections })),
    topNames: top(names).map(([name, connections]) => ({ name, connections })),
  }
}
