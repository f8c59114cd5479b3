import type { MetricDataQuery, MetricDataResult } from '@aws-sdk/client-cloudwatch'
import { AwsClients, awsCall, type AwsClientOptions } from './clients.js'
import type { CloudWatchNode } from './types.js'

/**
 * kvtop's names for the CloudWatch metrics it reads. Each maps to the service's own metric name
 * and the statistic that makes sense for it; not every metric exists for every service.
 */
export type CloudWatchMetric =
  | 'cpu'
  | 'engineCpu'
  | 'freeableMemory'
  | 'memoryUsagePercent'
  | 'bytesUsed'
  | 'currConnections'
  | 'newConnections'
  | 'networkBytesIn'
  | 'networkBytesOut'
  | 'hits'
  | 'misses'
  | 'evictions'
  | 'reclaimed'
  | 'currItems'
  | 'replicationLag'
  | 'replicationBytes'
  | 'isPrimary'
  | 'swapUsage'
  | 'getTypeCmds'
  | 'setTypeCmds'
  | 'processingUnits'
  | 'throttledCmds'
  | 'readLatency'
  | 'writeLatency'

export type Statistic = 'Average' | 'Sum' | 'Maximum' | 'Minimum'

export interface MetricDefinition {
  name: string
  stat: Statistic
}

type ServiceKey = CloudWatchNode['service']

/**
 * The metric table. Names differ between the services (IsMaster / IsPrimary, CacheHits /
 * KeyspaceHits, BytesUsedForCache / BytesUsedForMemoryDB). Counters are summed per period,
 * gauges averaged; ReplicationLag is published by replicas only.
 */
export const METRICS: Record<CloudWatchMetric, Partial<Record<ServiceKey, MetricDefinition>>> = {
  cpu: {
    elasticache: { name: 'CPUUtilization', stat: 'Average' },
    memorydb: { name: 'CPUUtilization', stat: 'Average' },
  },
  engineCpu: {
    elasticache: { name: 'EngineCPUUtilization', stat: 'Average' },
    memorydb: { name: 'EngineCPUUtilization', stat: 'Average' },
  },
  freeableMemory: {
    elasticache: { name: 'FreeableMemory', stat: 'Average' },
    memorydb: { name: 'FreeableMemory', stat: 'Average' },
  },
  memoryUsagePercent: {
    elasticache: { name: 'DatabaseMemoryUsagePercentage', stat: 'Average' },
    memorydb: { name: 'DatabaseMemoryUsagePercentage', stat: 'Average' },
  },
  bytesUsed: {
    elasticache: { name: 'BytesUsedForCache', stat: 'Average' },
    memorydb: { name: 'BytesUsedForMemoryDB', stat: 'Average' },
    serverless: { name: 'BytesUsedForCache', stat: 'Average' },
  },
  currConnections: {
    elasticache: { name: 'CurrConnections', stat: 'Average' },
    memorydb: { name: 'CurrConnections', stat: 'Average' },
    serverless: { name: 'CurrConnections', stat: 'Average' },
  },
  newConnections: {
    elasticache: { name: 'NewConnections', stat: 'Sum' },
    memorydb: { name: 'NewConnections', stat: 'Sum' },
    serverless: { name: 'NewConnections', stat: 'Sum' },
  },
  networkBytesIn: {
    elasticache: { name: 'NetworkBytesIn', stat: 'Sum' },
    memorydb: { name: 'NetworkBytesIn', stat: 'Sum' },
  },
  networkBytesOut: {
    elasticache: { name: 'NetworkBytesOut', stat: 'Sum' },
    memorydb: { name: 'NetworkBytesOut', stat: 'Sum' },
  },
  hits: {
    elasticache: { name: 'CacheHits', stat: 'Sum' },
    memorydb: { name: 'KeyspaceHits', stat: 'Sum' },
    serverless: { name: 'CacheHits', stat: 'Sum' },
  },
  misses: {
    elasticache: { name: 'CacheMisses', stat: 'Sum' },
    memorydb: { name: 'KeyspaceMisses', stat: 'Sum' },
    serverless: { name: 'CacheMisses', stat: 'Sum' },
  },
  evictions: {
    elasticache: { name: 'Evictions', stat: 'Sum' },
    memorydb: { name: 'Evictions', stat: 'Sum' },
    serverless: { name: 'Evictions', stat: 'Sum' },
  },
  reclaimed: {
    elasticache: { name: 'Reclaimed', stat: 'Sum' },
    memorydb: { name: 'Reclaimed', stat: 'Sum' },
    serverless: { name: 'Reclaimed', stat: 'Sum' },
  },
  currItems: {
    elasticache: { name: 'CurrItems', stat: 'Average' },
    memorydb: { name: 'CurrItems', stat: 'Average' },
    serverless: { name: 'CurrItems', stat: 'Average' },
  },
  replicationLag: {
    elasticache: { name: 'ReplicationLag', stat: 'Maximum' },
    memorydb: { name: 'ReplicationLag', stat: 'Maximum' },
  },
  replicationBytes: {
    elasticache: { name: 'ReplicationBytes', stat: 'Average' },
    memorydb: { name: 'ReplicationBytes', stat: 'Average' },
  },
  isPrimary: {
    elasticache: { name: 'IsMaster', stat: 'Maximum' },
    memorydb: { name: 'IsPrimary', stat: 'Maximum' },
  },
  swapUsage: {
    elasticache: { name: 'SwapUsage', stat: 'Average' },
    memorydb: { name: 'SwapUsage', stat: 'Average' },
  },
  getTypeCmds: {
    elasticache: { name: 'GetTypeCmds', stat: 'Sum' },
    memorydb: { name: 'GetTypeCmds', stat: 'Sum' },
  },
  setTypeCmds: {
    elasticache: { name: 'SetTypeCmds', stat: 'Sum' },
    memorydb: { name: 'SetTypeCmds', stat: 'Sum' },
  },
  processingUnits: { serverless: { name: 'ElastiCacheProcessingUnits', stat: 'Sum' } },
  throttledCmds: { serverless: { name: 'ThrottledCmds', stat: 'Sum' } },
  // Server-side latency of successful requests, microseconds (Redis OSS 7.0.7+, Valkey, MemoryDB).
  readLatency: {
    elasticache: { name: 'SuccessfulReadRequestLatency', stat: 'Average' },
    memorydb: { name: 'SuccessfulReadRequestLatency', stat: 'Average' },
    serverless: { name: 'SuccessfulReadRequestLatency', stat: 'Average' },
  },
  writeLatency: {
    elasticache: { name: 'SuccessfulWriteRequestLatency', stat: 'Average' },
    memorydb: { name: 'SuccessfulWriteRequestLatency', stat: 'Average' },
    serverless: { name: 'SuccessfulWriteRequestLatency', stat: 'Average' },
  },
}

