/** Text for `kvtop snapshot create / inspect / restore`: what was written, what a file holds, what was restored. */
import { formatBytes, formatCount } from '../../format/units.js'
import { renderTable } from '../../format/table.js'
import type { SnapshotCreateReport } from './create.js'
import type { InspectReport } from './inspect.js'
import type { RestoreReport } from './restore.js'

/** One line per file written, then the source, method and pace. */
export function formatSnapshotCreate(report: SnapshotCreateReport): string {
  const files = report.files.map(
    (f) =>
      `${f.path}: ${formatCount(f.keys)} keys (${formatCount(f.expires)} expiring), ${formatBytes(f.bytes)}${f.slots ? `, slots ${f.slots[0]}-${f.slots[1]}` : ''}`,
  )
  const summary =
    `RDB version ${report.rdbVersion}, ${report.method} of ${report.source.primaries.length} primar${report.source.primaries.length === 1 ? 'y' : 'ies'}` +
    ` in ${report.seconds.toFixed(1)}s (${formatCount(report.keysPerSecond)} keys/s)` +
    (report.functions ? `, ${report.functions} function libraries` : '') +
    (report.vanished ? `, ${report.vanished} keys vanished while read` : '')
  return [...files, summary].join('\n')
}

export function formatRestore(report: RestoreReport): string {
  return (
    `Restored ${formatCount(report.restored)} of ${formatCount(report.keys)} keys into ${report.target.mode === 'cluster' ? `${report.target.primaries.length} primaries` : report.target.primaries[0]}` +
    ` in ${report.seconds.toFixed(1)}s (${formatCount(report.keysPerSecond)} keys/s)` +
    (report.rebuilt ? `; ${formatCount(report.rebuilt)} rebuilt with commands` : '') +
    (report.expired ? `; ${report.expired} already expired, not sent` : '') +
    (report.functions ? `; ${report.functions} function libraries` : '')
  )
}

/** The error line of a file whose CRC-64 does not match (the report is printed above it). */
export function formatChecksumMismatch(file: string, report: InspectReport): string {
  return `Error: ${file}: the CRC-64 checksum does not match (stored ${report.checksum.stored}, computed ${report.checksum.computed})`
}

export function formatInspect(r: InspectReport): string {
  const lines: string[] = []
  lines.push(
    `${r.file}: ${r.magic} RDB version ${r.rdbVersion}, ${formatBytes(r.size)}, checksum ${r.checksum.status}`,
  )
  const aux = Object.entries(r.aux)
  if (aux.length) lines.push('', 'AUX fields:', ...aux.map(([k, v]) => `  ${k} = ${v}`))
  lines.push('')
  const rows: string[][] = []
  for (const db of r.dbs) {
    for (const [type, t] of Object.entries(db.types).sort()) {
      rows.push([
        String(db.db),
        type,
        formatCount(t.keys),
        formatCount(t.expires),
        formatCount(t.elements),
        formatBytes(t.bytes),
        Object.entries(t.encodings)
          .map(([e, n]) => `${e} ${n}`)
          .join(', '),
      ])
    }
    rows.push([
      String(db.db),
      '(all)',
      formatCount(db.keys),
      formatCount(db.expires),
      formatCount(db.elements),
      formatBytes(db.bytes),
      '',
    ])
  }
  lines.push(
    rows.length
      ? renderTable(['db', 'type', 'keys', 'expiring', 'elements', 'bytes', 'encodings'], rows, [
          'right',
          'left',
          'right',
          'right',
          'right',
          'right',
          'left',
        ])
      : 'No keys.',
  )
  if (r.functions.libraries) lines.push('', `Function libraries: ${r.functions.names.join(', ')}`)
  if (r.modules.length) lines.push('', `Module AUX data: ${r.modules.join(', ')}`)
  if (r.expiredAtRead) lines.push('', `${r.expiredAtRead} keys had already expired when read.`)
  if (r.trailingBytes) lines.push('', `${r.trailingBytes} bytes follow the end of the RDB.`)
  if (r.largest.length) {
    lines.push('', `Largest keys (by serialized size):`)
    lines.push(
      renderTable(
        ['bytes', 'type', 'elements', 'db', 'key'],
        r.largest.map((k) => [
          formatBytes(k.bytes),
          `${k.type} (${k.encoding})`,
          formatCount(k.elements),
          String(k.db),
          `"${k.key}"`,
        ]),
        ['right', 'left', 'right', 'right', 'left'],
      ),
    )
  }
  return lines.join('\n')
}
