import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { AtomicFile } from '../../data/atomic-file.js'
import { UsageError } from '../../errors.js'
import { dataPlaneLine } from '../../metrics/format.js'
import { redact, redactDeep } from '../../redact.js'
import { formatBytes } from '../../format/units.js'
import { mermaidCharts, sparklineTable } from './pictures.js'
import type { Finding, TriageReport } from './types.js'

const ICON = { critical: 'CRITICAL', warning: 'WARNING', info: 'info' }

function findingLine(f: Finding): string {
  return `${ICON[f.severity]}${f.node ? ` [${f.node}]` : ''} ${f.summary}`
}

/** The summary printed on stdout: findings first (worst first), then what to look at next. */
export function formatTriage(r: TriageReport): string {
  const d = r.deployment
  const lines = [
    ...(r.dataPlane ? [dataPlaneLine(r.dataPlane)] : []),
    `${d.provider ?? 'self-managed'} ${d.engine ?? ''} ${d.version ?? ''} | ${d.mode} | ${d.shards} shard${d.shards === 1 ? '' : 's'} | ${d.nodes} nodes` +
      (d.clusterState ? ` | cluster_state ${d.clusterState}` : '') +
      (r.dataPlane
        ? ` | CloudWatch, last ${r.cloudwatch?.hours ?? 3} hours`
        : ` | measured over ${r.durationSeconds}s`),
    `${r.counts.critical} critical, ${r.counts.warning} warning${r.counts.warning === 1 ? '' : 's'}, ${r.counts.info} note${r.counts.info === 1 ? '' : 's'}`,
    '',
  ]
  if (!r.findings.length)
    lines.push(
      r.dataPlane
        ? 'No CloudWatch findings (the nodes themselves were not checked).'
        : 'No findings: nothing looks wrong.',
    )
  for (const f of r.findings) {
    lines.push(findingLine(f))
    if (f.severity !== 'info') lines.push(`    why: ${f.why}`, `    do:  ${f.action}`)
  }
  if (r.workload.topByTime.length) {
    lines.push(
      '',
      'Top commands by time: ' +
        r.workload.topByTime
          .slice(0, 5)
          .map((c) => `${c.command} ${Math.round(c.usecPerSec / 1000)} ms/s`)
          .join(', '),
    )
  }
  return redact(lines.join('\n'))
}

/** The Markdown report for the incident channel. */
export function markdownReport(r: TriageReport): string {
  const out = [...reportHead(r), ...findingsSection(r)]
  if (r.dataPlane) return redact([...out, ...cloudWatchOnlySections(r)].join('\n') + '\n')
  out.push(...workloadSection(r), ...clientsSection(r), ...keysSection(r), ...nodesSection(r))
  out.push(...cloudWatchSection(r))
  return redact(out.join('\n') + '\n')
}

/** The title, the deployment in one sentence, and the counts of findings. */
function reportHead(r: TriageReport): string[] {
  const d = r.deployment
  return [
    `# kvtop triage — ${new Date(r.at).toISOString()}`,
    '',
    ...(r.dataPlane ? [`**${dataPlaneLine(r.dataPlane)}.**`, ''] : []),
    `${d.provider ?? 'self-managed'} ${d.engine ?? ''} ${d.version ?? ''}, ${d.mode}, ${d.shards} shards, ${d.nodes} nodes` +
      (d.slotsCovered !== undefined ? `, ${d.slotsCovered}/16384 slots` : '') +
      (d.clusterState ? `, cluster_state ${d.clusterState}` : '') +
      (r.dataPlane
        ? `. Nodes as AWS describes them; findings from CloudWatch (last ${r.cloudwatch?.hours ?? 3} hours).`
        : `. Rates measured over ${r.durationSeconds} s.`),
    '',
    `**${r.counts.critical} critical, ${r.counts.warning} warnings, ${r.counts.info} notes.**`,
    '',
  ]
}

function findingsSection(r: TriageReport): string[] {
  const out = ['## Findings', '']
  if (!r.findings.length)
    out.push(
      r.dataPlane ? 'Nothing in CloudWatch; the nodes themselves were not checked.' : 'Nothing looks wrong.',
      '',
    )
  for (const f of r.findings) {
    out.push(`### ${ICON[f.severity]}: ${f.summary}`, '')
    if (f.node) out.push(`- node: \`${f.node}\``)
    out.push(`- category: ${f.category}`, `- why it matters: ${f.why}`, `- what to do: ${f.action}`, '')
  }
  return out
}

/** Top commands by calls and by time, then the slowlog and COMMANDLOG by pattern. */
function workloadSection(r: TriageReport): string[] {
  const out = ['## Workload', '', '| command | ops/s |', '|---|---|']
  for (const c of r.workload.topByCalls) out.push(`| ${c.command} | ${c.opsPerSec} |`)
  out.push('', '| command | usec/s | usec/call | p99 usec |', '|---|---|---|---|')
  for (const c of r.workload.topByTime)
    out.push(`| ${c.command} | ${c.usecPerSec} | ${c.usecPerCall ?? ''} | ${c.p99Us ?? ''} |`)
  if (r.workload.slowlog.length) {
    out.push('', '### Slowlog by pattern', '', '| pattern | entries | max ms | nodes |', '|---|---|---|---|')
    for (const g of r.workload.slowlog)
      out.push(`| \`${g.pattern}\` | ${g.count} | ${(g.maxUs / 1000).toFixed(1)} | ${g.nodes.length} |`)
  }
  const logged = r.workload.commandLog
  for (const [title, groups] of [
    ['Large requests by pattern (COMMANDLOG)', logged?.largeRequests ?? []],
    ['Large replies by pattern (COMMANDLOG)', logged?.largeReplies ?? []],
  ] as const) {
    if (!groups.length) continue
    out.push('', `### ${title}`, '', '| pattern | entries | max size | nodes |', '|---|---|---|---|')
    for (const g of groups)
      out.push(`| \`${g.pattern}\` | ${g.count} | ${formatBytes(g.maxBytes)} | ${g.nodes.length} |`)
  }
  return out
}

