import * as Flags from '@oclif/core/flags'
import { AwsCommand } from '../../../src/aws-command.js'
import { awsTargetFromFlags } from '../../../src/aws/target.js'
import { awsNodeTargetFlags } from '../../../src/aws/flags.js'
import type { SnapshotInfo } from '../../../src/aws/snapshots.js'
import type { AwsService } from '../../../src/aws/types.js'

export default class SnapshotAwsList extends AwsCommand {
  static override summary = 'List ElastiCache and MemoryDB snapshots'
  static override description =
    'All snapshots of the Region in both services, or those of one deployment (--elasticache / --memorydb), newest first.'
  static override examples = [
    '<%= config.bin %> snapshot aws list',
    '<%= config.bin %> snapshot aws list --elasticache orders --origin manual',
    '<%= config.bin %> snapshot aws list --service memorydb --region eu-west-1 --json',
  ]
  static override flags = {
    ...awsNodeTargetFlags,
    service: Flags.string({ description: 'Only this service', options: ['elasticache', 'memorydb'] }),
    origin: Flags.string({
      description: 'Only manual or only automated snapshots',
      options: ['manual', 'automated'],
    }),
  }

  async run(): Promise<{ snapshots: SnapshotInfo[]; skipped: { service: AwsService; reason: string }[] }> {
    const { flags } = await this.parse(SnapshotAwsList)
    const target = awsTargetFromFlags(flags)
    const { AwsClients } = await import('../../../src/aws/clients.js')
    const { listSnapshots } = await import('../../../src/aws/snapshots.js')
    const { formatSnapshots } = await import('../../../src/aws/format.js')
    const clients = new AwsClients(this.awsOptions(flags))
    try {
      const result = await listSnapshots(clients, {
        ...(target ? { target } : {}),
        ...(flags.service ? { service: flags.service as AwsService } : {}),
        ...(flags.origin ? { origin: flags.origin as 'manual' | 'automated' } : {}),
      })
      for (const s of result.skipped) this.warn(`${s.service} snapshots not listed: ${s.reason}`)
      this.log(formatSnapshots(result.snapshots))
      return result
    } finally {
      clients.destroy()
    }
  }
}
