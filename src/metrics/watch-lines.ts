import type { Snapshot } from './types.js'

/**
 * The NDJSON lines of one round, as `kvtop status --watch --json` writes them and `kvtop top
 * --record` stores them: the round's events, one `slowlog` line per new slow command (oldest
 * first), one `commandlog` line per new COMMANDLOG size entry, then the `status` line itself.
 */
export function watchJsonLines(snap: Snapshot): object[] {
  const lines: object[] = [...snap.events]
  for (const e of [...snap.slowlog].reverse()) lines.push({ type: 'slowlog', ...e })
  const logged = [...(snap.commandLog?.largeRequests ?? []), ...(snap.commandLog?.largeReplies ?? [])]
  for (const e of logged.sort((a, b) => a.at - b.at)) lines.push({ type: 'commandlog', ...e })
  const { events: _events, slowlog: _slowlog, commandLog: _commandLog, ...rest } = snap
  lines.push({ type: 'status', ...rest })
  return lines
}