function clientsSection(r: TriageReport): string[] {
  const out = ['', '## Clients', '', '| address | connections |', '|---|---|']
  for (const a of r.clients.topAddresses) out.push(`| ${a.host} | ${a.connections} |`)
  if (r.clients.topNames.length) {
    out.push('', '| client name | connections |', '|---|---|')
    for (const n of r.clients.topNames) out.push(`| ${n.name} | ${n.connections} |`)
  }
  return out
}

function keysSection(r: TriageReport): string[] {
  const out = ['', '## Keys', '', `${r.keys.sampled} keys sampled.`, '']
  for (const k of r.keys.bigKeys.slice(0, 20))
    out.push(`- \`${k.key}\` (${k.type}, ${formatBytes(k.bytes)}) on ${k.node}`)
  for (const n of r.keys.notes) out.push(`- ${n}`)
  return out
}

function nodesSection(r: TriageReport): string[] {
  const out = [
    '',
    '## Nodes',
    '',
    '| node | role | shard | up | ops/s | memory |',
    '|---|---|---|---|---|---|',
  ]
  for (const n of r.nodes) {
    out.push(
      `| ${n.address} | ${n.role} | ${n.shard} | ${n.up ? 'yes' : 'NO'} | ${n.opsPerSec ?? ''} | ${n.memoryUsed ? formatBytes(n.memoryUsed) : ''} |`,
    )
  }
  return out
}

/**
 * The CloudWatch section: each node's worst period, by AWS node name (and endpoint); then the
 * figures over time as charts, and a sparkline per node and metric.
 */
function cloudWatchSection(r: TriageReport): string[] {
  if (!r.cloudwatch) return []
  const out = ['', `## CloudWatch (last ${r.cloudwatch.hours} hours, worst period)`, '']
  if (r.cloudwatch.error) out.push(`Not read: ${r.cloudwatch.error}`)
  for (const [id, m] of Object.entries(r.cloudwatch.nodes)) {
    const address = r.cloudwatch.addresses?.[id]
    out.push(
      `- ${id}${address ? ` (\`${address}\`)` : ''}: ` +
        Object.entries(m)
          .map(([k, v]) => `${k} ${Math.round(v * 100) / 100}`)
          .join(', '),
    )
  }
  const charts = mermaidCharts(r.cloudwatch)
  if (charts.length) out.push('', '### Over time', '', ...charts)
  const sparklines = sparklineTable(r.cloudwatch)
  if (sparklines.length) out.push('', '### Per node', '', ...sparklines)
  return out
}

/** When the nodes could not be reached: the nodes AWS describes, and CloudWatch. */
function cloudWatchOnlySections(r: TriageReport): string[] {
  const out = [
    '## Nodes (as AWS describes them)',
    '',
    'Not reached from where kvtop ran: workload, clients, slowlog and keys were not measured.',
    '',
    '| node | role | shard |',
    '|---|---|---|',
  ]
  for (const n of r.nodes) out.push(`| ${n.address} | ${n.role} | ${n.shard} |`)
  out.push(...cloudWatchSection(r))
  return out
}

/**
 * triage.json: indented, except arrays of numbers (the CloudWatch series), kept on one line each so
 * that hours of datapoints stay readable and small.
 */
export function triageJson(r: TriageReport): string {
  const text = JSON.stringify(redactDeep(r), null, 2)
  const number = '(?:-?\\d+(?:\\.\\d+)?(?:e[-+]?\\d+)?|null)'
  const numberArray = new RegExp(`\\[\\n\\s*(${number}(?:,\\n\\s*${number})*)\\n\\s*\\]`, 'g')
  return text.replace(numberArray, (_, items: string) => `[${items.split(/,\n\s*/).join(', ')}]`) + '\n'
}

/** Check --out before the work: a directory we can write, without an earlier report unless --force. */
export function prepareOutDir(dir: string, overwrite: boolean): { md: AtomicFile; json: AtomicFile } {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 })
  } catch (err) {
    throw new UsageError(
      `cannot create ${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    )
  }
  return {
    md: AtomicFile.open(join(dir, 'report.md'), { overwrite }),
    json: AtomicFile.open(join(dir, 'triage.json'), { overwrite }),
  }
}

export async function writeReports(
  files: { md: AtomicFile; json: AtomicFile },
  r: TriageReport,
): Promise<void> {
  files.md.writeSync(Buffer.from(markdownReport(r)))
  files.json.writeSync(Buffer.from(triageJson(r)))
  await files.md.commit()
  await files.json.commit()
}
