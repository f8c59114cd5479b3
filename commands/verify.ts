import * as Flags from '@oclif/core/flags'
import { BaseCommand } from '../src/base-command.js'
import { parseStallTimeout, stallTimeoutFlag } from '../src/ops/stall-flag.js'
import { pairConnectionFlags } from '../src/pair-flags.js'
import { parseDbMap } from '../src/data/db-map.js'
import { ExitCode } from '../src/errors.js'
import { seconds, toMs } from '../src/flags.js'
import { runVerify } from '../src/ops/verify/run.js'
import { DEFAULT_MAX_DIFFERENCES, type VerifyReport } from '../src/ops/verify/types.js'
import { formatVerifyReport } from '../src/ops/verify/format.js'

export default class Verify extends BaseCommand {
  static override summary = 'Check that two datasets are identical: both directions, binary-safe, TTL-aware'
  static override description =
    'Every source key is looked up on the target (type, TTL within --ttl-tolerance, value), then every target key on the source. ' +
    'Values with equal DUMP payloads are equal; others are compared element by element, big collections in chunks: ' +
    'zset scores as numbers (Redis 7.0 and Valkey 8 print them differently), streams with their last id, entries-added, ' +
    'max-deleted-entry-id, consumer groups, consumers and pending entries. ' +
    'Keys that differ are re-checked over --passes so that replication in flight converges. Any shapes: standalone, cluster, ' +
    'different shard counts, --db-map. Exit 0 identical, 1 differences.'
  static override examples = [
    '<%= config.bin %> verify --source redis://10.0.0.5:6379 --target redis://127.0.0.1:7000',
    '<%= config.bin %> verify --source sandbox:ec --target sandbox:mdb --report diff.jsonl',
    '<%= config.bin %> verify --source redis://old:6379 --target redis://new:6379 --db-map 2:0 --mode quick --json',
    '<%= config.bin %> verify --source rediss://ec.xxxx.cache.amazonaws.com:6379 --target rediss://clustercfg.mdb.xxxx.memorydb.us-east-1.amazonaws.com:6379 --max-ops 5000',
  ]
  static override flags = {
    ...pairConnectionFlags,
    mode: Flags.string({
      description: 'full: values too; quick: counts per db and slot, and types',
      options: ['full', 'quick'],
      default: 'full',
    }),
    'db-map': Flags.string({
      description: 'Compare source db with target db: SOURCE:TARGET (repeatable)',
      multiple: true,
    }),
    'ttl-tolerance': seconds({
      description: 'TTLs further apart than this many seconds differ, fractions allowed',
      default: 1,
    }),
    passes: Flags.integer({
      description: 'Passes over differing keys, the first included',
      default: 3,
      min: 1,
    }),
    'pass-interval': seconds({ description: 'Seconds between passes', default: 1 }),
    'show-values': Flags.boolean({
      description: 'Show the differing values (escaped) in the output and the report',
    }),
    'max-ops': Flags.integer({
      description: 'At most N commands per second to each node, source and target alike',
      min: 1,
    }),
    'stall-timeout': stallTimeoutFlag({ resumable: false }),
    'max-differences': Flags.integer({
      description:
        'Stop comparing after N differences (datasets that far apart: a wrong or empty target); 0: no limit',
      default: DEFAULT_MAX_DIFFERENCES,
      min: 0,
    }),
    report: Flags.string({ description: 'Write every difference to FILE as JSON lines' }),
    force: Flags.boolean({ description: 'Replace --report if it exists' }),
  }

  async run(): Promise<VerifyReport> {
    const { flags } = await this.parse(Verify)
    const endpoints = await this.resolvePairEndpoints(flags)
    const report = await this.runOperation(
      ({ signal, emit }) =>
        runVerify(endpoints, {
          mode: flags.mode as 'full' | 'quick',
          dbMap: parseDbMap(flags['db-map']),
          ttlToleranceMs: toMs(flags['ttl-tolerance']),
          passes: flags.passes,
          passIntervalMs: toMs(flags['pass-interval']),
          showValues: flags['show-values'],
          maxOps: flags['max-ops'],
          stallTimeoutMs: parseStallTimeout(flags['stall-timeout']),
          maxDifferences: flags['max-differences'],
          reportPath: flags.report,
          overwriteReport: flags.force,
          signal,
          onEvent: emit,
        }),
      { reporter: 'verify' },
    )
    this.log(formatVerifyReport(report, { showValues: flags['show-values'] }))
    if (!report.identical) this.resultExitCode = ExitCode.answerNo
    return report
  }
}
