import * as Flags from '@oclif/core/flags'
import { UsageError } from '../../../src/errors.js'
import { AwsCommand, waitFlags } from '../../../src/aws-command.js'
import { awsTargetFromFlags } from '../../../src/aws/target.js'
import { awsNodeTargetFlags } from '../../../src/aws/flags.js'
import type { CreateResult } from '../../../src/aws/snapshots.js'

export default class SnapshotAwsCreate extends AwsCommand {
  static override summary = 'Create an ElastiCache or MemoryDB snapshot and wait until it is available'
  static override description =
    'CreateSnapshot of a replication group (or single cache cluster) or a MemoryDB cluster. Status changes are printed with the time elapsed; ' +
    'if the snapshot fails, the reason AWS logged is shown. Running it again with the same name resumes waiting on that snapshot.'
  static override examples = [
    '<%= config.bin %> snapshot aws create --elasticache orders --name orders-before-migration',
    '<%= config.bin %> snapshot aws create --memorydb sessions --name nightly --region eu-west-1 --json',
  ]
  static override flags = {
    ...awsNodeTargetFlags,
    name: Flags.string({ description: 'Name of the new snapshot', required: true }),
    ...waitFlags,
  }

  async run(): Promise<CreateResult | undefined> {
    const { flags } = await this.parse(SnapshotAwsCreate)
    const target = awsTargetFromFlags(flags)
    if (!target)
      throw new UsageError('name the deployment to snapshot: --elasticache RG or --memorydb CLUSTER')
    const wait = this.waitOptions(flags)
    const { AwsClients } = await import('../../../src/aws/clients.js')
    const { createAwsSnapshot } = await import('../../../src/aws/snapshots.js')
    const { formatSnapshot } = await import('../../../src/aws/format.js')
    const { formatElapsed } = await import('../../../src/aws/waiter.js')
    const clients = new AwsClients(this.awsOptions(flags))
    try {
      const result = await createAwsSnapshot(clients, target, flags.name, wait)
      if (result.resumed)
        this.diag(`Snapshot ${flags.name} already existed for ${target.name}: waited on it.`)
      this.log(formatSnapshot(result.snapshot))
      if (wait.wait) this.log(`Done in ${formatElapsed(result.elapsedMs)}.`)
      else this.log('Not waiting: follow it with kvtop snapshot aws list.')
      return result
    } finally {
      clients.destroy()
    }
  }
}
