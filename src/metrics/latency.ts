/** LATENCY LATEST: one row per event the latency monitor has seen (needs latency-monitor-threshold > 0). */
export interface LatencyEvent {
  event: string
  /** Epoch ms of the latest spike. */
  at: number
  latestMs: number
  maxMs: number
}

function text(v: unknown): string {
  return Buffer.isBuffer(v) ? v.toString('utf8') : String(v ?? '')
}

/** Rows are `[event, unix time, latest ms, all-time max ms]`; newer servers may add fields (ignored). */
export function parseLatencyLatest(reply: unknown): LatencyEvent[] {
  if (!Array.isArray(reply)) return []
  const out: LatencyEvent[] = []
  for (const row of reply) {
    if (!Array.isArray(row) || row.length < 4) continue
    const at = Number(text(row[1]))
    const latestMs = Number(text(row[2]))
    const maxMs = Number(text(row[3]))
    if (![at, latestMs, maxMs].every(Number.isFinite)) continue
    out.push({ event: text(row[0]), at: at * 1000, latestMs, maxMs })
  }
  return out.sort((a, b) => b.at - a.at || a.event.localeCompare(b.event))
}
