import type { MonitorEvent } from '../metrics/alerts.js'
import { fmtTime, fmtUs, truncate } from '../metrics/format.js'
import { formatArgs } from '../metrics/log-reply.js'
import { type SlowlogEntry } from '../metrics/slowlog.js'
import { esc, wrapText } from './markup.js'

/** The two log panels: slow commands and the alert log. */

export function slowlogLines(entries: SlowlogEntry[], width: number): string[] {
  if (!entries.length) return ['(no slow commands)']
  // The command first: on a narrow panel the node is what gets cut.
  return entries.map((e) =>
    esc(
      truncate(`${fmtTime(e.at)} ${fmtUs(e.durationUs).padStart(7)} ${formatArgs(e)}  @${e.address}`, width),
    ),
  )
}

const SEVERITY_COLOR: Record<string, string> = { critical: 'red', warning: 'yellow', info: 'green' }

/** The alert log, newest first; long messages wrap onto indented lines of at most `width`. */
export function eventLines(events: MonitorEvent[], width: number): string[] {
  if (!events.length) return ['(no alerts)']
  const out: string[] = []
  for (const e of events) {
    const color = SEVERITY_COLOR[e.severity] ?? 'white'
    for (const line of wrapText(`${fmtTime(e.at)} ${e.type} ${e.message}`, width, '  '))
      out.push(`{${color}-fg}${esc(line)}{/${color}-fg}`)
  }
  return out
}
