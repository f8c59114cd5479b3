import * as Flags from '@oclif/core/flags'
import { AwsCommand, waitFlags } from '../../../src/aws-command.js'
import { validateResourceName } from '../../../src/connect/resource-name.js'
import { awsAccountFlags } from '../../../src/aws/flags.js'
import type { ExportPlan, ExportResult } from '../../../src/aws/snapshot-export.js'
import type { AwsService } from '../../../src/aws/types.js'

export default class SnapshotAwsExport extends AwsCommand {
  static override summary = 'Export an ElastiCache or MemoryDB snapshot to S3 as .rdb files'
  static override description =
    "CopySnapshot with TargetBucket. Before copying, the bucket is checked: it must be in the snapshot's Region, grant the service the " +
    'access it needs (ElastiCache: an ACL grant to its canonical user in Regions enabled by default, a bucket policy for ' +
    '<region>.elasticache-snapshot.amazonaws.com in opt-in Regions; MemoryDB: a bucket policy for <region>.memorydb-snapshot.amazonaws.com), ' +
    'and not already hold the keys. The service writes one object per shard: <prefix>-0001.rdb, <prefix>-0002.rdb ...'
  static override examples = [
    '<%= config.bin %> snapshot aws export --name orders-before-migration --bucket my-exports',
    '<%= config.bin %> snapshot aws export --name nightly --bucket my-exports --service memorydb --prefix sessions-2024-06-01',
  ]
  static override flags = {
    name: Flags.string({ description: 'Snapshot to export', required: true }),
    bucket: Flags.string({ description: 'S3 bucket, in the same Region as the snapshot', required: true }),
    prefix: Flags.string({
      description: 'Object key prefix (TargetSnapshotName); default: the snapshot name',
    }),
    service: Flags.string({
      description: 'Where the snapshot is (default: ElastiCache, then MemoryDB)',
      options: ['elasticache', 'memorydb'],
    }),
    'skip-bucket-check': Flags.boolean({
      description: 'Do not check the bucket before copying (AWS still does)',
    }),
    ...awsAccountFlags,
    ...waitFlags,
  }

  async run(): Promise<ExportResult | undefined> {
    const { flags } = await this.parse(SnapshotAwsExport)
    validateResourceName('bucket', flags.bucket)
    if (flags.prefix !== undefined) validateResourceName('prefix', flags.prefix)
    const wait = this.waitOptions(flags)
    const { AwsClients } = await import('../../../src/aws/clients.js')
    const { exportSnapshot } = await import('../../../src/aws/snapshot-export.js')
    const { formatExportPlan, formatExportResult, formatBucketCheck, formatSkippedCheck } =
      await import('../../../src/aws/format.js')
    const clients = new AwsClients(this.awsOptions(flags))
    try {
      // The plan (object keys, bucket permission) goes to stderr, or as `plan` / `check` events under
      // --json, so that it is seen before the copy and the wait.
      let planned: ExportPlan | undefined
      const result = await exportSnapshot(clients, {
        ...wait,
        name: flags.name,
        bucket: flags.bucket,
        ...(flags.prefix ? { prefix: flags.prefix } : {}),
        ...(flags.service ? { service: flags.service as AwsService } : {}),
        skipBucketCheck: flags['skip-bucket-check'],
        onPlan: (plan) => {
          planned = plan
          this.event('plan', {
            bucket: plan.bucket,
            region: plan.region,
            snapshot: plan.snapshot.name,
            keys: plan.keys,
          })
          if (this.jsonEnabled()) return
          this.diag(formatExportPlan(plan))
          if (flags['skip-bucket-check']) this.diag(formatSkippedCheck(plan))
        },
        onCheck: (check) => {
          this.event('check', check)
          if (!this.jsonEnabled() && planned) this.diag(formatBucketCheck(check, planned))
        },
      })
      this.log(
        wait.wait
          ? formatExportResult(result)
          : `Export started; the objects will be:\n${result.uris.map((u) => `  ${u}`).join('\n')}`,
      )
      return result
    } finally {
      clients.destroy()
    }
  }
}
