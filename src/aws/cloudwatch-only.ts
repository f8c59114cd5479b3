import { PollLoop } from '../metrics/poll-loop.js'
import type { AwsDeployment } from './types.js'
import type { SlotRange } from '../connect/cluster-parsers.js'
import { formatAddress } from '../connect/endpoint.js'
import type { Topology, TopologyNode, TopologyShard } from '../connect/topology.js'
import { ConnectError, ExitCode, KvtopError, errorMessage } from '../errors.js'
import type { MonitorEvent } from '../metrics/alerts.js'
import type { ExternalMetricsSource } from '../metrics/external.js'
import { SeriesStore } from '../metrics/history.js'
import { SlowlogStore } from '../metrics/log-merge.js'
import { nodePlace } from '../metrics/snapshot-builder.js'
import type {
  DataPlaneStatus,
  DeploymentSummary,
  ExternalMetrics,
  NodeStatus,
  ShardStatus,
  Snapshot,
} from '../metrics/types.js'

/**
 * CloudWatch-only monitoring: a deployment named through AWS (--elasticache, --serverless,
 * --memorydb) whose nodes cannot be reached from where kvtop runs (a laptop outside the VPC). The
 * node list comes from AWS's description of the deployment, the figures from CloudWatch; nothing
 * is asked of the nodes.
 */

/** Connection failures that mean "cannot get there from here", not "the server said no". */
const UNREACHABLE_CODES = new Set(['timeout', 'refused', 'dns'])
const UNREACHABLE_MESSAGE = /EHOSTUNREACH|ENETUNREACH|EADDRNOTAVAIL|no route to host|network is unreachable/i

/**
 * The data plane could not be reached (timeout, connection refused, DNS, no route): the status to
 * report, or undefined for any other failure (authentication, TLS, permissions ...), which
 * CloudWatch would only hide.
 */
export function dataPlaneUnreachable(err: unknown): DataPlaneStatus | undefined {
  if (!(err instanceof KvtopError) || err.exitCode !== ExitCode.connect) return undefined
  if (UNREACHABLE_CODES.has(err.code)) return { reachable: false, reason: err.message, code: err.code }
  if (UNREACHABLE_MESSAGE.test(err.message))
    return { reachable: false, reason: err.message, code: 'unreachable' }
  return undefined
}

/** The same connection error with more to say in its hint (still exit 3). */
export function withConnectHint(err: KvtopError, extra: string): ConnectError {
  return new ConnectError(err.message, {
    code: err.code,
    hint: [err.hint, extra].filter(Boolean).join('\n'),
    cause: err,
  })
}

/** `0-5460,10923-16383` (as ElastiCache and MemoryDB describe a shard's slots) -> ranges. */
export function parseSlotText(text: string | undefined): SlotRange[] {
  const out: SlotRange[] = []
  for (const part of (text ?? '').split(',')) {
    const m = /^\s*(\d+)(?:-(\d+))?\s*$/.exec(part)
    if (m) out.push([Number(m[1]), Number(m[2] ?? m[1])])
  }
  return out
}

/**
 * The deployment as AWS describes it, in the monitor's terms: node ids are AWS's names (cache
 * cluster ids, MemoryDB node names, the serverless cache's name), addresses the node endpoints AWS
 * reports (the id where it reports none). Roles AWS does not give (cluster mode, MemoryDB) are a
 * guess here, the first node of a shard the primary, until CloudWatch's IsMaster / IsPrimary says.
 */
