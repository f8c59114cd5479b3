import * as Flags from '@oclif/core/flags'
import { BaseCommand } from '../../src/base-command.js'
import { connectTarget } from '../../src/connect/target.js'
import { connectionFlags, urlArg } from '../../src/connect/flags.js'
import { awsConnectionFlags } from '../../src/aws/flags.js'
import { count } from '../../src/flags.js'
import { createSnapshot, type SnapshotCreateReport } from '../../src/ops/snapshot/create.js'
import { SnapshotOutputs } from '../../src/ops/snapshot/outputs.js'
import { parseStallTimeout, stallTimeoutFlag } from '../../src/ops/stall-flag.js'
import { formatSnapshotCreate } from '../../src/ops/snapshot/format.js'

export default class SnapshotCreate extends BaseCommand {
  static override summary = 'Write a real RDB file of a standalone server or a whole cluster'
  static override description =
    'scan (the default) reads every key with SCAN, DUMP and PEXPIRETIME/PTTL, so it works where SYNC and BGSAVE are refused (ElastiCache, MemoryDB); it is not a point-in-time image. ' +
    "sync takes each primary's replication snapshot, like redis-cli --rdb, where SYNC is allowed. " +
    "A cluster's keys all go to db 0 (what MemoryDB's S3 seeding accepts); a standalone server keeps its databases. " +
    'The file is written under a temporary name (mode 0600) and renamed only when complete.'
  static override examples = [
    '<%= config.bin %> snapshot create redis://127.0.0.1:7000 --out dump.rdb',
    '<%= config.bin %> snapshot create --user app rediss://my-cache.xxxx.cache.amazonaws.com:6379 --out cache.rdb --max-ops 20000',
    '<%= config.bin %> snapshot create redis://127.0.0.1:7000 --out seed.rdb --split 4   # seed-0001.rdb ... seed-0004.rdb',
  ]
  static override args = { url: urlArg }
  static override flags = {
    ...connectionFlags,
    ...awsConnectionFlags,
    out: Flags.string({ description: 'RDB file to write', required: true }),
    split: Flags.integer({
      description: 'Write N files, each holding one N-th of the slot range (FILE-0001.rdb ...)',
      default: 1,
    }),
    method: Flags.string({
      description: 'scan: SCAN + DUMP (works on managed services); sync: replication snapshot (needs SYNC)',
      options: ['scan', 'sync'],
      default: 'scan',
    }),
    'max-ops': count({ description: 'Limit each node to N commands per second (scan)', min: 1 }),
    force: Flags.boolean({ description: 'Replace --out if it exists' }),
    'stall-timeout': stallTimeoutFlag({ resumable: false }),
  }

  async run(): Promise<SnapshotCreateReport> {
    const { args, flags } = await this.parse(SnapshotCreate)
    const stallTimeoutMs = parseStallTimeout(flags['stall-timeout'])
    const input = (await this.resolveEndpoint(args.url, flags)).input
    // The destination first: an unwritable --out fails before any connection is made.
    const outputs = SnapshotOutputs.open(flags.out, { split: flags.split, overwrite: flags.force })
    try {
      const report = await this.runOperation(
        async ({ signal, emit }) => {
          // kvtop's own wire layer, as every read of the snapshot is: no ioredis to load.
          const target = await connectTarget(input, { probe: true })
          return createSnapshot(target, outputs, {
            method: flags.method as 'scan' | 'sync',
            maxOps: flags['max-ops'],
            stallTimeoutMs,
            signal,
            onEvent: emit,
          })
        },
        { reporter: 'snapshot create' },
      )
      this.log(formatSnapshotCreate(report))
      return report
    } catch (err) {
      outputs.discard()
      throw err
    }
  }
}
