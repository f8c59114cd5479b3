import * as Args from '@oclif/core/args'
import { BaseCommand } from '../../src/base-command.js'
import { configPath } from '../../src/connect/config.js'
import { removeProfile } from '../../src/connect/profile-store.js'

export default class ConfigRemove extends BaseCommand {
  static override summary = 'Remove a named connection profile'
  static override examples = ['<%= config.bin %> config remove prod']
  static override args = { name: Args.string({ description: 'Profile name', required: true }) }

  async run(): Promise<{ removed: string; path: string }> {
    const { args } = await this.parse(ConfigRemove)
    await removeProfile(args.name)
    const path = configPath()
    this.log(`Profile '${args.name}' removed from ${path}.`)
    return { removed: args.name, path }
  }
}
