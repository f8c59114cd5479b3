import * as Flags from '@oclif/core/flags'
import { AwsCommand, waitFlags } from '../../src/aws-command.js'
import { count, percent } from '../../src/flags.js'
import { awsTargetFromFlags } from '../../src/aws/target.js'
import { awsNodeTargetFlags, connectionInputWithAws } from '../../src/aws/flags.js'
import { profileSourcesWithSandboxes } from '../../src/sandbox/profile-sources.js'
import { connectionFlags, urlArg } from '../../src/connect/flags.js'
import { connectionInput } from '../../src/connect/flags-input.js'
import { resolveConnectionSpec } from '../../src/connect/options.js'
import { ExitCode, UsageError } from '../../src/errors.js'
import { ClusterAdmin } from '../../src/ops/scale/admin.js'
import {
  executeAwsScale,
  prepareAwsScale,
  type AwsScalePlan,
  type AwsScaleResult,
} from '../../src/ops/scale/aws.js'
import { formatAwsPlan, formatAwsResult, formatSlotsNotShown } from '../../src/ops/scale/format.js'
import { SlotWatch } from '../../src/ops/scale/slot-watch.js'
import { confirmTyped } from '../../src/ui/confirm.js'

export interface ScaleAwsResult {
  dryRun: boolean
  plan: AwsScalePlan
  result?: AwsScaleResult
}

export default class ScaleAws extends AwsCommand {
  static override summary =
    'Scale an ElastiCache replication group or a MemoryDB cluster through the AWS APIs'
  static override description =
    'Shards (ModifyReplicationGroupShardConfiguration / UpdateCluster), replicas (Increase/DecreaseReplicaCount / UpdateCluster) ' +
    'and node type (ModifyReplicationGroup / UpdateCluster). Preflight: the deployment is available, no snapshot is being taken, ' +
    'and each shard keeps memory headroom after the change (CloudWatch). On ElastiCache scale-in kvtop names the node groups to ' +
    'remove (the ones holding the least data, or --remove-shard) and says why. Each step waits until the deployment is available ' +
    'again; where the endpoint is reachable the slot distribution is shown as it moves.'
  static override examples = [
    '<%= config.bin %> scale aws --elasticache orders --shards 4 --dry-run',
    '<%= config.bin %> scale aws --elasticache orders --shards 2 --yes',
    '<%= config.bin %> scale aws --elasticache orders --replicas 2 --yes',
    '<%= config.bin %> scale aws --memorydb sessions --node-type db.r7g.xlarge --yes',
  ]
  static override args = { url: urlArg }
  static override flags = {
    ...awsNodeTargetFlags,
    ...connectionFlags,
    iam: Flags.boolean({
      description:
        'Watch the slots over an IAM-authenticated connection (TLS; --user names the IAM-enabled user)',
      helpGroup: 'AWS',
    }),
    shards: count({ description: 'Number of shards (node groups) afterwards', min: 1 }),
    replicas: Flags.integer({ description: 'Replicas per shard afterwards' }),
    'node-type': Flags.string({
      description: 'Node type afterwards, e.g. cache.r7g.xlarge or db.r7g.xlarge',
    }),
    'remove-shard': Flags.string({
      description:
        'ElastiCache scale-in: a node group id to remove (repeatable; default: those holding the least data)',
      multiple: true,
    }),
    'memory-limit': percent({
      description: 'Refuse when a shard would use more than this percent of its memory afterwards',
      default: 90,
      min: 1,
      max: 100,
    }),
    'ignore-memory-limit': Flags.boolean({
      description: 'Go ahead although the memory check advises against it (--force: deprecated name)',
      aliases: ['force'],
      deprecateAliases: true,
    }),
    'dry-run': Flags.boolean({
      description: 'Print the plan and change nothing (exit 1 when it has blockers)',
    }),
    yes: Flags.boolean({
      char: 'y',
      description: 'Do not ask for the typed confirmation (needed when not on a terminal, and with --json)',
    }),
    'watch-slots': Flags.boolean({
      description: 'While AWS works, show the slot distribution when the endpoint is reachable',
      default: true,
      allowNo: true,
    }),
    ...waitFlags,
  }

  async run(): Promise<ScaleAwsResult | undefined> {
    const { args, flags } = await this.parse(ScaleAws)
    const target = awsTargetFromFlags(flags)
    if (!target)
      throw new UsageError('name the deployment: --elasticache REPLICATION_GROUP or --memorydb CLUSTER', {
        hint: 'Self-managed clusters scale with `kvtop scale URL`.',
      })
    if (flags.shards === undefined && flags.replicas === undefined && flags['node-type'] === undefined)
      throw new UsageError('nothing to do: give --shards N, --replicas R or --node-type T')
    const { AwsClients } = await import('../../src/aws/clients.js')
    const clients = new AwsClients(this.awsOptions(flags))
    let slotWatch: SlotWatch | undefined
    let closeConnection = () => {}
    try {
      const plan = await prepareAwsScale(clients, {
        target,
        shards: flags.shards,
        replicas: flags.replicas,
        nodeType: flags['node-type'],
        removeShards: flags['remove-shard'],
        memoryLimitPercent: flags['memory-limit'],
        force: flags['ignore-memory-limit'],
      })
      if (!this.jsonEnabled()) this.log(formatAwsPlan(plan))
      if (flags['dry-run'] || plan.noop) {
        if (plan.blockers.length && flags['dry-run']) this.resultExitCode = ExitCode.answerNo
        return { dryRun: flags['dry-run'], plan }
      }
      if (plan.blockers.length)
        throw new UsageError(
          `refusing to scale: ${plan.blockers.length} blocker(s): ${plan.blockers.join('; ')}`,
          {
            code: 'blocked',
            hint: 'Review the plan with --dry-run.',
          },
        )
      await confirmTyped(target.name, plan.target.description, flags.yes, this.jsonEnabled())
      // From here on, with --json and waiting, stdout is NDJSON: plan, phases, slots, done.
      const waitOptions = this.waitOptions(flags)
      this.event('plan', { plan })

      // Watch the slots move, when the data plane answers.
      let admin: ClusterAdmin | undefined
      const url = args.url ?? plan.url
      if (flags['watch-slots'] && url && waitOptions.wait) {
        try {
          const connection = flags.iam
            ? await connectionInputWithAws(url, flags, { onNotice: (m) => this.diag(m) })
            : { input: connectionInput(url, flags), close: () => {} }
          closeConnection = connection.close
          const spec = resolveConnectionSpec(connection.input, process.env, profileSourcesWithSandboxes)
          spec.timeoutMs = Math.min(spec.timeoutMs, 3000)
          spec.clientName = 'kvtop-scale-aws'
          admin = new ClusterAdmin(spec)
        } catch (err) {
          this.diag(formatSlotsNotShown(err))
        }
      }
      const watch = (slotWatch = new SlotWatch(admin, {
        changed: (shards, line) => (this.jsonEnabled() ? this.event('slots', { shards }) : this.diag(line)),
        failed: (message) => this.diag(message),
      }))
      const showSlots = () => watch.poll()
      await showSlots()
      const result = await executeAwsScale(clients, plan, { ...waitOptions, onPoll: showSlots })
      await showSlots()
      if (!this.jsonEnabled()) this.log(formatAwsResult(result))
      return { dryRun: false, plan, result }
    } finally {
      await slotWatch?.close()
      closeConnection()
      clients.destroy()
    }
  }
}
