import type { SandboxSummary } from './sandbox.js'
import { renderTable } from '../format/table.js'

export function formatSandbox(s: SandboxSummary): string {
  const shape =
    s.mode === 'cluster'
      ? `cluster ${s.shards} shards x ${s.replicas} replicas`
      : s.mode === 'replicated'
        ? `primary + ${s.replicas} replicas`
        : 'standalone'
  const up = s.nodes.filter((n) => n.up).length
  const header = `Sandbox '${s.name}': ${shape}, flavor ${s.flavor}, ${s.engine} ${s.version}, ${up}/${s.nodes.length} processes up\nURL: ${s.url}${s.user !== 'default' ? `  (password required: connect with --profile sandbox:${s.name})` : ''}`
  const rows = s.nodes.map((n) => [
    String(n.port),
    n.role,
    String(n.shard),
    n.pid ? String(n.pid) : '-',
    n.up ? 'up' : 'DOWN',
  ])
  return `${header}\n${renderTable(['PORT', 'ROLE', 'SHARD', 'PID', 'STATE'], rows)}`
}