export function awsTopology(aws: AwsDeployment): Topology {
  const nodes: TopologyNode[] = []
  const shards: TopologyShard[] = []
  const node = (
    id: string,
    ep: { host?: string; port?: number; address?: string },
    role: 'primary' | 'replica',
    shard: number,
    slots: SlotRange[],
  ): TopologyNode => ({
    id,
    host: ep.host ?? id,
    port: ep.port ?? 0,
    address: ep.address ?? (ep.host && ep.port ? formatAddress(ep.host, ep.port) : id),
    role,
    shard,
    slots,
    up: false,
    health: 'unknown',
  })
  if (aws.kind === 'serverless-cache') {
    // No nodes: CloudWatch publishes per cache.
    for (const c of aws.cloudwatch.nodes) {
      nodes.push(node(c.id, { ...aws.endpoint }, 'primary', 0, [[0, 16383]]))
      shards.push({ index: 0, primaryId: c.id, slots: [[0, 16383]], nodeIds: [c.id] })
    }
    return { mode: 'cluster', nodes, shards }
  }
  aws.shards.forEach((sh, index) => {
    const slots = aws.clusterMode ? parseSlotText(sh.slots) : []
    const members = sh.nodes.map((n, i) => {
      const role = n.role ?? (i === 0 ? 'primary' : 'replica')
      return node(n.id, n, role, index, role === 'primary' ? slots : [])
    })
    const primary = members.find((m) => m.role === 'primary')
    for (const m of members) if (m.role === 'replica' && primary) m.primaryId = primary.id
    nodes.push(...members)
    shards.push({
      index,
      ...(primary ? { primaryId: primary.id } : {}),
      slots,
      nodeIds: members.map((m) => m.id),
    })
  })
  const mode = aws.clusterMode ? 'cluster' : nodes.length > 1 ? 'replicated' : 'standalone'
  return { mode, nodes, shards }
}

/** The deployment line of a CloudWatch-only snapshot or report: what AWS says it is. */
export function awsDeploymentSummary(aws: AwsDeployment, topology: Topology): DeploymentSummary {
  const engine = (aws.engine ?? '').toLowerCase()
  return {
    mode: topology.mode,
    provider: aws.service,
    ...(engine === 'redis' || engine === 'valkey' ? { engine } : {}),
    ...(aws.engineVersion ? { version: aws.engineVersion } : {}),
    shards: topology.shards.length,
    nodes: topology.nodes.length,
  }
}

/** Roles AWS stated (ElastiCache with cluster mode disabled); the others come from CloudWatch. */
export function statedRoles(aws: AwsDeployment): Map<string, 'primary' | 'replica'> {
  const out = new Map<string, 'primary' | 'replica'>()
  for (const sh of aws.shards) for (const n of sh.nodes) if (n.role) out.set(n.id, n.role)
  return out
}

interface CloudWatchOnlyOptions {
  /** Milliseconds between reads (CloudWatch answers are cached for their 60 s period by the source). */
  intervalMs: number
  historySize?: number
}

type Listener = (snapshot: Snapshot) => void

/**
 * Stands in for the monitor engine when only CloudWatch can be seen: the same Snapshot shape (every
 * node `state: 'unreachable'`, its CloudWatch figures under `external`, `dataPlane` saying why),
 * the same start/stop/poll for `status --watch` and `top`.
 */
export class CloudWatchOnlyMonitor {
  readonly history: SeriesStore
  /** Always empty: slow commands are seen only on the nodes. */
  readonly slowlog = new SlowlogStore(1)
  private topologyValue: Topology
  private readonly stated: Map<string, 'primary' | 'replica'>
  private external: ExternalMetrics
  private latestSnapshot?: Snapshot
  /** The read made on opening has not been handed to a listener yet: start() begins with it. */
  private undelivered = false
  private roundNo = 0
  private readonly loop: PollLoop<Snapshot>
  private current?: Promise<Snapshot>
  private readonly pendingEvents: MonitorEvent[] = []

  constructor(
    readonly aws: AwsDeployment,
    private readonly source: ExternalMetricsSource,
    readonly dataPlane: DataPlaneStatus,
    readonly options: CloudWatchOnlyOptions,
  ) {
    this.topologyValue = awsTopology(aws)
    this.stated = statedRoles(aws)
    this.history = new SeriesStore(options.historySize ?? 300)
    this.external = { source: source.name, nodes: {} }
    this.loop = new PollLoop(options.intervalMs)
  }

  get topology(): Topology {
    return this.topologyValue
  }

  get latest(): Snapshot | undefined {
    return this.latestSnapshot
  }

  /** One read of CloudWatch, as a snapshot. Never rejects: a failed read keeps the last figures, with `external.error`. */
  poll(): Promise<Snapshot> {
    if (this.current) return this.current
    this.current = this.round().finally(() => {
      this.current = undefined
    })
    return this.current
  }