/** Read for triage's history only: the live views have their own latency, measured on the nodes. */
const HISTORY_ONLY: ReadonlySet<CloudWatchMetric> = new Set(['readLatency', 'writeLatency'])

/** The metrics the live views poll. */
export const ALL_METRICS = (Object.keys(METRICS) as CloudWatchMetric[]).filter((m) => !HISTORY_ONLY.has(m))

/** Every metric in the table: what an incident report reads over the last hours. */
export const HISTORY_METRICS = Object.keys(METRICS) as CloudWatchMetric[]

export const NAMESPACE: Record<ServiceKey, string> = {
  elasticache: 'AWS/ElastiCache',
  serverless: 'AWS/ElastiCache',
  memorydb: 'AWS/MemoryDB',
}

/** GetMetricData accepts at most this many queries per call. */
export const MAX_QUERIES_PER_CALL = 500

/** Latest value per metric; a metric without datapoints is absent (e.g. ReplicationLag of a primary), never 0. */
export type CloudWatchSample = Partial<Record<CloudWatchMetric, number>>

export interface Datapoint {
  /** Start of the period, epoch ms. */
  at: number
  value: number
}

export type CloudWatchHistory = Partial<Record<CloudWatchMetric, Datapoint[]>>

export interface QueryPlan {
  queries: MetricDataQuery[]
  /** Query id -> what it asks for. */
  index: Map<string, { nodeId: string; metric: CloudWatchMetric }>
}

/** One query per (node, metric) the node's service publishes. Ids are q0, q1, ... */
export function buildQueries(
  nodes: CloudWatchNode[],
  metrics: CloudWatchMetric[],
  periodSeconds: number,
): QueryPlan {
  const queries: MetricDataQuery[] = []
  const index = new Map<string, { nodeId: string; metric: CloudWatchMetric }>()
  for (const node of nodes) {
    for (const metric of metrics) {
      const def = METRICS[metric][node.service]
      if (!def) continue
      const id = `q${queries.length}`
      queries.push({
        Id: id,
        MetricStat: {
          Metric: {
            Namespace: NAMESPACE[node.service],
            MetricName: def.name,
            Dimensions: Object.entries(node.dimensions).map(([Name, Value]) => ({ Name, Value })),
          },
          Period: periodSeconds,
          Stat: def.stat,
        },
        ReturnData: true,
      })
      index.set(id, { nodeId: node.id, metric })
    }
  }
  return { queries, index }
}

export function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

export interface CloudWatchSourceOptions {
  clients?: AwsClients
  aws?: AwsClientOptions
  metrics?: CloudWatchMetric[]
  /** Period of the datapoints; CloudWatch publishes these metrics at 60 s. */
  periodSeconds?: number
  /** How far back poll() looks for the latest datapoint (metrics arrive a minute or two late). */
  lookbackSeconds?: number
  now?: () => number
}

/**
 * CloudWatch metrics for ElastiCache / MemoryDB nodes, for the monitor (poll) and triage (history).
 * Queries are batched at 500 per GetMetricData call and poll() results are cached for the 60 s
 * period they belong to: polling every few seconds costs one set of calls per minute.
 */
