import * as Flags from '@oclif/core/flags'
import { BaseCommand } from '../../src/base-command.js'
import { pairConnectionFlags } from '../../src/pair-flags.js'
import { parseDbMap } from '../../src/data/db-map.js'
import { ExitCode } from '../../src/errors.js'
import { formatPlan } from '../../src/ops/migrate/format.js'
import { runPlan } from '../../src/ops/migrate/service.js'
import type { PlanReport } from '../../src/ops/migrate/preflight.js'

export default class MigratePlan extends BaseCommand {
  static override summary =
    'Go / no-go before a migration: blockers and warnings, each with why and what to do'
  static override description =
    'Checks databases outside db 0 for a cluster or MemoryDB target, DUMP version compatibility, modules, memory fit with headroom, ' +
    'an empty target, whether keyspace notifications of every class --live relies on reach kvtop (notify-keyspace-events read with CONFIG GET, or where CONFIG is refused probed with a test write of each class on a scratch key; a partial setting is a blocker for --live, naming the letters to add), ' +
    'eviction policy and TLS/ACL differences. Exit 0 go, 1 if any blocker.'
  static override examples = [
    '<%= config.bin %> migrate plan --source rediss://ec.xxxx.cache.amazonaws.com:6379 --target rediss://clustercfg.mdb.xxxx.memorydb.us-east-1.amazonaws.com:6379',
    '<%= config.bin %> migrate plan --source sandbox:ec --target sandbox:mdb --live --json',
  ]
  static override flags = {
    ...pairConnectionFlags,
    live: Flags.boolean({ description: 'Plan for --live: missing keyspace notifications become a blocker' }),
    replace: Flags.boolean({ description: 'Plan for --replace: a non-empty target becomes a warning' }),
    'db-map': Flags.string({
      description: 'Map a source db to a target db: SOURCE:TARGET (repeatable)',
      multiple: true,
    }),
  }

  async run(): Promise<PlanReport> {
    const { flags } = await this.parse(MigratePlan)
    const endpoints = await this.resolvePairEndpoints(flags)
    const plan = await runPlan(endpoints, {
      live: flags.live,
      replace: flags.replace,
      dbMap: parseDbMap(flags['db-map']),
    })
    this.log(formatPlan(plan))
    if (!plan.go) this.resultExitCode = ExitCode.answerNo
    return plan
  }
}
