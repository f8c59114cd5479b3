/**
 * CloudWatch GetMetricData (and PutMetricData, recorded) over awsJson1_0 (X-Amz-Target: GraniteServiceVersion20100801.*,
 * query-compatible errors), as @aws-sdk/client-cloudwatch 3.1162 speaks it. Datapoints exist only
 * for the metric names a node's service publishes, with exactly that service's dimensions.
 */
import { FakeAwsError, PUBLISHED, metricValue, type FakeState } from './state.js'

interface Query {
  Id?: string
  MetricStat?: {
    Metric?: { Namespace?: string; MetricName?: string; Dimensions?: { Name?: string; Value?: string }[] }
    Period?: number
    Stat?: string
  }
  Expression?: string
  ReturnData?: boolean
}

export interface GetMetricDataCall {
  queries: Query[]
  startTime: number
  endTime: number
  scanBy?: string
  nextToken?: string
}

const ID = /^[a-z][a-zA-Z0-9_]*$/
const STATS = new Set(['Average', 'Sum', 'Maximum', 'Minimum', 'SampleCount'])

export function handleCloudWatch(
  state: FakeState,
  operation: string,
  body: Record<string, unknown>,
  calls: GetMetricDataCall[],
  options: { maxDatapointsPerPage: number; publishDelayMs: number },
): Record<string, unknown> {
  if (operation !== 'GetMetricData')
    throw new FakeAwsError('InvalidAction', `The fake does not implement ${operation}`)
  const queries = (body.MetricDataQueries as Query[] | undefined) ?? []
  const start = Number(body.StartTime) * 1000
  const end = Number(body.EndTime) * 1000
  calls.push({
    queries,
    startTime: start,
    endTime: end,
    scanBy: body.ScanBy as string | undefined,
    nextToken: body.NextToken as string | undefined,
  })
  if (!queries.length)
    throw new FakeAwsError('MissingParameter', 'The parameter MetricDataQueries is required.')
  if (queries.length > 500) {
    throw new FakeAwsError(
      'InvalidParameterValue',
      'The collection MetricDataQueries must not have a size greater than 500.',
    )
  }
  if (!(end > start))
    throw new FakeAwsError(
      'InvalidParameterValue',
      'The parameter StartTime must be less than the parameter EndTime.',
    )
  const ids = new Set<string>()
  for (const q of queries) {
    if (!q.Id || !ID.test(q.Id))
      throw new FakeAwsError(
        'InvalidParameterValue',
        `The value ${q.Id} for parameter MetricDataQueries.member.Id is not valid.`,
      )
    if (ids.has(q.Id))
      throw new FakeAwsError(
        'InvalidParameterValue',
        `The values for parameter id in MetricDataQueries are not unique.`,
      )
    ids.add(q.Id)
    const period = q.MetricStat?.Period ?? 0
    if (period < 1 || (period >= 60 && period % 60 !== 0))
      throw new FakeAwsError('InvalidParameterValue', `The parameter Period must be a multiple of 60.`)
    if (!STATS.has(q.MetricStat?.Stat ?? ''))
      throw new FakeAwsError('InvalidParameterValue', `Invalid statistic ${q.MetricStat?.Stat}.`)
  }

  const nodes = state.cloudwatchNodes()
  const latest = Date.now() - options.publishDelayMs
  const series = queries.map((q) => {
    const m = q.MetricStat!.Metric ?? {}
    const dims = Object.fromEntries((m.Dimensions ?? []).map((d) => [d.Name, d.Value]))
    // CloudWatch matches dimension sets exactly: a missing or extra dimension is another metric.
    const node = nodes.find(
      (n) =>
        n.namespace === m.Namespace &&
        Object.keys(n.dims).length === Object.keys(dims).length &&
        Object.entries(n.dims).every(([k, v]) => dims[k] === v),
    )
    const published = node
      ? PUBLISHED[
          node.role === 'cache' ? 'serverless' : (node.namespace as 'AWS/ElastiCache' | 'AWS/MemoryDB')
        ]
      : []
    const points: { t: number; v: number }[] = []
    if (node && published.includes(m.MetricName ?? '')) {
      const period = q.MetricStat!.Period! * 1000
      const key = `${m.Namespace}|${m.MetricName}|${node.id}`
      for (let t = Math.ceil(start / period) * period; t < end && t <= latest - period; t += period) {
        const override = state.metricOverrides.get(key)
        const v = override === undefined ? metricValue(m.MetricName!, node, t) : override
        if (v !== undefined && v !== null) points.push({ t, v })
      }
    }
    if (body.ScanBy !== 'TimestampAscending') points.reverse()
    return { id: q.Id!, label: m.MetricName ?? q.Id!, points }
  })

  // Pagination over the concatenated datapoints: NextToken is the offset.
  const offset = Number(body.NextToken ?? 0) || 0
  let budget = options.maxDatapointsPerPage
  let skipped = 0
  let total = 0
  const results = series.map((s) => {
    const from = Math.max(0, offset - skipped)
    skipped += s.points.length
    total += s.points.length
    const take = s.points.slice(from, from + Math.max(0, budget))
    budget -= take.length
    return {
      Id: s.id,
      Label: s.label,
      Timestamps: take.map((p) => p.t / 1000),
      Values: take.map((p) => p.v),
      StatusCode: 'Complete',
    }
  })
  const served = offset + (options.maxDatapointsPerPage - budget)
  return {
    MetricDataResults: results,
    Messages: [],
    ...(served < total ? { NextToken: String(served) } : {}),
  }
}

