import { BaseCommand } from '../src/base-command.js'
import { connectionFlags, urlArg } from '../src/connect/flags.js'
import { connectionInput } from '../src/connect/flags-input.js'
import { discover, type DiscoveryReport } from '../src/connect/discover-service.js'
import { formatDiscovery } from '../src/connect/format.js'

export default class Discover extends BaseCommand {
  static override summary = 'Show topology, engine, provider and the commands the endpoint refuses'
  static override description =
    'Any one node is enough: replicas and cluster nodes are discovered. Refused commands are learned by probing, never assumed; nothing probed is executed.'
  static override examples = [
    '<%= config.bin %> discover redis://127.0.0.1:7000',
    '<%= config.bin %> discover rediss://app@my-cache.xxxx.cache.amazonaws.com:6379 --json',
    '<%= config.bin %> discover --profile sandbox:default',
  ]
  static override args = { url: urlArg }
  static override flags = { ...connectionFlags }

  async run(): Promise<DiscoveryReport> {
    const { args, flags } = await this.parse(Discover)
    const report = await discover(connectionInput(args.url, flags))
    this.log(formatDiscovery(report))
    return report
  }
}