  private async round(): Promise<Snapshot> {
    const started = Date.now()
    this.roundNo++
    try {
      const result = await this.source.poll(this.topologyValue.nodes)
      this.external = { source: this.source.name, at: Date.now(), nodes: Object.fromEntries(result) }
      this.applyRoles()
    } catch (err) {
      const message = errorMessage(err)
      if (this.external.error !== message) {
        this.pendingEvents.push({
          type: 'error',
          at: Date.now(),
          severity: 'warning',
          source: this.source.name,
          message: `${this.source.name}: ${message}`,
        })
      }
      this.external = { ...this.external, error: message }
    }
    const at = Date.now()
    const snapshot = this.buildSnapshot(at, at - started, this.pendingEvents.splice(0))
    this.latestSnapshot = snapshot
    this.undelivered = !this.loop.running
    return snapshot
  }

  /** Roles AWS did not state, from CloudWatch's IsMaster / IsPrimary (1 on the primary). */
  private applyRoles(): void {
    const topo = this.topologyValue
    const nodes = topo.nodes.map((n) => {
      const flag = this.external.nodes[n.id]?.isPrimary
      const role =
        this.stated.get(n.id) ?? (flag === 1 ? 'primary' : flag === 0 ? 'replica' : undefined) ?? n.role
      return { ...n, role }
    })
    const shards = topo.shards.map((sh) => {
      const primary = nodes.find((n) => n.shard === sh.index && n.role === 'primary')
      return { ...sh, ...(primary ? { primaryId: primary.id } : {}) }
    })
    for (const n of nodes) {
      const sh = shards[n.shard]
      n.slots = n.role === 'primary' ? (sh?.slots ?? []) : []
      if (n.role === 'replica' && sh?.primaryId) n.primaryId = sh.primaryId
      else delete n.primaryId
    }
    this.topologyValue = { ...topo, nodes, shards }
  }

  private buildSnapshot(at: number, roundMs: number, events: MonitorEvent[]): Snapshot {
    const topo = this.topologyValue
    const ext = this.external
    const nodes: NodeStatus[] = topo.nodes.map((n) => {
      const figures = ext.nodes[n.id]
      return {
        ...nodePlace(n, false, 'unreachable'),
        ...(this.dataPlane.reason ? { error: this.dataPlane.reason } : {}),
        ...(n.primaryId ? { primaryId: n.primaryId } : {}),
        topCommands: [],
        memory: {},
        clients: {},
        ...(figures ? { external: figures } : {}),
      }
    })
    const shards: ShardStatus[] = topo.shards.map((sh) => ({
      index: sh.index,
      ...(sh.primaryId ? { primaryId: sh.primaryId } : {}),
      slots: sh.slots,
      nodeIds: sh.nodeIds,
      nodesUp: 0,
    }))
    return {
      at,
      round: this.roundNo,
      intervalMs: this.options.intervalMs,
      roundMs,
      deployment: awsDeploymentSummary(this.aws, topo),
      cluster: { nodesUp: 0, nodes: nodes.length },
      shards,
      nodes,
      replication: [],
      alerts: [],
      events,
      slowlog: [],
      external: ext,
      dataPlane: this.dataPlane,
    }
  }

  /** Read every interval until stop(); each snapshot goes to `listener`. */
  start(listener: Listener, onError?: (err: unknown) => void): void {
    this.loop.start(
      async () => {
        // The read made when the monitor was opened is the first round: CloudWatch is not asked twice.
        const ready = this.undelivered ? this.latestSnapshot : undefined
        this.undelivered = false
        return ready ?? (await this.poll())
      },
      listener,
      onError,
    )
  }

  async stop(): Promise<void> {
    this.loop.stop()
    // A CloudWatch call in flight is not waited for long: quitting must be quick.
    let timer: NodeJS.Timeout | undefined
    await Promise.race([
      this.current?.catch(() => undefined),
      new Promise((r) => (timer = setTimeout(r, 1000))),
    ])
    clearTimeout(timer)
    await this.source.close?.()
  }
}
