/** Wording shared by the findings' texts. */

export const ms = (us: number) => `${(us / 1000).toFixed(us >= 100_000 ? 0 : 1)} ms`
export const pct = (x: number) => `${Math.round(x * 100)}%`

/** ` (3 entries on a, b, c, ...)` or ` (1 entry)`: where a logged pattern was seen, the worst node first. */
export function seenOn(count: number, worst: string, nodes: string[]): string {
  const others = nodes.filter((a) => a !== worst)
  return others.length
    ? ` (${count} entries on ${[worst, ...others].slice(0, 3).join(', ')}${nodes.length > 3 ? ', ...' : ''})`
    : ` (${count} entr${count === 1 ? 'y' : 'ies'})`
}

export const caller = (e: { client: string; clientName?: string }) =>
  `client ${e.client}${e.clientName ? ` "${e.clientName}"` : ''}`
