import type { AwsClientOptions } from '../../aws/clients.js'
import type { AwsDeployment } from '../../aws/types.js'
import { Deployment } from '../../connect/deployment.js'
import type { ConnectionInput } from '../../connect/options.js'
import type { KvtopError } from '../../errors.js'
import {
  awsDeploymentSummary,
  awsTopology,
  dataPlaneUnreachable,
  statedRoles,
  withConnectHint,
} from '../../aws/cloudwatch-only.js'
import { MonitorEngine } from '../../metrics/engine.js'
import { sampleStatus } from '../../metrics/service.js'
import {
  groupCommandLog,
  groupSlowlog,
  type CommandLogGroup,
  type SlowlogGroup,
} from '../../metrics/log-groups.js'
import { type CommandLogEntry, type SlowlogEntry } from '../../metrics/slowlog.js'
import type { DataPlaneStatus } from '../../metrics/types.js'
import type { EventSink } from '../events.js'
import { cloudWatchHistory } from './cloudwatch.js'
import { collectExtras, openSlotsFrom } from './collect.js'
import { prepareOutDir, writeReports } from './report.js'
import { cloudWatchFindings, evaluate, rankFindings, summarize } from './rules.js'
import type { CloudWatchSummary, Finding, TriageInput, TriageReport } from './types.js'
import { sampleKeys } from '../../data/keyspace/sampler.js'
import { THRESHOLDS } from '../../metrics/thresholds.js'

