import { BaseCommand } from '../../src/base-command.js'
import { configPath } from '../../src/connect/config.js'
import { formatProfiles, listProfiles, type ProfileEntry } from '../../src/sandbox/profile-list.js'

export default class ConfigList extends BaseCommand {
  static override summary =
    'List the connection profiles, and the running sandboxes (sandbox:NAME); passwords masked'
  static override examples = ['<%= config.bin %> config list', '<%= config.bin %> config list --json']

  async run(): Promise<{ path: string; profiles: ProfileEntry[] }> {
    await this.parse(ConfigList)
    const path = configPath()
    const profiles = listProfiles()
    this.log(formatProfiles(profiles, path))
    return { path, profiles }
  }
}
