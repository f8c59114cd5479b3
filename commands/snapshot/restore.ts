import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import { BaseCommand } from '../../src/base-command.js'
import { connectTarget } from '../../src/connect/target.js'
import { connectionFlags } from '../../src/connect/flags.js'
import { awsConnectionFlags } from '../../src/aws/flags.js'
import { parseDbMap } from '../../src/data/db-map.js'
import {
  RESTORE_MODES,
  restoreSnapshot,
  type RestoreMode,
  type RestoreReport,
} from '../../src/ops/snapshot/restore.js'
import { parseStallTimeout, stallTimeoutFlag } from '../../src/ops/stall-flag.js'
import { formatRestore } from '../../src/ops/snapshot/format.js'
import { startFileCheck } from '../../src/ops/snapshot/restore-file-check.js'

export default class SnapshotRestore extends BaseCommand {
  static override summary = 'RESTORE every key of an RDB file into a standalone server or a cluster'
  static override description =
    'The file is verified first (structure and CRC-64): nothing is restored from a damaged file unless --ignore-checksum. ' +
    'Keys that already exist on the target are refused, with their count and nothing written, unless --replace. ' +
    'A cluster holds only db 0: keys of other databases are refused unless mapped with --db-map. ' +
    '--mode auto (the default) RESTOREs the values the target can read and rebuilds with ordinary commands (SET, RPUSH, SADD, HSET, ZADD, XADD ..., one MULTI/EXEC per key) ' +
    'those whose encoding is newer than the target (a Valkey 8 or Redis 7.2 file into Redis 7.0), saying so; --mode dump only RESTOREs (refusing such a file before writing anything); ' +
    '--mode logical rebuilds every key with commands.'
  static override examples = [
    '<%= config.bin %> snapshot restore dump.rdb --target redis://127.0.0.1:7000',
    '<%= config.bin %> snapshot restore valkey.rdb --target redis://127.0.0.1:6379 --mode logical',
    '<%= config.bin %> snapshot restore dump.rdb --user app --target rediss://clustercfg.my-db.xxxx.memorydb.us-east-1.amazonaws.com:6379 --db-map 1:0 --db-map 2:0',
  ]
  static override args = { file: Args.string({ description: 'RDB file', required: true }) }
  static override flags = {
    ...connectionFlags,
    ...awsConnectionFlags,
    target: Flags.string({
      description: 'Target: a URL (any node of a cluster) or a profile name (sandbox:NAME)',
      required: true,
      aliases: ['to'],
    }),
    replace: Flags.boolean({
      description: 'Overwrite keys that exist on the target (asks first on a terminal; --yes elsewhere)',
    }),
    yes: Flags.boolean({
      char: 'y',
      description: 'With --replace: do not ask before overwriting existing keys',
    }),
    'db-map': Flags.string({
      description: 'Restore db FROM into db TO: FROM:TO (repeatable)',
      multiple: true,
    }),
    'ignore-checksum': Flags.boolean({ description: 'Restore even if the file fails its CRC-64 check' }),
    mode: Flags.string({
      description:
        'auto: RESTORE what the target reads, rebuild the rest with commands; dump: RESTORE only; logical: commands only',
      options: RESTORE_MODES,
      default: 'auto',
    }),
    'stall-timeout': stallTimeoutFlag(),
  }

  async run(): Promise<RestoreReport> {
    const { args, flags } = await this.parse(SnapshotRestore)
    const dbMap = parseDbMap(flags['db-map'])
    const stallTimeoutMs = parseStallTimeout(flags['stall-timeout'])
    const input = (await this.resolveTargetFlag(flags)).input
    const report = await this.runOperation(
      async ({ signal, emit }) => {
        // The file's verification reads it while the target is connected and probed.
        const fileCheck = startFileCheck(args.file, emit)
        const target = await connectTarget(input, { probe: true })
        return restoreSnapshot(target, args.file, {
          fileCheck,
          replace: flags.replace,
          ...(flags.yes
            ? {}
            : {
                confirmReplace: (existing: number, total: number) =>
                  this.confirm(
                    `${existing} of the file's ${total} keys exist on the target and will be overwritten. Continue?`,
                    {
                      yes: false,
                      action: `overwrite ${existing} existing keys`,
                      nothingDone: 'nothing was restored',
                    },
                  ),
              }),
          dbMap,
          ignoreChecksum: flags['ignore-checksum'],
          mode: flags.mode as RestoreMode,
          stallTimeoutMs,
          signal,
          onEvent: emit,
        })
      },
      { reporter: 'snapshot restore' },
    )
    this.log(formatRestore(report))
    return report
  }
}
