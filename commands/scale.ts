import * as Flags from '@oclif/core/flags'
import { BaseCommand } from '../src/base-command.js'
import { Deployment } from '../src/connect/deployment.js'
import { profileSourcesWithSandboxes } from '../src/sandbox/profile-sources.js'
import { formatAddress } from '../src/connect/endpoint.js'
import { connectionFlags, urlArg } from '../src/connect/flags.js'
import { resolveConnectionSpec } from '../src/connect/options.js'
import { ExitCode, UsageError } from '../src/errors.js'
import { count, percent, seconds } from '../src/flags.js'
import { ClusterAdmin } from '../src/ops/scale/admin.js'
import { parseStallTimeout, stallTimeoutFlag } from '../src/ops/stall-flag.js'
import { fixOpenSlots, plannedFix, surveyOpenSlots, type FixReport } from '../src/ops/scale/fix.js'
import {
  formatFix,
  formatIncomplete,
  formatOpenSlots,
  formatPlan,
  formatReport,
  notAClusterRefusal,
  refusalMessage,
} from '../src/ops/scale/format.js'
import {
  executeScale,
  prepareScale,
  type ScaleContext,
  type ScalePlan,
  type ScaleReport,
} from '../src/ops/scale/scale.js'
import { findSandboxByAddress } from '../src/sandbox/grow.js'
import { confirmTyped } from '../src/ui/confirm.js'

export interface ScaleCommandResult {
  dryRun: boolean
  plan?: ScalePlan
  result?: ScaleReport
  fix?: FixReport
}

/** The commands self-managed scaling needs, as the capability probe names them. */
const NEEDED = ['cluster setslot', 'migrate']

export default class Scale extends BaseCommand {
  static override summary =
    "Change a Redis Cluster's shards or replicas under live traffic, or rebalance its slots"
  static override description =
    'Self-managed clusters: new nodes (started by the sandbox, or given with --add-node) meet the cluster, get replicas, ' +
    'and receive slots through the standard protocol (SETSLOT IMPORTING/MIGRATING, GETKEYSINSLOT + MIGRATE in pipelined batches, ' +
    'SETSLOT NODE to every primary); clients only see MOVED/ASK redirections. Scale-in drains the chosen shards and forgets their nodes. ' +
    '--fix settles slots an interrupted move left open. Managed services (ElastiCache, MemoryDB) refuse SETSLOT/MIGRATE: use `kvtop scale aws`.'
  static override examples = [
    '<%= config.bin %> scale redis://127.0.0.1:7000 --shards 5 --dry-run',
    '<%= config.bin %> scale redis://127.0.0.1:7000 --shards 5 --replicas 1 --yes',
    '<%= config.bin %> scale redis://10.0.0.5:6379 --shards 4 --add-node 10.0.0.9:6379 --add-node 10.0.0.10:6379',
    '<%= config.bin %> scale redis://127.0.0.1:7000 --rebalance --weights 127.0.0.1:7001=2',
    '<%= config.bin %> scale redis://127.0.0.1:7000 --fix',
  ]
  static override args = { url: urlArg }
  static override flags = {
    ...connectionFlags,
    shards: count({ description: 'Number of shards (primaries holding slots) afterwards', min: 1 }),
    replicas: count({
      description: 'Replicas per shard afterwards (new shards get this many too)',
      max: 5,
    }),
    rebalance: Flags.boolean({
      description: 'Even out the slots across the current shards (or by --weights)',
    }),
    weights: Flags.string({
      description:
        'Relative share of slots for a primary: NODE=WEIGHT (NODE: host:port or id; 0 drains it). Repeatable',
      multiple: true,
    }),
    'add-node': Flags.string({
      description:
        'An empty cluster-enabled node to add: HOST:PORT (repeatable; not needed for kvtop sandboxes). Its cluster bus port (cluster-port) is read from the node',
      multiple: true,
    }),
    'remove-shard': Flags.string({
      description: 'Scale in by removing this shard (its primary: host:port or id). Repeatable',
      multiple: true,
      aliases: ['remove'],
    }),
    fix: Flags.boolean({
      description: 'Settle slots left open (importing/migrating) by an interrupted move',
    }),
    'dry-run': Flags.boolean({ description: 'Print the plan and change nothing' }),
    yes: Flags.boolean({
      char: 'y',
      description: 'Do not ask for the typed confirmation (needed when not on a terminal, and with --json)',
    }),
    threshold: percent({
      description:
        "Balance tolerance in percent of a shard's ideal slot count (rebalance skips moves within it)",
      default: 2,
      positive: true,
    }),
    batch: count({ description: 'Keys per MIGRATE command', default: 1000, min: 1, max: 100_000 }),
    'migrate-timeout': seconds({
      description: 'MIGRATE timeout in seconds: a key that cannot move within it is reported as a big key',
      default: 10,
      positive: true,
    }),
    parallel: count({ description: 'Source shards migrating at the same time', default: 4, min: 1 }),
    'slot-group': count({
      description: 'Slots opened and closed together (fewer round trips; more slots open at once)',
      default: 128,
      min: 1,
      max: 1024,
    }),
    'stall-timeout': stallTimeoutFlag(),
  }

