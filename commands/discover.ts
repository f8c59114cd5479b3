import * as Flags from '@oclif/core/flags'
import { BaseCommand } from '../src/base-command.js'
import { UsageError } from '../src/errors.js'
import { connectionFlags, urlArg } from '../src/connect/flags.js'
import { discover, type DiscoveryReport } from '../src/connect/discover-service.js'
import { formatDiscovery } from '../src/connect/format.js'
import { awsConnectionFlags } from '../src/aws/flags.js'
import type { AwsDeployment } from '../src/aws/types.js'

export default class Discover extends BaseCommand {
  static override summary = 'Show topology, engine, provider and the commands the endpoint refuses'
  static override description =
    'Any one node is enough: replicas and cluster nodes are discovered. Refused commands are learned by probing, never assumed; nothing probed is executed. ' +
    'With --elasticache, --serverless or --memorydb the deployment is looked up at AWS first (endpoints, shards, nodes, TLS and auth settings, CloudWatch identities).'
  static override examples = [
    '<%= config.bin %> discover redis://127.0.0.1:7000',
    '<%= config.bin %> discover --user app rediss://my-cache.xxxx.cache.amazonaws.com:6379 --json',
    '<%= config.bin %> discover --profile sandbox:default',
    '<%= config.bin %> discover --elasticache orders --region us-east-1 --aws-only',
    '<%= config.bin %> discover --memorydb sessions --iam --user app',
  ]
  static override args = { url: urlArg }
  static override flags = {
    ...connectionFlags,
    ...awsConnectionFlags,
    'aws-only': Flags.boolean({
      description:
        'With --elasticache/--serverless/--memorydb: show what AWS reports, without connecting to the endpoint',
      helpGroup: 'AWS',
    }),
  }

  async run(): Promise<
    (DiscoveryReport & { aws?: AwsDeployment }) | { endpoint?: string; aws: AwsDeployment }
  > {
    const { args, flags } = await this.parse(Discover)
    // What AWS says on the way is part of discovering: plain lines, not warnings.
    const resolved = await this.resolveEndpoint(args.url, flags, { onNotice: (m) => this.diag(m) })
    const { aws } = resolved
    if (flags['aws-only']) {
      if (!aws)
        throw new UsageError('--aws-only needs --elasticache, --serverless or --memorydb (and no URL)')
      const { formatAwsDeployment } = await import('../src/aws/format.js')
      this.log(formatAwsDeployment(aws))
      return { ...(aws.url ? { endpoint: aws.url } : {}), aws }
    }
    const report = await discover(resolved.input)
    if (aws) {
      const { formatAwsDeployment } = await import('../src/aws/format.js')
      this.log(formatAwsDeployment(aws) + '\n')
    }
    this.log(formatDiscovery(report))
    return aws ? { ...report, aws } : report
  }
}