export class CloudWatchSource {
  readonly stats = { calls: 0, queries: 0, cacheHits: 0 }
  private readonly clients: AwsClients
  private readonly metrics: CloudWatchMetric[]
  private readonly period: number
  private readonly lookback: number
  private readonly now: () => number
  private cache: { key: string; period: number; result: Map<string, CloudWatchSample> } | undefined

  constructor(options: CloudWatchSourceOptions = {}) {
    this.clients = options.clients ?? new AwsClients(options.aws)
    this.metrics = options.metrics ?? ALL_METRICS
    this.period = options.periodSeconds ?? 60
    this.lookback = options.lookbackSeconds ?? 600
    this.now = options.now ?? Date.now
  }

  /** Latest datapoint per node and metric. */
  async poll(nodes: CloudWatchNode[]): Promise<Map<string, CloudWatchSample>> {
    const nowMs = this.now()
    const periodIndex = Math.floor(nowMs / (this.period * 1000))
    const key = JSON.stringify([nodes.map((n) => [n.id, n.service, n.dimensions]), this.metrics])
    if (this.cache && this.cache.key === key && this.cache.period === periodIndex) {
      this.stats.cacheHits++
      return cloneSamples(this.cache.result)
    }
    const end = periodIndex * this.period * 1000
    const start = end - this.lookback * 1000
    const series = await this.fetch(nodes, start, end, 'TimestampDescending')
    const result = new Map<string, CloudWatchSample>(nodes.map((n) => [n.id, {}]))
    for (const [nodeId, byMetric] of series) {
      const sample = result.get(nodeId)!
      for (const [metric, points] of Object.entries(byMetric) as [CloudWatchMetric, Datapoint[]][]) {
        // Descending order: the first datapoint is the latest.
        if (points.length) sample[metric] = points[0].value
      }
    }
    this.cache = { key, period: periodIndex, result }
    return cloneSamples(result)
  }

  /**
   * The window fetchHistory reads for the last `hours`: whole periods, the period grown so that a
   * series has at most ~360 points.
   */
  historyWindow(hours: number): { periodSeconds: number; startMs: number; endMs: number } {
    const span = Math.max(1, hours * 3600)
    const period = Math.max(this.period, Math.ceil(span / 360 / 60) * 60)
    const endMs = Math.floor(this.now() / (period * 1000)) * period * 1000
    const startMs = endMs - Math.ceil(span / period) * period * 1000
    return { periodSeconds: period, startMs, endMs }
  }

  /** Datapoints for the last `hours` (or the `window` historyWindow gave), oldest first. */
  async fetchHistory(
    nodes: CloudWatchNode[],
    hours: number,
    window = this.historyWindow(hours),
  ): Promise<Map<string, CloudWatchHistory>> {
    return this.fetch(nodes, window.startMs, window.endMs, 'TimestampAscending', window.periodSeconds)
  }

  private async fetch(
    nodes: CloudWatchNode[],
    startMs: number,
    endMs: number,
    scanBy: 'TimestampAscending' | 'TimestampDescending',
    period = this.period,
  ): Promise<Map<string, CloudWatchHistory>> {
    const plan = buildQueries(nodes, this.metrics, period)
    const out = new Map<string, CloudWatchHistory>(nodes.map((n) => [n.id, {}]))
    if (!plan.queries.length) return out
    const { client, sdk } = await this.clients.cloudwatch()
    for (const batch of chunk(plan.queries, MAX_QUERIES_PER_CALL)) {
      const results = new Map<string, MetricDataResult>()
      let nextToken: string | undefined
      do {
        this.stats.calls++
        this.stats.queries += batch.length
        const page = await awsCall(
          {
            service: 'CloudWatch',
            operation: 'GetMetricData',
            resource: `metrics of ${nodes.length} node(s)`,
          },
          () =>
            client.send(
              new sdk.GetMetricDataCommand({
                MetricDataQueries: batch,
                StartTime: new Date(startMs),
                EndTime: new Date(endMs),
                ScanBy: scanBy,
                ...(nextToken ? { NextToken: nextToken } : {}),
              }),
            ),
        )
        for (const r of page.MetricDataResults ?? []) {
          if (!r.Id) continue
          const prev = results.get(r.Id)
          if (!prev)
            results.set(r.Id, { ...r, Timestamps: [...(r.Timestamps ?? [])], Values: [...(r.Values ?? [])] })
          else {
            prev.Timestamps!.push(...(r.Timestamps ?? []))
            prev.Values!.push(...(r.Values ?? []))
          }
        }
        nextToken = page.NextToken
      } while (nextToken)
      for (const [id, r] of results) {
        const what = plan.index.get(id)
        if (!what) continue
        const points: Datapoint[] = (r.Timestamps ?? []).map((t, i) => ({
          at: new Date(t).getTime(),
          value: r.Values![i],
        }))
        points.sort((a, b) => (scanBy === 'TimestampAscending' ? a.at - b.at : b.at - a.at))
        if (points.length) out.get(what.nodeId)![what.metric] = points
      }
    }
    return out
  }
}

function cloneSamples(m: Map<string, CloudWatchSample>): Map<string, CloudWatchSample> {
  return new Map([...m].map(([k, v]) => [k, { ...v }]))
}
