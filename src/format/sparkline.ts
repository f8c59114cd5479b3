/**
 * Unicode sparklines (▁▂▃▄▅▆▇█), shared by the dashboard and the triage report. Bars are scaled
 * from zero to the largest value, so equal heights mean equal values across one line.
 */
const SPARKS = '▁▂▃▄▅▆▇█'

/** One character per value; a missing value (a gap in the series) is a space. */
export function sparkChars(values: (number | null | undefined)[], max?: number): string {
  const present = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v))
  const top = max ?? Math.max(0, ...present)
  return values
    .map((v) => {
      if (typeof v !== 'number' || !Number.isFinite(v)) return ' '
      if (top <= 0) return SPARKS[0]
      const level = Math.round((Math.max(0, v) / top) * (SPARKS.length - 1))
      return SPARKS[Math.min(SPARKS.length - 1, level)]
    })
    .join('')
}

/**
 * At most `buckets` values: consecutive values grouped and each group's maximum kept, so that a
 * peak is never averaged away. Groups without a value stay gaps (null).
 */
export function downsampleMax(values: (number | null | undefined)[], buckets: number): (number | null)[] {
  if (values.length <= buckets) return values.map((v) => (typeof v === 'number' ? v : null))
  const out: (number | null)[] = []
  for (let b = 0; b < buckets; b++) {
    const from = Math.floor((b * values.length) / buckets)
    const to = Math.floor(((b + 1) * values.length) / buckets)
    let best: number | null = null
    for (let i = from; i < to; i++) {
      const v = values[i]
      if (typeof v === 'number' && (best === null || v > best)) best = v
    }
    out.push(best)
  }
  return out
}
