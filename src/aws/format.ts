import { formatBytes } from '../format/units.js'
import { renderTable } from '../format/table.js'
import type { ExportPlan, ExportResult } from './snapshot-export.js'
import type { SnapshotInfo } from './snapshots.js'
import type { BucketCheck } from './export-check.js'
import type { AwsDeployment } from './types.js'
import { explainGrant } from './export-check.js'
import { formatElapsed } from './waiter.js'

function hp(e: { host: string; port: number } | undefined): string {
  return e ? `${e.host}:${e.port}` : '-'
}

export function formatAwsDeployment(d: AwsDeployment): string {
  const kind = {
    'replication-group': 'ElastiCache replication group',
    'cache-cluster': 'ElastiCache cache cluster',
    'serverless-cache': 'ElastiCache serverless cache',
    cluster: 'MemoryDB cluster',
  }[d.kind]
  const auth: string[] = []
  if (d.authTokenEnabled) auth.push('password required (AuthToken)')
  if (d.userGroupIds?.length) auth.push(`user groups ${d.userGroupIds.join(', ')}`)
  if (d.aclName) auth.push(`ACL ${d.aclName}`)
  const lines = [
    `AWS:       ${kind} ${d.name}${d.resolvedFrom ? ` (from member ${d.resolvedFrom})` : ''} in ${d.region}, ${d.status ?? 'status unknown'}`,
    `Engine:    ${d.engine ?? '?'} ${d.engineVersion ?? ''}${d.nodeType ? `, ${d.nodeType}` : ''}${d.clusterMode ? ', cluster mode' : ''}`,
    `Endpoint:  ${d.url ?? '-'}${d.readerEndpoint ? `  (reader ${hp(d.readerEndpoint)})` : ''}`,
    `TLS:       ${d.tls ? 'in-transit encryption on (rediss://)' : 'off'}`,
    `Access:    ${auth.length ? auth.join('; ') : 'none'}`,
    `CloudWatch ${d.cloudwatch.namespace}: ${d.cloudwatch.nodes.length} ${d.kind === 'serverless-cache' ? 'cache' : 'node(s)'}`,
  ]
  if (d.shards.length) {
    lines.push(
      '',
      renderTable(
        ['SHARD', 'NODE', 'ROLE', 'ENDPOINT', 'AZ', 'CLOUDWATCH DIMENSIONS'],
        d.shards.flatMap((s) =>
          s.nodes.map((n) => [
            s.id + (s.slots ? ` (${s.slots})` : ''),
            n.id,
            n.role ?? '-',
            n.address ?? '-',
            n.availabilityZone ?? '-',
            Object.entries(n.cloudwatch.dimensions)
              .map(([k, v]) => `${k}=${v}`)
              .join(' '),
          ]),
        ),
      ),
    )
  }
  return lines.join('\n')
}

function date(ms: number | undefined): string {
  return ms ? new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z') : '-'
}

export function formatSnapshots(list: SnapshotInfo[]): string {
  if (!list.length) return 'No snapshots.'
  return renderTable(
    ['SERVICE', 'NAME', 'SOURCE', 'STATUS', 'ORIGIN', 'CREATED', 'SHARDS', 'SIZE', 'NODE TYPE', 'ENGINE'],
    list.map((s) => [
      s.service,
      s.name,
      s.source ?? '-',
      s.status,
      s.origin ?? '-',
      date(s.createdAt),
      String(s.shards),
      formatBytes(s.sizeBytes),
      s.nodeType ?? '-',
      `${s.engine ?? ''} ${s.engineVersion ?? ''}`.trim() || '-',
    ]),
  )
}

export function formatSnapshot(s: SnapshotInfo): string {
  return [
    `Snapshot:  ${s.name} (${s.service === 'elasticache' ? 'ElastiCache' : 'MemoryDB'}), ${s.status}`,
    `Source:    ${s.source ?? '-'}`,
    `Shards:    ${s.shards}`,
    ...(s.sizeBytes !== undefined ? [`Size:      ${formatBytes(s.sizeBytes)}`] : []),
    ...(s.arn ? [`ARN:       ${s.arn}`] : []),
  ].join('\n')
}

export function formatExportPlan(p: ExportPlan): string {
  const who = p.snapshot.service === 'elasticache' ? 'ElastiCache' : 'MemoryDB'
  return [
    `Exporting ${who} snapshot ${p.snapshot.name} (${p.snapshot.shards} shard${p.snapshot.shards === 1 ? '' : 's'}) to s3://${p.bucket}/ in ${p.region}`,
    `Objects ${who} will write (one .rdb per shard):`,
    ...p.keys.map((k) => `  s3://${p.bucket}/${k}`),
  ].join('\n')
}

export function formatBucketCheck(check: BucketCheck, p: ExportPlan): string {
  const who = p.snapshot.service === 'elasticache' ? 'ElastiCache' : 'MemoryDB'
  const lines = [
    check.permission === 'verified'
      ? `Bucket permission: verified (${check.grant.kind === 'acl' ? `ACL grants canonical ID ${check.grant.canonicalId}` : `policy allows ${check.grant.principal}`})`
      : `Bucket permission: not verified. What ${who} needs:\n${explainGrant(p.snapshot.service, p.bucket, p.region)}`,
  ]
  for (const n of check.notes) lines.push(`Note: ${n}`)
  return lines.join('\n')
}

export function formatSkippedCheck(p: ExportPlan): string {
  const who = p.snapshot.service === 'elasticache' ? 'ElastiCache' : 'MemoryDB'
  return `Bucket check skipped. What ${who} needs:\n${explainGrant(p.snapshot.service, p.bucket, p.region)}`
}

export function formatExportResult(r: ExportResult): string {
  return [
    `Exported ${r.snapshot.name} in ${formatElapsed(r.elapsedMs)}${r.verified ? '' : ' (objects not verified: no permission to read them, or not waited for)'}:`,
    ...r.uris.map((u) => `  ${u}`),
  ].join('\n')
}
