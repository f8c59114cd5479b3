import { formatElapsed } from '../../aws/waiter.js'
import { formatVerifyReport } from '../verify/format.js'
import type { MigrateAwsParams, MigrateAwsReport, PlannedCall } from './types.js'

/** --dry-run: every call in order, with its parameters as the API takes them. */
export function formatPlannedCalls(
  params: MigrateAwsParams,
  calls: PlannedCall[],
  resumeAt?: string,
): string {
  const lines = [
    `Migrate ElastiCache ${params.source} -> MemoryDB ${params.target} through s3://${params.bucket}/ (${params.region})` +
      (resumeAt ? `; resuming at step ${resumeAt}` : ''),
    '',
  ]
  calls.forEach((c, i) => {
    lines.push(
      `${String(i + 1).padStart(2)}. [${c.step}] ${c.service} ${c.operation}${c.until ? ` until ${c.until}` : ''}`,
    )
    lines.push(`    ${JSON.stringify(c.params)}`)
  })
  lines.push('', 'Dry run: nothing was created.')
  return lines.join('\n')
}

export function formatAwsMigration(r: MigrateAwsReport): string {
  const lines = [
    `ElastiCache ${r.params.source} -> MemoryDB ${r.params.target}${r.resumedAt ? ` (resumed at ${r.resumedAt})` : ''}`,
  ]
  for (const s of r.steps)
    lines.push(
      `  ${s.step.padEnd(15)} ${s.status === 'done' ? `done in ${formatElapsed(s.elapsedMs)}` : s.status}${s.detail ? `: ${s.detail}` : ''}`,
    )
  if (r.snapshotArns.length) lines.push('', 'Seeded from:', ...r.snapshotArns.map((a) => `  ${a}`))
  if (r.compare.verify) lines.push('', formatVerifyReport(r.compare.verify))
  lines.push('')
  if (r.compare.skipped)
    lines.push(
      `Not compared: ${r.compare.skipped}. From a host that reaches both: kvtop verify --source <elasticache URL> --target <memorydb URL>`,
    )
  else if (r.matched) lines.push(`MATCHED: ${r.compare.targetKeys} keys on both sides.`)
  else
    lines.push(
      `DIFFERENT: the source holds ${r.compare.sourceKeys} keys, the new cluster ${r.compare.targetKeys}. Writes made after the snapshot are not in it: copy them with kvtop migrate run --live --replace, then verify.`,
    )
  return lines.join('\n')
}
