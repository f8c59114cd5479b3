import type { AwsClientOptions } from '../../aws/clients.js'
import type { AwsDeployment } from '../../aws/types.js'
import { Deployment } from '../../connect/deployment.js'
import type { ConnectionInput } from '../../connect/options.js'
import { MonitorEngine } from '../../metrics/engine.js'
import { sampleStatus } from '../../metrics/service.js'
import { groupSlowlog } from '../../metrics/slowlog.js'
import type { EventSink } from '../progress.js'
import { cloudWatchHistory } from './cloudwatch.js'
import { collectExtras, sampleKeys } from './collect.js'
import { prepareOutDir, writeReports } from './report.js'
import { evaluate, summarize } from './rules.js'
import type { CloudWatchSummary, TriageInput, TriageReport } from './types.js'

export interface TriageOptions {
  durationSeconds: number
  /** Keys sampled for big / hot keys over all primaries. */
  scanKeys: number
  outDir?: string
  overwrite?: boolean
  /** Known when the deployment was named with --elasticache / --memorydb: CloudWatch is read too. */
  aws?: AwsDeployment
  awsAccount?: AwsClientOptions
  onEvent?: EventSink
}

/**
 * `kvtop triage`: one pass over every node, measured over `durationSeconds` — the monitor engine
 * for rates, replication and the slowlog; per-node extras (clients, slot map views); a rate-limited
 * key sample; CloudWatch's last 3 hours — turned into findings ranked by severity.
 */
export async function runTriage(input: ConnectionInput, options: TriageOptions): Promise<TriageReport> {
  const files = options.outDir ? prepareOutDir(options.outDir, options.overwrite ?? false) : undefined
  const emit = options.onEvent ?? (() => {})
  let deployment: Deployment | undefined
  let engine: MonitorEngine | undefined
  try {
    deployment = await Deployment.connect(input)
    const d = deployment
    const spec = { ...d.spec, clientName: 'kvtop-triage' }
    engine = new MonitorEngine(spec, d.topology, {
      intervalMs: Math.max(1, options.durationSeconds) * 1000,
      timeoutMs: Math.min(5000, Math.max(1000, d.spec.timeoutMs)),
    })
    emit({
      type: 'phase',
      phase: 'measure',
      detail: `${d.topology.nodes.length} nodes for ${options.durationSeconds}s`,
    })
    const perNodeTimeout = Math.min(5000, Math.max(1000, d.spec.timeoutMs))
    // Everything else runs inside the measuring window.
    const extrasP = collectExtras(d, perNodeTimeout)
    const cloudwatchP: Promise<CloudWatchSummary | undefined> = options.aws
      ? cloudWatchHistory(options.aws, options.awsAccount ?? {}, 3)
      : Promise.resolve(undefined)
    const [status, extras] = await Promise.all([sampleStatus(engine), extrasP])
    const keysBudgetMs = Math.max(3000, Math.min(8000, options.durationSeconds * 1000))
    emit({ type: 'phase', phase: 'keys', detail: `sampling up to ${options.scanKeys} keys` })
    const keys = await sampleKeys(d, extras, options.scanKeys, 10_000, keysBudgetMs)
    const cloudwatch = await cloudwatchP
    const topology = engine.topology
    const triageInput: TriageInput = {
      snapshot: status.snapshot,
      openSlots: topology.nodes
        .filter((n) => n.importing?.length || n.migrating?.length)
        .map((n) => ({
          address: n.address,
          importing: (n.importing ?? []).map((x) => x.slot),
          migrating: (n.migrating ?? []).map((x) => x.slot),
        })),
      extras,
      slowlogGroups: groupSlowlog(engine.slowlog.list(1000)),
      keys,
      ...(cloudwatch ? { cloudwatch } : {}),
      durationSeconds: options.durationSeconds,
    }
    const findings = evaluate(triageInput)
    const s = status.snapshot
    const report: TriageReport = {
      at: s.at,
      durationSeconds: options.durationSeconds,
      deployment: s.deployment,
      counts: {
        critical: findings.filter((f) => f.severity === 'critical').length,
        warning: findings.filter((f) => f.severity === 'warning').length,
        info: findings.filter((f) => f.severity === 'info').length,
      },
      findings,
      ...summarize(triageInput),
      keys,
      nodes: s.nodes.map((n) => ({
        address: n.address,
        role: n.role,
        shard: n.shard,
        up: n.up,
        ...(n.opsPerSec !== undefined ? { opsPerSec: Math.round(n.opsPerSec) } : {}),
        ...(n.memory.used !== undefined ? { memoryUsed: n.memory.used } : {}),
      })),
      ...(cloudwatch ? { cloudwatch } : {}),
    }
    if (files) await writeReports(files, report)
    return report
  } catch (err) {
    files?.md.discard()
    files?.json.discard()
    throw err
  } finally {
    await engine?.stop()
    await deployment?.close()
  }
}
