import { Args, Flags } from '@oclif/core'
import { BaseCommand } from '../../src/base-command.js'
import { ExitCode } from '../../src/errors.js'
import { inspectSnapshot, type InspectReport } from '../../src/ops/snapshot/inspect.js'
import { formatBytes, formatCount } from '../../src/format/units.js'
import { renderTable } from '../../src/ui/table.js'

export default class SnapshotInspect extends BaseCommand {
  static override summary =
    'Show what an RDB file holds: version, AUX fields, keys per db and type, the largest keys'
  static override description =
    'Reads the file in one streaming pass, walks every value (LZF data, listpacks, ziplists, intsets) and verifies its CRC-64. A truncated or corrupt file exits 2 naming the byte offset and what was expected there; a checksum mismatch is reported and exits 2.'
  static override examples = [
    '<%= config.bin %> snapshot inspect dump.rdb',
    '<%= config.bin %> snapshot inspect dump.rdb --top 50 --json',
  ]
  static override args = { file: Args.string({ description: 'RDB file', required: true }) }
  static override flags = {
    top: Flags.integer({ description: 'How many of the largest keys to list', default: 20 }),
  }

  async run(): Promise<InspectReport> {
    const { args, flags } = await this.parse(SnapshotInspect)
    // Reading a file has nothing to leave half done: Ctrl-C ends the process.
    const report = await this.runOperation(
      ({ emit }) => inspectSnapshot(args.file, { top: Math.max(0, flags.top), onEvent: emit }),
      { reporter: 'snapshot inspect', interruptible: false },
    )
    this.log(formatInspect(report))
    if (report.checksum.status === 'mismatch') {
      this.diag(
        `Error: ${args.file}: the CRC-64 checksum does not match (stored ${report.checksum.stored}, computed ${report.checksum.computed})`,
      )
      this.resultExitCode = ExitCode.usage
    }
    return report
  }
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
