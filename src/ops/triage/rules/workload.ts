import { formatBytes } from '../../../format/units.js'
import type { CommandLogGroup } from '../../../metrics/log-groups.js'
import { THRESHOLDS } from '../../../metrics/thresholds.js'
import type { Finding } from '../types.js'
import { when, type TriageRule } from './rule.js'
import { caller, ms, seenOn } from './text.js'

export const errorReplies: TriageRule = {
  name: 'error-replies',
  scope: 'node',
  check: (n) =>
    when((n.errorsPerSec ?? 0) > 0, () => ({
      severity: 'warning',
      category: 'workload',
      node: n.address,
      summary: `${n.address} answers ${n.errorsPerSec!.toFixed(1)} errors/s`,
      why: 'Clients get error replies: bugs, WRONGTYPE, OOM or ACL denials.',
      action: 'INFO errorstats on the node names the error kinds; match them to the application.',
    })),
}

export const slowCommandP99: TriageRule = {
  name: 'slow-command-p99',
  scope: 'node',
  check: (n) =>
    n.topCommands
      .filter((c) => (c.p99Us ?? 0) >= THRESHOLDS.commandP99Us && c.opsPerSec > 0)
      .map((c) => ({
        severity: 'warning',
        category: 'workload',
        node: n.address,
        summary: `${c.command} p99 ${ms(c.p99Us!)} on ${n.address}`,
        why: 'Slow commands block the node for everyone else.',
        action: 'Check the arguments of these calls in the slowlog; prefer O(1) commands or smaller values.',
      })),
}

/** Every slow command the slowlog showed: a warning from THRESHOLDS.slowUs on, a note below it. */
export const slowlogPatterns: TriageRule = {
  name: 'slowlog-patterns',
  scope: 'input',
  check: (input) =>
    input.slowlogGroups.slice(0, 5).map((g) => ({
      severity: g.maxUs >= THRESHOLDS.slowUs ? 'warning' : 'info',
      category: 'workload',
      node: g.slowest.address,
      summary: `slowlog: ${g.pattern} took up to ${ms(g.maxUs)} on ${g.slowest.address}${seenOn(g.count, g.slowest.address, g.nodes)}`,
      why: 'The server runs one command at a time: while it ran, every other client waited.',
      action: `Find the caller (${caller(g.slowest)}) and replace the command (SCAN instead of KEYS, smaller ranges, UNLINK instead of DEL).`,
      evidence: { maxUs: g.maxUs, count: g.count, nodes: g.nodes },
    })),
}

/** Every large reply COMMANDLOG showed (Valkey 8.1+), by pattern. */
export const largeReplies: TriageRule = {
  name: 'large-replies',
  scope: 'input',
  check: (input) => input.commandLogGroups?.largeReplies.slice(0, 5).map(largeCommandFinding) ?? [],
}

/** Every large request COMMANDLOG showed (Valkey 8.1+), by pattern. */
export const largeRequests: TriageRule = {
  name: 'large-requests',
  scope: 'input',
  check: (input) => input.commandLogGroups?.largeRequests.slice(0, 5).map(largeCommandFinding) ?? [],
}

/** A pattern of COMMANDLOG's large-request or large-reply log: a warning from THRESHOLDS on, a note below. */
function largeCommandFinding(g: CommandLogGroup): Finding {
  const reply = g.kind === 'large-reply'
  const top = g.largest
  const where = seenOn(g.count, top.address, g.nodes)
  return {
    severity:
      g.maxBytes >= (reply ? THRESHOLDS.largeReplyBytes : THRESHOLDS.largeRequestBytes) ? 'warning' : 'info',
    category: 'workload',
    node: top.address,
    summary: reply
      ? `large reply: ${g.pattern} replied up to ${formatBytes(g.maxBytes)} on ${top.address}${where}`
      : `large request: ${g.pattern} sent up to ${formatBytes(g.maxBytes)} to ${top.address}${where}`,
    why: reply
      ? 'The node builds the whole reply in memory while other clients wait, and the output buffer grows toward client-output-buffer-limit.'
      : 'The node reads and parses the whole request before running it: the query buffer grows toward client-query-buffer-limit, and a large write is replicated to every replica.',
    action: reply
      ? `Find the caller (${caller(top)}) and read in pages (HSCAN, ZRANGE ... LIMIT, LRANGE in ranges, smaller MGET batches) or split the value.`
      : `Find the caller (${caller(top)}) and split the write (smaller values, smaller batches), or compress values client-side.`,
    evidence: { kind: g.kind, maxBytes: g.maxBytes, count: g.count, nodes: g.nodes },
  }
}
