import * as Flags from '@oclif/core/flags'
import { BaseCommand } from '../src/base-command.js'
import { connectionFlags, urlArg } from '../src/connect/flags.js'
import { awsConnectionFlags } from '../src/aws/flags.js'
import { toKvtopError } from '../src/error-mapping.js'
import { intervalFlag, toMs } from '../src/flags.js'
import { redact } from '../src/redact.js'
import { openStatusFeed } from '../src/aws/status-feed.js'
import { checkLevelFlags } from '../src/metrics/check/flags.js'
import { CHECK_NAMES, type CheckName, type Levels } from '../src/metrics/check/levels.js'
import { resolveLevels } from '../src/metrics/check/thresholds.js'
import { runCheck } from '../src/metrics/check/service.js'
import {
  CHECK_EXIT,
  NAGIOS_UNKNOWN,
  formatCheck,
  formatNagios,
  formatNagiosUnknown,
} from '../src/metrics/check/format.js'
import type { CheckResult } from '../src/metrics/check/evaluate.js'

export default class Check extends BaseCommand {
  static override summary = 'One pass of the monitor against thresholds, for cron jobs, CI gates and Nagios'
  static override description =
    'Measures the deployment over one interval (as `status`) and prints each threshold broken: one line per breach ' +
    'naming the node, the measured value and the level. Levels are WARN:CRIT pairs (WARN alone, :CRIT, or off); a level is ' +
    'broken when the value is above it. They come from the flags, else the `checks` of the --profile in the config file, ' +
    "else the config file's top-level `checks`, else the defaults. A replica whose link to its primary is down is critical " +
    'while a lag check is on; in a cluster, slots not served and a cluster state other than ok are critical.\n\n' +
    "Exit codes: 0 ok, 1 warning, 2 critical. Without --nagios the other failures keep kvtop's codes: 2 usage error, " +
    '3 cannot connect, 4 AWS API error (use --json to tell a usage error from a critical result). With --nagios the ' +
    'output follows the Nagios plugin conventions (`KVTOP OK|WARNING|CRITICAL|UNKNOWN - summary | perfdata`) and a ' +
    'deployment that cannot be reached, or bad arguments, exit 3 UNKNOWN.'
  static override examples = [
    '<%= config.bin %> check redis://127.0.0.1:7000',
    '<%= config.bin %> check --profile prod --lag-bytes 1MB:10MB --memory 80:95 --nodes-down :0',
    '<%= config.bin %> check --profile prod --nagios',
    '<%= config.bin %> check --profile prod --json --slowlog 5:50 --evictions off',
  ]
  static override args = { url: urlArg }
  static override flags = {
    ...connectionFlags,
    ...awsConnectionFlags,
    ...checkLevelFlags,
    interval: intervalFlag('Seconds over which rates (evictions, slowlog) are measured, fractions allowed'),
    nagios: Flags.boolean({
      description: 'Nagios plugin output and exit codes (3 UNKNOWN when the check cannot run)',
      exclusive: ['json'],
    }),
  }

  async run(): Promise<CheckResult & { exitCode: number; levels: unknown }> {
    const { args, flags } = await this.parse(Check)
    const given: Partial<Record<CheckName, Levels>> = {}
    for (const c of CHECK_NAMES) if (flags[c] !== undefined) given[c] = flags[c]
    // The profile's levels apply where the profile names the deployment: --profile, or KVTOP_PROFILE without a URL.
    const profile = flags.profile ?? (args.url ? undefined : process.env.KVTOP_PROFILE || undefined)
    const { levels, sources } = resolveLevels(given, profile)
    const endpoint = await this.resolveEndpoint(args.url, flags)
    const feed = await openStatusFeed(endpoint, { intervalMs: toMs(flags.interval) })
    const engine = feed.live!
    let result: CheckResult
    try {
      result = await runCheck(engine, levels)
    } finally {
      await engine.stop()
    }
    this.resultExitCode = CHECK_EXIT[result.status]
    // A level left at its default that has nothing to measure stays quiet; one the user asked for is named.
    const notes = result.unchecked.filter((u) => sources[u.check] !== 'default')
    this.log(flags.nagios ? formatNagios(result, notes) : formatCheck(result, notes))
    return {
      ...result,
      exitCode: CHECK_EXIT[result.status],
      levels: Object.fromEntries(CHECK_NAMES.map((c) => [c, { ...levels[c], source: sources[c] }])),
    }
  }

  /** Under --nagios every failure is one UNKNOWN line on stdout and exit 3, as Nagios expects. */
  protected override async catch(err: Error & { exitCode?: number }): Promise<void> {
    if (!this.argv.includes('--nagios')) return super.catch(err)
    const mapped = toKvtopError(err)
    process.exitCode = NAGIOS_UNKNOWN
    process.stdout.write(redact(formatNagiosUnknown(mapped.message)) + '\n')
    if (mapped.hint) process.stderr.write(redact(mapped.hint) + '\n')
  }
}
