import * as Flags from '@oclif/core/flags'
import { AwsCommand, waitFlags } from '../../src/aws-command.js'
import { validateResourceName } from '../../src/connect/resource-name.js'
import { awsAccountFlags } from '../../src/aws/flags.js'
import type { ExportPlan } from '../../src/aws/snapshot-export.js'
import { pairFlags, sideInput } from '../../src/pair-flags.js'
import { ExitCode } from '../../src/errors.js'
import type { MigrateAwsRequest } from '../../src/ops/migrate-aws/request.js'
import type { MigrateAwsReport, PlannedCall } from '../../src/ops/migrate-aws/types.js'
import type { OperationEvent } from '../../src/ops/events.js'

export default class MigrateAws extends AwsCommand {
  static override summary =
    "Migrate ElastiCache to MemoryDB through AWS's snapshot path, every step driven and checked"
  static override description =
    'ElastiCache CreateSnapshot, wait; CopySnapshot to S3 (the bucket is checked first), wait; MemoryDB CreateCluster with SnapshotArns, wait; ' +
    'then key counts on both sides and kvtop verify where both endpoints are reachable from here. ' +
    'Every step is recorded in a state file (--state): run the same command again after an interruption and it resumes at the step it left. ' +
    '--dry-run prints the exact API calls in order. Writes made to the source after the snapshot are not copied: follow with migrate run --live --replace. ' +
    'It creates billable AWS resources (a snapshot, S3 objects, a MemoryDB cluster): on a terminal it asks first; elsewhere, and with --json, it needs --yes (exit 2 without it, nothing created). ' +
    "The new cluster's ACL must be named with --acl; MemoryDB's open-access ACL (no authentication) is refused unless --allow-open-access."
  static override examples = [
    '<%= config.bin %> migrate aws --elasticache orders --memorydb orders-mdb --bucket my-exports --acl orders-acl --dry-run',
    '<%= config.bin %> migrate aws --elasticache orders --memorydb orders-mdb --bucket my-exports --node-type db.r6g.large --shards 4 --replicas 1 --acl orders-acl --subnet-group private --yes',
  ]
  static override flags = {
    elasticache: Flags.string({
      description: 'Source ElastiCache replication group',
      required: true,
      aliases: ['from-elasticache'],
    }),
    memorydb: Flags.string({
      description: 'MemoryDB cluster to create',
      required: true,
      aliases: ['to-memorydb'],
    }),
    bucket: Flags.string({ description: 'S3 bucket for the export, in the same Region', required: true }),
    'node-type': Flags.string({ description: "MemoryDB node type (default: the source's, cache.X -> db.X)" }),
    shards: Flags.integer({ description: "Shards of the new cluster (default: the source's)", min: 1 }),
    replicas: Flags.integer({ description: "Replicas per shard (default: the source's)", min: 0, max: 5 }),
    acl: Flags.string({
      description:
        "MemoryDB ACL of the new cluster (required; a resume takes the state file's). 'open-access' needs --allow-open-access",
    }),
    'allow-open-access': Flags.boolean({
      description:
        'Allow --acl open-access: any client may connect to the new cluster without authentication',
    }),
    yes: Flags.boolean({
      char: 'y',
      description:
        'Create the billable resources without asking (needed when not on a terminal, and with --json)',
    }),
    'subnet-group': Flags.string({ description: 'MemoryDB subnet group of the new cluster' }),
    'snapshot-name': Flags.string({
      description: 'Name of the ElastiCache snapshot (default: kvtop-RG-TIME)',
    }),
    prefix: Flags.string({ description: 'S3 object key prefix (default: the snapshot name)' }),
    state: Flags.string({
      description:
        'State file: every step recorded; an existing one is resumed (default: kvtop-migrate-aws-NAME.json)',
    }),
    'dry-run': Flags.boolean({ description: 'Print the API calls in order, create nothing' }),
    verify: Flags.boolean({
      description: 'Run kvtop verify after the key counts (--no-verify to skip)',
      default: true,
      allowNo: true,
    }),
    source: Flags.string({
      ...pairFlags.source,
      required: false,
      description:
        'For the comparison: the source as a URL with its credentials, or a profile (default: its AWS endpoint)',
    }),
    target: Flags.string({
      ...pairFlags.target,
      required: false,
      description:
        'For the comparison: the new cluster as a URL with its credentials, or a profile (default: its AWS endpoint)',
    }),
    'tls-ca': pairFlags['tls-ca'],
    insecure: pairFlags.insecure,
    timeout: pairFlags.timeout,
    'poll-interval': waitFlags['poll-interval'],
    'wait-timeout': waitFlags['wait-timeout'],
    ...awsAccountFlags,
  }

  private async parseFlags() {
    return (await this.parse(MigrateAws)).flags
  }

