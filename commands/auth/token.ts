import * as Flags from '@oclif/core/flags'
import { UsageError } from '../../src/errors.js'
import { AwsCommand } from '../../src/aws-command.js'
import { awsTargetFromFlags } from '../../src/aws/target.js'
import { awsTargetFlags } from '../../src/aws/flags.js'
import { serviceOf } from '../../src/aws/types.js'

export default class AuthToken extends AwsCommand {
  static override summary = 'Print an ElastiCache or MemoryDB IAM auth token'
  static override description =
    'A SigV4-presigned token valid for 15 minutes, signed locally with the AWS credentials in use (no AWS call). Use it as the ' +
    'password of the IAM-enabled user, over TLS. kvtop commands do this themselves with --iam.'
  static override examples = [
    '<%= config.bin %> auth token --elasticache orders --user app',
    'REDISCLI_AUTH=$(<%= config.bin %> auth token --memorydb sessions --user app --region eu-west-1) redis-cli --tls --user app -h clustercfg.sessions...',
  ]
  static override flags = {
    ...awsTargetFlags,
    user: Flags.string({
      description: 'The IAM-enabled user (ElastiCache: its id, which must equal its name)',
      required: true,
    }),
  }

  async run(): Promise<undefined> {
    const { flags } = await this.parse(AuthToken)
    const target = awsTargetFromFlags(flags)
    if (!target)
      throw new UsageError(
        'name the resource: --elasticache REPLICATION_GROUP, --serverless CACHE or --memorydb CLUSTER',
      )
    const { AwsClients } = await import('../../src/aws/clients.js')
    const { generateIamAuthToken, IAM_TOKEN_TTL_SECONDS } = await import('../../src/aws/iam-token.js')
    const clients = new AwsClients(this.awsOptions(flags))
    try {
      const region = await clients.region()
      const credentials = await clients.credentials()
      const signedAt = new Date()
      const token = await generateIamAuthToken({
        service: serviceOf(target.kind),
        resourceName: target.name,
        serverless: target.kind === 'serverless',
        user: flags.user,
        region,
        credentials,
        signingDate: signedAt,
      })
      // The token is the requested output: written as is, not through redaction (which would mask
      // its X-Amz-Signature), and nowhere else.
      if (this.jsonEnabled()) {
        const doc = {
          token,
          user: flags.user,
          resource: target.name,
          service: serviceOf(target.kind),
          serverless: target.kind === 'serverless',
          region,
          // X-Amz-Date has whole seconds: the token expires 900 s after that second.
          expiresAt: Math.floor(signedAt.getTime() / 1000) * 1000 + IAM_TOKEN_TTL_SECONDS * 1000,
        }
        process.stdout.write(JSON.stringify(doc, null, 2) + '\n')
      } else {
        process.stdout.write(token + '\n')
      }
      if (
        credentials.expiration &&
        credentials.expiration.getTime() < signedAt.getTime() + IAM_TOKEN_TTL_SECONDS * 1000
      ) {
        this.warn(
          `the AWS credentials expire at ${credentials.expiration.toISOString()}, before the token does`,
        )
      }
      return undefined
    } finally {
      clients.destroy()
    }
  }
}
