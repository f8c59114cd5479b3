import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import { BaseCommand } from '../../src/base-command.js'
import type { Profile } from '../../src/connect/config.js'
import { formatProfile } from '../../src/sandbox/profile-list.js'
import { findProfile } from '../../src/sandbox/profile-sources.js'
import { maskProfile } from '../../src/connect/profile-store.js'
import { redisCliCommand } from '../../src/connect/redis-cli.js'

export default class ConfigShow extends BaseCommand {
  static override summary =
    'Show one profile (passwords masked), or the redis-cli command line that connects as it does'
  static override description =
    'NAME is a profile of the config file or sandbox:NAME for a running sandbox. ' +
    'With --redis-cli: the redis-cli command line; it prompts for the password (--askpass) unless --show-password puts it in REDISCLI_AUTH. ' +
    'An IAM profile gets its token from kvtop auth token.'
  static override examples = [
    '<%= config.bin %> config show prod',
    '<%= config.bin %> config show sandbox:default --redis-cli',
    '<%= config.bin %> config show sandbox:mdb --redis-cli --show-password',
  ]
  static override args = {
    name: Args.string({ description: 'Profile name, or sandbox:NAME', required: true }),
  }
  static override flags = {
    'redis-cli': Flags.boolean({ description: 'Print the redis-cli command line instead' }),
    'show-password': Flags.boolean({
      description: 'With --redis-cli: put the password in the command line (REDISCLI_AUTH=...)',
      dependsOn: ['redis-cli'],
    }),
  }

  async run(): Promise<{ name: string; profile: Profile } | { name: string; redisCli: string } | undefined> {
    const { args, flags } = await this.parse(ConfigShow)
    const profile = findProfile(args.name)
    if (!flags['redis-cli']) {
      this.log(formatProfile(args.name, maskProfile(profile)))
      return { name: args.name, profile: maskProfile(profile) }
    }
    const command = redisCliCommand(args.name, profile, { showPassword: flags['show-password'] })
    if (!flags['show-password']) {
      this.log(command)
      return { name: args.name, redisCli: command }
    }
    // Asked for explicitly: written as is, not through redaction (which would mask the password).
    process.stdout.write(
      this.jsonEnabled()
        ? JSON.stringify({ name: args.name, redisCli: command }, null, 2) + '\n'
        : command + '\n',
    )
    return undefined
  }
}