  async run(): Promise<MigrateAwsReport | { dryRun: true; calls: PlannedCall[] }> {
    const flags = await this.parseFlags()
    for (const f of [
      'elasticache',
      'memorydb',
      'bucket',
      'acl',
      'subnet-group',
      'snapshot-name',
      'prefix',
    ] as const)
      if (flags[f] !== undefined) validateResourceName(f, flags[f])
    const { AwsClients } = await import('../../src/aws/clients.js')
    const request: MigrateAwsRequest = {
      source: flags.elasticache,
      target: flags.memorydb,
      bucket: flags.bucket,
      statePath: flags.state ?? `kvtop-migrate-aws-${flags.memorydb}.json`,
      snapshotName: flags['snapshot-name'],
      prefix: flags.prefix,
      nodeType: flags['node-type'],
      shards: flags.shards,
      replicas: flags.replicas,
      acl: flags.acl,
      allowOpenAccess: flags['allow-open-access'],
      subnetGroup: flags['subnet-group'],
    }
    const clients = new AwsClients(this.awsOptions(flags))
    try {
      return await this.migrate(clients, request, flags)
    } finally {
      clients.destroy()
    }
  }

  private async migrate(
    clients: InstanceType<typeof import('../../src/aws/clients.js').AwsClients>,
    request: MigrateAwsRequest,
    flags: Awaited<ReturnType<MigrateAws['parseFlags']>>,
  ): Promise<MigrateAwsReport | { dryRun: true; calls: PlannedCall[] }> {
    const [{ planAwsMigration }, { runAwsMigration }] = await Promise.all([
      import('../../src/ops/migrate-aws/preflight.js'),
      import('../../src/ops/migrate-aws/run.js'),
    ])
    const { formatAwsMigration, formatPlannedCalls } = await import('../../src/ops/migrate-aws/format.js')
    const { formatExportPlan, formatBucketCheck } = await import('../../src/aws/format.js')
    let exportPlan: ExportPlan | undefined
    if (flags['dry-run']) {
      const plan = await planAwsMigration(clients, request)
      const resumeAt = plan.state ? Object.entries(plan.state.steps).find(([, s]) => !s.done)?.[0] : undefined
      this.log(formatPlannedCalls(plan.params, plan.calls, resumeAt))
      return { dryRun: true, calls: plan.calls }
    }
    // Waits print a line per status change (AwsCommand.phase): the steps are lines too, no live view.
    const onEvent = (e: OperationEvent) => {
      if (this.jsonEnabled()) this.emitEventLine({ ...e, at: Date.now() })
      else if (e.type === 'phase')
        this.diag(`== ${String(e.phase)}${e.detail ? `: ${String(e.detail)}` : ''}`)
      else if (e.type === 'warning') this.diag(`Warning: ${String(e.message)}`)
    }
    {
      const report = await runAwsMigration(clients, request, {
        wait: this.waitOptions({ ...flags, wait: true }),
        ...(flags.source ? { sourceInput: sideInput(flags.source, flags) } : {}),
        ...(flags.target ? { targetInput: sideInput(flags.target, flags) } : {}),
        verify: flags.verify,
        onEvent,
        confirm: ({ params, resumedAt }) => {
          const what = [
            ...(!resumedAt || resumedAt === 'snapshot'
              ? [`an ElastiCache snapshot of '${params.source}'`]
              : []),
            ...(!resumedAt || resumedAt === 'snapshot' || resumedAt === 'export'
              ? [`its export to s3://${params.bucket}/`]
              : []),
            `MemoryDB cluster '${params.target}' (${params.shards} shard(s) x ${params.replicas} replica(s), ${params.nodeType}, ACL ${params.acl}, ${params.region})`,
          ]
          return this.confirm(
            `${resumedAt ? `Resuming at step ${resumedAt}. ` : ''}Create billable AWS resources: ${what.join(', ')}?`,
            {
              yes: flags.yes,
              action: `create MemoryDB cluster '${params.target}'${resumedAt ? '' : ' and its snapshot'}`,
              nothingDone: resumedAt ? 'nothing more was created' : 'nothing was created',
              hint: 'Review the AWS calls first with --dry-run.',
            },
          )
        },
        onPlan: (plan) => {
          this.event('plan', {
            bucket: plan.bucket,
            region: plan.region,
            snapshot: plan.snapshot.name,
            keys: plan.keys,
          })
          exportPlan = plan
          if (!this.jsonEnabled()) this.diag(formatExportPlan(plan))
        },
        onCheck: (check) => {
          this.event('check', check)
          if (!this.jsonEnabled() && exportPlan) this.diag(formatBucketCheck(check, exportPlan))
        },
      })
      this.log(formatAwsMigration(report))
      if (report.matched === false) this.resultExitCode = ExitCode.answerNo
      return report
    }
  }
}
