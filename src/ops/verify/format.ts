import { formatCount } from '../../format/units.js'
import type { Difference, VerifyReport } from './types.js'

const LABELS: Record<Difference['category'], string> = {
  'missing-in-target': 'missing in target',
  'missing-in-source': 'only in target',
  type: 'type differs',
  value: 'value differs',
  ttl: 'TTL differs',
  count: 'count differs',
}

/** The text summary of a verify run: the verdict, counts by category, examples with keys escaped. */
export function formatVerifyReport(r: VerifyReport, options: { showValues?: boolean } = {}): string {
  const lines: string[] = []
  const scope = r.mode === 'quick' ? 'counts and types' : 'keys, types, TTLs and values'
  const dbs = r.dbs
    .map((d) => (d.source === d.target ? `db ${d.source}` : `db ${d.source} -> ${d.target}`))
    .join(', ')
  lines.push(
    `${r.identical ? 'IDENTICAL' : 'DIFFERENT'}: compared ${scope} of ${formatCount(r.sourceKeys)} source keys` +
      (r.mode === 'full' ? ` and ${formatCount(r.targetKeys)} target keys` : '') +
      ` (${dbs}) in ${r.seconds.toFixed(1)}s, ${formatCount(r.keysPerSecond)} keys/s, ${r.passes} pass${r.passes === 1 ? '' : 'es'}`,
  )
  if (r.stoppedAt)
    lines.push(
      `Stopped after ${formatCount(r.stoppedAt)} differences (--max-differences): the datasets are far apart, the counts are of the keys compared until then. Check --source and --target; for a full report raise the limit (0: none).`,
    )
  if (r.converged)
    lines.push(
      `${formatCount(r.converged)} differences of the first pass converged (replication or expiry in flight)`,
    )
  for (const [category, n] of Object.entries(r.counts)) {
    if (n) lines.push(`  ${LABELS[category as Difference['category']].padEnd(18)} ${formatCount(n)}`)
  }
  if (r.examples.length) {
    lines.push('', 'Examples:')
    for (const d of r.examples) {
      const where = d.category === 'count' ? '' : `"${d.key}"${r.dbs.length > 1 ? ` (db ${d.db})` : ''}: `
      lines.push(`  ${LABELS[d.category]}: ${where}${d.detail}`)
      if (options.showValues && (d.sourceValue !== undefined || d.targetValue !== undefined)) {
        lines.push(`      source: ${d.sourceValue === undefined ? '-' : `"${d.sourceValue}"`}`)
        lines.push(`      target: ${d.targetValue === undefined ? '-' : `"${d.targetValue}"`}`)
      }
    }
  }
  return lines.join('\n')
}
