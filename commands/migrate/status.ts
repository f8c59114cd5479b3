import * as Flags from '@oclif/core/flags'
import { BaseCommand } from '../../src/base-command.js'
import { formatCheckpoint } from '../../src/ops/migrate/format.js'
import { readStatus } from '../../src/ops/migrate/service.js'
import type { Checkpoint } from '../../src/ops/migrate/types.js'

export default class MigrateStatus extends BaseCommand {
  static override summary = 'Where a migration stands, from its checkpoint file'
  static override examples = [
    '<%= config.bin %> migrate status --checkpoint orders.ckpt',
    '<%= config.bin %> migrate status --checkpoint orders.ckpt --json',
  ]
  static override flags = {
    checkpoint: Flags.string({ description: 'The checkpoint file of a migrate run', required: true }),
  }

  async run(): Promise<Checkpoint> {
    const { flags } = await this.parse(MigrateStatus)
    const c = readStatus(flags.checkpoint)
    this.log(formatCheckpoint(c))
    return c
  }
}
