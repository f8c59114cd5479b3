import * as Flags from '@oclif/core/flags'
import { BaseCommand } from '../../src/base-command.js'
import { ENGINES, type ServerEngine } from '../../src/sandbox/binary.js'
import { FLAVORS, type Flavor } from '../../src/sandbox/flavors.js'
import { sandboxUp, type SandboxSummary } from '../../src/sandbox/sandbox.js'
import { formatSandbox } from '../../src/sandbox/format.js'
import { kvtopInvocation } from '../../src/invocation.js'

export default class SandboxUp extends BaseCommand {
  static override summary =
    'Start a local sandbox of real redis-server or valkey-server processes on 127.0.0.1'
  static override description =
    'Standalone (--shards 0), primary with replicas (--shards 0 --replicas R) or a Redis Cluster of N shards x R replicas. ' +
    'Flavors rehearse managed services: elasticache and memorydb refuse, through ACLs, the commands those services refuse. ' +
    '--engine redis runs KVTOP_REDIS_SERVER or redis-server on PATH; --engine valkey runs KVTOP_VALKEY_SERVER, valkey-server on PATH, ' +
    'or the Valkey build under ${KVTOP_VALKEY_CACHE:-${XDG_CACHE_HOME:-~/.cache}/kvtop-valkey}. Without --engine: redis when found, else valkey-server on PATH.'
  static override examples = [
    '<%= config.bin %> sandbox up',
    '<%= config.bin %> sandbox up --shards 0 --replicas 1 --name solo',
    '<%= config.bin %> sandbox up --flavor memorydb --shards 2 --name mdb --json',
    '<%= config.bin %> sandbox up --engine valkey --flavor elasticache --name vk',
  ]
  static override flags = {
    shards: Flags.integer({ description: 'Cluster shards; 0 for a non-cluster server', default: 3 }),
    replicas: Flags.integer({ description: 'Replicas per shard (or of the standalone primary)', default: 1 }),
    port: Flags.integer({
      description: 'First port (consecutive ports follow); default: free ports found at run time',
    }),
    flavor: Flags.string({ description: 'Which service to rehearse', options: FLAVORS, default: 'redis' }),
    engine: Flags.string({
      description: 'Which server to run (default: redis when found, else valkey)',
      options: ENGINES,
    }),
    name: Flags.string({ description: 'Sandbox name (several can run at once)', default: 'default' }),
    user: Flags.string({ description: "Client ACL user (memorydb flavor default: 'kvtop')" }),
    password: Flags.string({
      description: 'Client password (memorydb flavor: generated when absent); also KVTOP_SANDBOX_PASSWORD',
    }),
  }

  async run(): Promise<SandboxSummary> {
    const { flags } = await this.parse(SandboxUp)
    const summary = await sandboxUp({
      name: flags.name,
      shards: flags.shards,
      replicas: flags.replicas,
      port: flags.port,
      flavor: flags.flavor as Flavor,
      engine: flags.engine as ServerEngine | undefined,
      user: flags.user,
      password: flags.password ?? process.env.KVTOP_SANDBOX_PASSWORD,
      onPhase: (phase, detail) => {
        if (process.stderr.isTTY && !this.jsonEnabled()) this.diag(`${phase}: ${detail ?? ''}`)
      },
    })
    this.log(formatSandbox(summary))
    this.log('')
    this.log(`Connect with: ${kvtopInvocation()} discover --profile sandbox:${summary.name}`)
    return summary
  }
}
