import * as Flags from '@oclif/core/flags'
import { BaseCommand } from '../src/base-command.js'
import { connectionFlags } from '../src/connect/flags.js'
import { awsAccountFlags } from '../src/aws/flags.js'
import { UsageError } from '../src/errors.js'
import { intervalFlag, lagAlertFlag, seconds, toMs } from '../src/flags.js'
import { formatEvent } from '../src/metrics/format.js'
import { outputModeFrom } from '../src/ui/output-mode.js'
import { exportHelp } from '../src/export/help.js'
import { DEFAULT_LISTEN, parseListen } from '../src/export/server.js'
import { Exporter, type SidePublisher } from '../src/export/service.js'
import { exportTargets } from '../src/export/targets.js'

export default class Export extends BaseCommand {
  static override summary =
    "Serve the monitor engine's figures of one or many deployments to Prometheus (/metrics) and CloudWatch"
  static override description = exportHelp()
  static override examples = [
    '<%= config.bin %> export redis://10.0.0.5:6379',
    '<%= config.bin %> export --profile orders --profile sessions --listen 0.0.0.0:9121',
    '<%= config.bin %> export --all-profiles',
    '<%= config.bin %> export --elasticache orders --memorydb sessions --region eu-west-1 --cloudwatch-namespace Kvtop',
    '<%= config.bin %> export redis://127.0.0.1:7000 --listen 127.0.0.1:0 --json',
  ]
  // Any number of endpoint URLs, one deployment each.
  static override strict = false
  static override flags = {
    ...connectionFlags,
    profile: Flags.string({
      description:
        'Named profile from ~/.config/kvtop/config.json, or sandbox:NAME (repeatable: one deployment each)',
      helpGroup: 'CONNECTION',
      multiple: true,
    }),
    'all-profiles': Flags.boolean({
      description: 'Every profile of the config file, one deployment each',
      helpGroup: 'CONNECTION',
    }),
    elasticache: Flags.string({
      description: 'ElastiCache replication group id (repeatable)',
      helpGroup: 'AWS',
      multiple: true,
    }),
    memorydb: Flags.string({
      description: 'MemoryDB cluster name (repeatable)',
      helpGroup: 'AWS',
      multiple: true,
    }),
    ...awsAccountFlags,
    iam: Flags.boolean({
      description: 'Authenticate with IAM auth tokens (TLS only; --user names the IAM-enabled user)',
      helpGroup: 'AWS',
    }),
    listen: Flags.string({
      description:
        "Address of the HTTP server (/metrics, /healthz): host:port, port 0 for any free port; the default port is redis_exporter's",
      default: DEFAULT_LISTEN,
    }),
    interval: intervalFlag('Seconds between polls of each deployment, fractions allowed'),
    'lag-alert': lagAlertFlag('Replication lag in seconds that raises an alert (kvtop_alerts_active)'),
    'cloudwatch-namespace': Flags.string({
      description:
        "Also publish kvtop's figures to CloudWatch as custom metrics in this namespace (PutMetricData)",
      helpGroup: 'AWS',
    }),
    'cloudwatch-interval': seconds({
      description: 'Seconds between CloudWatch publications (below 60: high-resolution metrics)',
      default: 60,
      min: 1,
      max: 3600,
      helpGroup: 'AWS',
    }),
  }

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Export)
    const urls = (argv as string[]).filter((a) => a !== '')
    const listen = parseListen(flags.listen)
    const namespace = flags['cloudwatch-namespace']
    if (namespace !== undefined && !/^[^:][^:]{0,254}$/.test(namespace))
      throw new UsageError(`invalid --cloudwatch-namespace '${namespace}': 1 to 255 characters, no ':'`)
    const targets = exportTargets({
      urls,
      profiles: flags.profile ?? [],
      elasticache: flags.elasticache ?? [],
      memorydb: flags.memorydb ?? [],
      allProfiles: flags['all-profiles'],
      cloudwatchPublishing: namespace !== undefined,
      user: flags.user,
      'tls-ca': flags['tls-ca'],
      insecure: flags.insecure,
      timeout: flags.timeout,
      'nat-map': flags['nat-map'],
      region: flags.region,
      'aws-profile': flags['aws-profile'],
      iam: flags.iam,
    })
    const json = this.jsonEnabled()
    // --quiet: warnings (connect failures, CloudWatch) only; no progress or event lines on stderr.
    const quiet = outputModeFrom(this.argv).quiet
    const publishers: SidePublisher[] = []
    if (namespace !== undefined) {
      const { CloudWatchPublisher } = await import('../src/export/cloudwatch-publisher.js')
      publishers.push(
        new CloudWatchPublisher({
          namespace,
          intervalMs: toMs(flags['cloudwatch-interval']),
          region: flags.region,
          profile: flags['aws-profile'],
          onPublished: (r) =>
            json && this.emitJsonLine({ type: 'cloudwatch-published', at: Date.now(), ...r }),
          onRetry: (message) =>
            json
              ? this.emitJsonLine({ type: 'cloudwatch-retry', at: Date.now(), message })
              : this.diag(message),
          onFailed: (message) =>
            json
              ? this.emitJsonLine({ type: 'cloudwatch-failed', at: Date.now(), message })
              : this.warn(`CloudWatch: ${message}`),
        }),
      )
    }
    const exporter = new Exporter({
      targets,
      monitor: { intervalMs: toMs(flags.interval), thresholds: { lagSeconds: flags['lag-alert'] } },
      listen,
      publishers,
      listener: {
        onOpened: (deployment, nodes) =>
          json
            ? this.emitJsonLine({ type: 'polling', at: Date.now(), deployment, nodes })
            : !quiet && this.diag(`${deployment}: polling ${nodes} node${nodes === 1 ? '' : 's'}`),
        onOpenFailed: (deployment, message, retryInMs) =>
          json
            ? this.emitJsonLine({ type: 'connect-failed', at: Date.now(), deployment, message, retryInMs })
            : this.warn(`${deployment}: ${message} (retrying in ${Math.round(retryInMs / 1000)} s)`),
        onEvent: (deployment, event) =>
          json
            ? this.emitJsonLine({ ...event, deployment })
            : !quiet && this.diag(`${deployment}: ${formatEvent(event)}`),
      },
    })
    const stopped = new Promise<void>((resolve) => {
      process.once('SIGINT', resolve)
      process.once('SIGTERM', resolve)
    })
    const address = await exporter.start()
    try {
      if (json)
        this.emitJsonLine({ type: 'listening', at: Date.now(), address, url: `http://${address}/metrics` })
      else
        this.log(
          `Serving ${targets.length} deployment${targets.length === 1 ? '' : 's'} on http://${address}/metrics`,
        )
      await stopped
    } finally {
      await exporter.stop()
    }
    if (json) this.emitJsonLine({ type: 'done', at: Date.now() })
  }
}