  async run(): Promise<ScaleCommandResult> {
    const { args, flags } = await this.parse(Scale)
    const modes = [
      flags.fix,
      flags.rebalance,
      flags.shards !== undefined || flags.replicas !== undefined || Boolean(flags['remove-shard']?.length),
    ].filter(Boolean).length
    if (modes === 0)
      throw new UsageError(
        'nothing to do: give --shards N, --replicas R, --remove-shard NODE, --rebalance or --fix',
      )
    if (flags.fix && modes > 1)
      throw new UsageError('--fix runs alone: settle the open slots first, then scale')
    if (flags.rebalance && (flags.shards !== undefined || flags['remove-shard']?.length))
      throw new UsageError('--rebalance keeps the shards as they are: leave out --shards and --remove-shard')
    if (flags.weights?.length && flags.fix) throw new UsageError('--weights does not apply to --fix')
    const threshold = flags.threshold
    const migrateTimeout = flags['migrate-timeout']
    const stallTimeoutMs = parseStallTimeout(flags['stall-timeout'])

    const { input } = await this.resolveEndpoint(args.url, flags)
    const spec = resolveConnectionSpec(input, process.env, profileSourcesWithSandboxes)
    spec.clientName = 'kvtop-scale'
    const deployment = await Deployment.connectSpec(spec, { probe: true })
    try {
      if (deployment.topology.mode !== 'cluster')
        throw notAClusterRefusal(
          formatAddress(spec.endpoint.host, spec.endpoint.port),
          deployment.topology.mode,
        )
      const needed = [...NEEDED]
      if (flags.shards !== undefined || flags.replicas !== undefined || flags['add-node']?.length)
        needed.push('cluster meet')
      const refused = refusalMessage(deployment.capabilities!, needed)
      if (refused) throw refused
    } finally {
      await deployment.close()
    }

    const endpoint = formatAddress(spec.endpoint.host, spec.endpoint.port)
    const admin = new ClusterAdmin(spec, spec.endpoint, { stallTimeoutMs })
    const sandbox = findSandboxByAddress(spec.endpoint.host, spec.endpoint.port)
    const ctx: ScaleContext = {
      admin,
      endpoint,
      seed: { host: spec.endpoint.host, port: spec.endpoint.port },
      ...(sandbox ? { sandbox } : {}),
      env: process.env,
    }
    const tuning = { batch: flags.batch, timeoutMs: migrateTimeout * 1000 }
    try {
      if (flags.fix)
        return await this.fix(admin, endpoint, tuning, flags['dry-run'], flags.yes, spec.timeoutMs)
      const prepared = await prepareScale(ctx, {
        shards: flags.shards,
        replicas: flags.replicas,
        rebalance: flags.rebalance,
        weights: flags.weights,
        addNodes: flags['add-node'],
        remove: flags['remove-shard'],
        thresholdPercent: threshold,
      })
      this.log(formatPlan(prepared.plan))
      if (flags['dry-run'] || prepared.plan.noop) return { dryRun: flags['dry-run'], plan: prepared.plan }
      await this.confirmChange(endpoint, flags.yes)

      const report = await this.runOperation(
        ({ signal, hardStop, emit }) =>
          executeScale(ctx, prepared, {
            tuning,
            parallel: flags.parallel,
            slotGroup: flags['slot-group'],
            onEvent: emit,
            signal,
            hardStop,
          }),
        {
          reporter: 'scale',
          secondInterrupt: 'abort',
          onInterrupt: () =>
            this.diag(
              'Stopping after the slots in flight (no slot is left open). Press Ctrl-C again to stop at once (then run `kvtop scale --fix`).',
            ),
        },
      )
      this.log('')
      this.log(formatReport(report))
      if (!report.complete) {
        this.resultExitCode = ExitCode.failed
        this.diag(formatIncomplete(report))
      }
      return { dryRun: false, plan: prepared.plan, result: report }
    } finally {
      await admin.close()
    }
  }

  private async fix(
    admin: ClusterAdmin,
    endpoint: string,
    tuning: { batch: number; timeoutMs: number },
    dryRun: boolean,
    yes: boolean,
    timeoutMs: number,
  ): Promise<ScaleCommandResult> {
    const survey = await surveyOpenSlots(admin)
    if (dryRun || survey.situations.length === 0) {
      const report = plannedFix(endpoint, survey)
      this.log(formatFix(report))
      return { dryRun, fix: report }
    }
    this.log(formatOpenSlots(survey))
    await this.confirmChange(endpoint, yes)
    const report = await this.runOperation(
      ({ emit }) => fixOpenSlots(admin, endpoint, { tuning, onEvent: emit, timeoutMs }, survey),
      // Settling a slot has no clean stopping point: Ctrl-C ends the process as it always did.
      { reporter: 'scale --fix', interruptible: false },
    )
    await admin.waitConsistent(60_000).catch((err: Error) => {
      report.warnings.push(`the cluster has not settled yet: ${err.message}`)
    })
    this.log(formatFix(report))
    if (report.settled < report.openSlots) this.resultExitCode = ExitCode.failed
    return { dryRun: false, fix: report }
  }

  /** A typed confirmation: the user types the endpoint's address. Never waits on a non-terminal or under --json. */
  private async confirmChange(endpoint: string, yes: boolean): Promise<void> {
    await confirmTyped(endpoint, 'the cluster', yes, this.jsonEnabled())
  }
}