interface TriageOptions {
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

/** Slowlog groups with their nodes named by address (host:port), as the report shows them. */
function groupsByAddress(entries: SlowlogEntry[]): SlowlogGroup[] {
  const addresses = new Map<string, Set<string>>()
  for (const e of entries) addresses.set(e.pattern, (addresses.get(e.pattern) ?? new Set()).add(e.address))
  return groupSlowlog(entries).map((g) => ({ ...g, nodes: [...(addresses.get(g.pattern) ?? [])].sort() }))
}

/** COMMANDLOG size-log groups with their nodes named by address, as for the slowlog. */
function commandLogByAddress(entries: CommandLogEntry[]): CommandLogGroup[] {
  const addresses = new Map<string, Set<string>>()
  for (const e of entries) addresses.set(e.pattern, (addresses.get(e.pattern) ?? new Set()).add(e.address))
  return groupCommandLog(entries).map((g) => ({ ...g, nodes: [...(addresses.get(g.pattern) ?? [])].sort() }))
}

/**
 * What the monitor read of COMMANDLOG's size logs, for the rules: absent where no node has
 * COMMANDLOG (Redis, Valkey before 8.1), so that triage of those is what it was.
 */
export function commandLogGroupsOf(
  engine: Pick<MonitorEngine, 'hasCommandLog' | 'commandLog'>,
): TriageInput['commandLogGroups'] {
  if (!engine.hasCommandLog) return undefined
  return {
    largeRequests: commandLogByAddress(engine.commandLog['large-request'].list(1000)),
    largeReplies: commandLogByAddress(engine.commandLog['large-reply'].list(1000)),
  }
}

const counts = (findings: Finding[]) => ({
  critical: findings.filter((f) => f.severity === 'critical').length,
  warning: findings.filter((f) => f.severity === 'warning').length,
  info: findings.filter((f) => f.severity === 'info').length,
})

/**
 * `kvtop triage`: one pass over every node, measured over `durationSeconds` — the monitor engine
 * for rates, replication and the slowlog; per-node extras (clients, slot map views, open slots); a
 * rate-limited key sample; CloudWatch's last 3 hours — turned into findings ranked by severity.
 * A deployment named through AWS whose nodes cannot be reached from here gets CloudWatch's
 * findings alone (see cloudWatchOnlyTriage).
 */
export async function runTriage(input: ConnectionInput, options: TriageOptions): Promise<TriageReport> {
  const files = options.outDir ? prepareOutDir(options.outDir, options.overwrite ?? false) : undefined
  const emit = options.onEvent ?? (() => {})
  let deployment: Deployment | undefined
  let engine: MonitorEngine | undefined
  try {
    try {
      deployment = await Deployment.connect(input)
    } catch (err) {
      const dataPlane = options.aws ? dataPlaneUnreachable(err) : undefined
      if (!dataPlane || !options.aws) throw err
      const report = await cloudWatchOnlyTriage(options.aws, dataPlane, err as KvtopError, options, emit)
      if (files) await writeReports(files, report)
      return report
    }
    const d = deployment
    const spec = { ...d.spec, clientName: 'kvtop-triage' }
    engine = new MonitorEngine(spec, d.topology, {
      intervalMs: Math.max(1, options.durationSeconds) * 1000,
      timeoutMs: Math.min(5000, Math.max(1000, d.spec.timeoutMs)),
    })
    const measured = await measure(d, engine, options, emit)
    const triageInput = triageInputOf(d, engine, measured, options)
    const report = reportOf(triageInput, evaluate(triageInput), measured)
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

/** What one triage measured: the monitor's two rounds, each node's extras, the key sample, CloudWatch. */
interface Measured {
  status: Awaited<ReturnType<typeof sampleStatus>>
  extras: Awaited<ReturnType<typeof collectExtras>>
  keys: Awaited<ReturnType<typeof sampleKeys>>
  cloudwatch: CloudWatchSummary | undefined
}

/** The measuring window (the monitor over `durationSeconds`), with everything else run inside it, then the key sample. */
async function measure(
  d: Deployment,
  engine: MonitorEngine,
  options: TriageOptions,
  emit: EventSink,
): Promise<Measured> {
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
  const keys = await sampleKeys(d, {
    budget: options.scanKeys,
    lfu: new Map(extras.map((e) => [e.address, e.lfu])),
    perSecond: 10_000,
    timeoutMs: keysBudgetMs,
    bigKeyBytes: THRESHOLDS.bigKeyBytes,
    hotKeyFreq: THRESHOLDS.hotKeyFreq,
  })
  return { status, extras, keys, cloudwatch: await cloudwatchP }
}

/** What the rules read. */
function triageInputOf(
  d: Deployment,
  engine: MonitorEngine,
  { status, extras, keys, cloudwatch }: Measured,
  options: TriageOptions,
): TriageInput {
  // Node ids -> addresses: the engine's latest view, then the one connected with.
  const known = new Map([...d.topology.nodes, ...engine.topology.nodes].map((n) => [n.id, n]))
  return {
    snapshot: status.snapshot,
    // Each node marks only its own open slots: every node's view (extras), and the seed's.
    openSlots: openSlotsFrom(extras, [...known.values()]),
    extras,
    slowlogGroups: groupsByAddress(engine.slowlog.list(1000)),
    ...(engine.hasCommandLog ? { commandLogGroups: commandLogGroupsOf(engine) } : {}),
    keys,
    ...(cloudwatch ? { cloudwatch } : {}),
    durationSeconds: options.durationSeconds,
  }
}

function reportOf(
  triageInput: TriageInput,
  findings: Finding[],
  { status, keys, cloudwatch }: Measured,
): TriageReport {
  const s = status.snapshot
  return {
    at: s.at,
    durationSeconds: triageInput.durationSeconds,
    deployment: s.deployment,
    counts: counts(findings),
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
}

/**
 * The nodes cannot be reached from here (a laptop outside the VPC): the deployment as AWS describes
 * it and CloudWatch's findings over the last 3 hours, nothing measured on the nodes. When CloudWatch
 * cannot be read either, the connection error stands (exit 3).
 */
async function cloudWatchOnlyTriage(
  aws: AwsDeployment,
  dataPlane: DataPlaneStatus,
  connectError: KvtopError,
  options: TriageOptions,
  emit: EventSink,
): Promise<TriageReport> {
  emit({ type: 'phase', phase: 'cloudwatch', detail: 'nodes unreachable from here: reading CloudWatch only' })
  const cloudwatch = await cloudWatchHistory(aws, options.awsAccount ?? {}, 3)
  if (cloudwatch.error)
    throw withConnectHint(connectError, `CloudWatch could not be read either: ${cloudwatch.error}`)
  const topology = awsTopology(aws)
  const stated = statedRoles(aws)
  const role = (id: string, guess: string) => {
    const flag = cloudwatch.nodes[id]?.isPrimary
    return stated.get(id) ?? (flag === 1 ? 'primary' : flag === 0 ? 'replica' : guess)
  }
  const findings = rankFindings(cloudWatchFindings(cloudwatch))
  return {
    at: Date.now(),
    durationSeconds: 0,
    deployment: awsDeploymentSummary(aws, topology),
    counts: counts(findings),
    findings,
    workload: { topByCalls: [], topByTime: [], slowlog: [] },
    clients: { topAddresses: [], topNames: [] },
    keys: {
      sampled: 0,
      bigKeys: [],
      hotKeys: [],
      notes: ['keys not sampled: the nodes cannot be reached from here'],
    },
    nodes: topology.nodes.map((n) => ({
      address: n.address,
      role: role(n.id, n.role),
      shard: n.shard,
      up: false,
    })),
    cloudwatch,
    dataPlane,
  }
}
