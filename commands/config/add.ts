import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import { BaseCommand } from '../../src/base-command.js'
import { awsConnectionFlags } from '../../src/aws/flags.js'
import { configPath, type Profile } from '../../src/connect/config.js'
import { connectionFlags } from '../../src/connect/flags.js'
import { addProfile, maskProfile, profileFromFlags } from '../../src/connect/profile-store.js'
import { UsageError } from '../../src/errors.js'
import { readPasswordFromStdin } from '../../src/ui/stdin-secret.js'

export default class ConfigAdd extends BaseCommand {
  static override summary = 'Add a named connection profile (every connection setting, AWS and IAM included)'
  static override description =
    'Writes the profile into the config file (~/.config/kvtop/config.json, or $XDG_CONFIG_HOME/kvtop) atomically, mode 0600. ' +
    "A password in --url is stored in the profile's own field; --password-stdin reads one from standard input (never from the command line). " +
    'Use the profile with --profile NAME, or as --source / --target NAME.'
  static override examples = [
    '<%= config.bin %> config add prod --url rediss://ops@prod.xxxx.cache.amazonaws.com:6379 --tls-ca ca.pem --password-stdin < pw.txt',
    '<%= config.bin %> config add orders --elasticache orders --region eu-west-1 --aws-profile ops',
    '<%= config.bin %> config add sessions --memorydb sessions --iam --user app --region us-east-1',
  ]
  static override args = { name: Args.string({ description: 'Profile name', required: true }) }
  static override flags = {
    url: Flags.string({ description: 'Endpoint: redis[s]://[user[:password]@]host[:port][/db]' }),
    user: connectionFlags.user,
    'password-stdin': Flags.boolean({ description: 'Read the password from standard input (one line)' }),
    'tls-ca': connectionFlags['tls-ca'],
    insecure: connectionFlags.insecure,
    timeout: connectionFlags.timeout,
    'nat-map': connectionFlags['nat-map'],
    elasticache: awsConnectionFlags.elasticache,
    serverless: awsConnectionFlags.serverless,
    memorydb: awsConnectionFlags.memorydb,
    region: awsConnectionFlags.region,
    'aws-profile': awsConnectionFlags['aws-profile'],
    iam: awsConnectionFlags.iam,
    replace: Flags.boolean({ description: 'Replace a profile of the same name (refused otherwise, exit 2)' }),
  }

  async run(): Promise<{ name: string; path: string; profile: Profile }> {
    const { args, flags } = await this.parse(ConfigAdd)
    const password = flags['password-stdin'] ? await readPasswordFromStdin() : undefined
    if (flags['password-stdin'] && !password)
      throw new UsageError('--password-stdin: standard input held no password')
    if (password !== undefined && flags.iam)
      throw new UsageError('an IAM profile has no password: the tokens are made from AWS credentials')
    const profile = profileFromFlags({ ...flags, ...(password !== undefined ? { password } : {}) })
    await addProfile(args.name, profile, { replace: flags.replace })
    const path = configPath()
    this.log(`Profile '${args.name}' saved in ${path}. Use it with --profile ${args.name}.`)
    return { name: args.name, path, profile: maskProfile(profile) }
  }
}
