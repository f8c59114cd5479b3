import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import { BaseCommand } from '../../src/base-command.js'
import { ExitCode } from '../../src/errors.js'
import { inspectSnapshot, type InspectReport } from '../../src/ops/snapshot/inspect.js'
import { formatChecksumMismatch, formatInspect } from '../../src/ops/snapshot/format.js'

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
      this.diag(formatChecksumMismatch(args.file, report))
      this.resultExitCode = ExitCode.usage
    }
    return report
  }
}