interface PutDatum {
  MetricName?: string
  Dimensions?: { Name?: string; Value?: string }[]
  Value?: number
  Unit?: string
  Timestamp?: number
  StorageResolution?: number
}

/** One accepted PutMetricData call, as recorded by the fake. */
export interface PutMetricDataCall {
  namespace: string
  data: {
    metricName: string
    dimensions: Record<string, string>
    value: number
    unit?: string
    timestamp?: number
    storageResolution?: number
  }[]
  bytes: number
}

/** PutMetricData's limits (API reference): 1000 metric data per call, a 1 MB body, 30 dimensions. */
export const PUT_LIMITS = { maxData: 1000, maxBytes: 1024 * 1024, maxDimensions: 30 }

/** PutMetricData, validated as CloudWatch validates it, each accepted call recorded. */
export function handlePutMetricData(
  body: Record<string, unknown>,
  bytes: number,
  published: PutMetricDataCall[],
): Record<string, unknown> {
  if (bytes > PUT_LIMITS.maxBytes)
    throw new FakeAwsError(
      'RequestEntityTooLarge',
      `Request size ${bytes} exceeded ${PUT_LIMITS.maxBytes} bytes`,
      413,
    )
  const namespace = body.Namespace
  if (typeof namespace !== 'string' || !namespace)
    throw new FakeAwsError('MissingParameter', 'The parameter Namespace is required.')
  if (namespace.startsWith('AWS/'))
    throw new FakeAwsError('InvalidParameterValue', 'The value AWS/ for parameter Namespace is invalid.')
  const data = (body.MetricData as PutDatum[] | undefined) ?? []
  if (!data.length) throw new FakeAwsError('MissingParameter', 'The parameter MetricData is required.')
  if (data.length > PUT_LIMITS.maxData)
    throw new FakeAwsError(
      'InvalidParameterValue',
      `The collection MetricData must not have a size greater than ${PUT_LIMITS.maxData}.`,
    )
  for (const [i, d] of data.entries()) {
    if (!d.MetricName)
      throw new FakeAwsError(
        'MissingParameter',
        `The parameter MetricData.member.${i + 1}.MetricName is required.`,
      )
    if (typeof d.Value !== 'number' || !Number.isFinite(d.Value) || Math.abs(d.Value) > 2 ** 360)
      throw new FakeAwsError(
        'InvalidParameterValue',
        `The value for parameter MetricData.member.${i + 1}.Value is invalid.`,
      )
    if ((d.Dimensions ?? []).length > PUT_LIMITS.maxDimensions)
      throw new FakeAwsError(
        'InvalidParameterValue',
        `MetricData.member.${i + 1} has more than 30 dimensions.`,
      )
    for (const dim of d.Dimensions ?? [])
      if (!dim.Name || !dim.Value || dim.Value.length > 1024)
        throw new FakeAwsError(
          'InvalidParameterValue',
          `A dimension of MetricData.member.${i + 1} is invalid.`,
        )
  }
  published.push({
    namespace,
    bytes,
    data: data.map((d) => ({
      metricName: d.MetricName!,
      dimensions: Object.fromEntries((d.Dimensions ?? []).map((x) => [x.Name!, x.Value!])),
      value: d.Value!,
      ...(d.Unit ? { unit: d.Unit } : {}),
      ...(d.Timestamp !== undefined ? { timestamp: d.Timestamp } : {}),
      ...(d.StorageResolution !== undefined ? { storageResolution: d.StorageResolution } : {}),
    })),
  })
  return {}
}
