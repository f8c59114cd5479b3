import * as Flags from '@oclif/core/flags'
import { awsConnectionFlags } from '../src/aws/flags.js'
import { BaseCommand } from '../src/base-command.js'
import { seconds } from '../src/flags.js'
import { connectionFlags, urlArg } from '../src/connect/flags.js'
import { formatTriage } from '../src/ops/triage/report.js'
import { dataPlaneLine } from '../src/metrics/format.js'
import { runTriage } from '../src/ops/triage/triage.js'
import type { TriageReport } from '../src/ops/triage/types.js'

export default class Triage extends BaseCommand {
  static override summary = 'What is wrong with this deployment, and what to do: findings ranked by severity'
  static override description =
    'Measures every node for --duration seconds (rates, replication, slowlog, memory, clients), samples keys for big and hot ones, ' +
    'reads CloudWatch for the last 3 hours when the deployment is named with --elasticache/--memorydb, and ranks what it finds. ' +
    '--out DIR writes report.md and triage.json (redacted). Exit 0 with findings; 3 if the deployment cannot be reached. ' +
    'A deployment named through AWS whose nodes cannot be reached from here (outside the VPC: timeout, refused, DNS) gets ' +
    "CloudWatch's findings alone, one line saying so and `dataPlane: {reachable: false, reason}` in triage.json: exit 0 when " +
    'CloudWatch answered, 3 when it did not either.'
  static override examples = [
    '<%= config.bin %> triage redis://10.0.1.5:6379',
    '<%= config.bin %> triage --profile sandbox:default --duration 5 --out ./incident-42',
    '<%= config.bin %> triage --elasticache orders --user ops --json',
    '<%= config.bin %> triage --memorydb sessions --timeout 2   # from a laptop: CloudWatch findings only',
  ]
  static override args = { url: urlArg }
  static override flags = {
    ...connectionFlags,
    ...awsConnectionFlags,
    duration: seconds({ description: 'Seconds to measure rates over', default: 10, min: 1, max: 3600 }),
    out: Flags.string({ description: 'Directory for report.md and triage.json' }),
    force: Flags.boolean({ description: 'Replace an earlier report in --out' }),
    'scan-keys': Flags.integer({
      description: 'Keys to sample for big and hot keys (0: none)',
      default: 1000,
      min: 0,
    }),
  }

  async run(): Promise<TriageReport> {
    const { args, flags } = await this.parse(Triage)
    const endpoint = await this.resolveEndpoint(args.url, flags)
    // Triage takes no stop signal: Ctrl-C ends the process, as it always did.
    const report = await this.runOperation(
      ({ emit }) =>
        runTriage(endpoint.input, {
          durationSeconds: flags.duration,
          scanKeys: flags['scan-keys'],
          outDir: flags.out,
          overwrite: flags.force,
          ...(endpoint.aws
            ? { aws: endpoint.aws, awsAccount: { region: flags.region, profile: flags['aws-profile'] } }
            : {}),
          onEvent: emit,
        }),
      { reporter: 'triage', interruptible: false },
    )
    // The text summary carries the line itself; with --json it goes to stderr.
    if (report.dataPlane && this.jsonEnabled()) this.diag(dataPlaneLine(report.dataPlane))
    this.log(formatTriage(report))
    if (flags.out) this.log(`\nReport: ${flags.out}/report.md, ${flags.out}/triage.json`)
    return report
  }
}
