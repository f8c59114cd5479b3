import * as Flags from '@oclif/core/flags'
import { BaseCommand } from '../../src/base-command.js'
import { parseStallTimeout, stallTimeoutFlag } from '../../src/ops/stall-flag.js'
import { pairConnectionFlags } from '../../src/pair-flags.js'
import { parseDbMap } from '../../src/data/db-map.js'
import { ExitCode, UsageError } from '../../src/errors.js'
import { formatMigration } from '../../src/ops/migrate/format.js'
import { runMigration } from '../../src/ops/migrate/migrate.js'
import { parseSlotRange } from '../../src/ops/migrate/slot-range.js'
import type { MigrateMode, MigrateReport, ReadMethod } from '../../src/ops/migrate/types.js'

export default class MigrateRun extends BaseCommand {
  static override summary = 'Copy a live dataset to another deployment without losing a key; resumable'
  static override description =
    'SCAN + DUMP + PEXPIRETIME pipelined on every source primary in parallel, RESTORE routed by slot on the target. ' +
    '--live subscribes to keyspace notifications before the scan (every class must be on: a partial notify-keyspace-events is refused) and keeps copying changed keys (deleting gone ones) until Ctrl-C ' +
    '(or --until-synced), showing the lag; a Ctrl-C with changes still pending is exit 5. --checkpoint FILE is written every few seconds and locked while a run uses it: after a crash or Ctrl-C the same command resumes ' +
    '(a source shard whose server process changed, a restart or a failover, is scanned again from the start). ' +
    'Slots being moved are refused before the copy; a source topology that changed during it is exit 5 (run the same command again). ' +
    "A target that cannot read the source's DUMP payloads (an older RDB version: Valkey 8 to Redis 7.0) is refused before the copy (exit 2) unless --mode logical, or --mode auto, which chooses. " +
    "--read sync reads every source primary's replication snapshot (SYNC) instead of SCAN + DUMP: the source forks once and streams its RDB, kvtop RESTOREs its keys as they arrive; with --live the changes of a shard seen during its snapshot are copied once its snapshot is written (an older snapshot value never overwrites a newer one); a shard is checkpointed once its snapshot is written, and a resume reads an unfinished one again from a new SYNC. " +
    'verify runs at the end unless --no-verify (within --max-ops). A non-empty target is refused unless --replace (which asks first on a terminal, and needs --yes elsewhere).'
  static override examples = [
    '<%= config.bin %> migrate run --source rediss://ec.xxxx.cache.amazonaws.com:6379 --target rediss://clustercfg.mdb.xxxx.memorydb.us-east-1.amazonaws.com:6379 --live --checkpoint orders.ckpt',
    '<%= config.bin %> migrate run --source sandbox:ec --target sandbox:mdb --checkpoint run.ckpt --max-ops 20000',
    '<%= config.bin %> migrate run --source redis://a:6379 --target redis://b:7000 --slots 0-8191 --checkpoint half-1.ckpt',
  ]
  static override flags = {
    ...pairConnectionFlags,
    live: Flags.boolean({
      description: 'Follow changes (keyspace notifications) after the bulk copy until Ctrl-C',
    }),
    'until-synced': Flags.boolean({ description: 'With --live: stop once source and target are in sync' }),
    checkpoint: Flags.string({
      description: 'Checkpoint file: written every few seconds; an existing one is resumed',
    }),
    'max-ops': Flags.integer({
      description:
        'At most N source commands per second per node (the final verify: per node of either side)',
      min: 1,
    }),
    yes: Flags.boolean({
      char: 'y',
      description: 'With --replace on a target that holds keys: do not ask (needed when not on a terminal)',
    }),
    replace: Flags.boolean({
      description: 'Allow a non-empty target; keys of the same name are overwritten',
    }),
    slots: Flags.string({
      description: 'Copy only the keys of these slots: A-B (split a migration over machines)',
    }),
    mode: Flags.string({
      description:
        "dump: DUMP/RESTORE payloads (fast; refused before copying, exit 2, when the target cannot read the source's RDB version); logical: values rebuilt with type commands (any version or engine: Valkey to an older Redis; streams keep their groups, consumers, pending entries and counters); auto: logical when the target cannot read the source's payloads, dump otherwise (the choice is shown and recorded in the checkpoint)",
      options: ['dump', 'logical', 'auto'],
      default: 'dump',
    }),
    read: Flags.string({
      description:
        'How the bulk copy reads the source. scan: SCAN + PEXPIRETIME + DUMP per key (any source, paced by --max-ops); sync: the replication snapshot (SYNC) of every primary, streamed in parallel (much less load on the source; refused, exit 2, where the source forbids SYNC, as ElastiCache and MemoryDB do; not with --max-ops or --mode logical); auto: sync where the source permits it, scan otherwise (the choice is shown, reported and recorded in the checkpoint)',
      options: ['scan', 'sync', 'auto'],
      default: 'scan',
    }),
    'db-map': Flags.string({
      description: 'Map a source db to a target db: SOURCE:TARGET (repeatable)',
      multiple: true,
    }),
    'stall-timeout': stallTimeoutFlag(),
    verify: Flags.boolean({
      description: 'Verify the datasets at the end (--no-verify to skip)',
      default: true,
      allowNo: true,
    }),
  }

  async run(): Promise<MigrateReport> {
    const { flags } = await this.parse(MigrateRun)
    if (flags['until-synced'] && !flags.live) throw new UsageError('--until-synced needs --live')
    const slots = flags.slots === undefined ? undefined : parseSlotRange(flags.slots)
    const endpoints = await this.resolvePairEndpoints(flags)
    const report = await this.runOperation(
      ({ signal, emit }) =>
        runMigration(endpoints, {
          live: flags.live,
          untilSynced: flags['until-synced'],
          checkpointPath: flags.checkpoint,
          maxOps: flags['max-ops'],
          replace: flags.replace,
          confirmReplace: (keys) =>
            this.confirm(
              `The target holds ${keys} keys; keys of the same name will be overwritten (others stay). Continue?`,
              {
                yes: flags.yes,
                action: `overwrite keys on a target that holds ${keys}`,
                nothingDone: 'nothing was copied',
              },
            ),
          mode: flags.mode as MigrateMode,
          read: flags.read as ReadMethod | 'auto',
          ...(slots ? { slots } : {}),
          dbMap: parseDbMap(flags['db-map']),
          verify: flags.verify,
          stallTimeoutMs: parseStallTimeout(flags['stall-timeout']),
          signal,
          onEvent: emit,
        }),
      { reporter: 'migrate', resumable: flags.checkpoint !== undefined },
    )
    this.log(formatMigration(report))
    if (report.errors.total) this.resultExitCode = ExitCode.failed
    else if (report.verify && !report.verify.identical) this.resultExitCode = ExitCode.answerNo
    return report
  }
}
