import { describe, expect, it } from 'vitest'
import {
  batchMetricData,
  cloudWatchData,
  PUT_METRIC_DATA_LIMITS,
  type MetricDatum,
} from '../../../src/export/cloudwatch-data.js'
import { AT, healthy, view } from './fixtures.js'

const at = new Date(AT + 500)

function datum(i: number, dimensionValue = `127.0.0.1:${i}`): MetricDatum {
  return {
    MetricName: 'NodeUp',
    Dimensions: [{ Name: 'Node', Value: dimensionValue }],
    Value: 1,
    Unit: 'None',
    Timestamp: at,
  }
}

/** The request body's size as the SDK's JSON protocol sends it. */
function bodyBytes(namespace: string, batch: MetricDatum[]): number {
  return Buffer.byteLength(
    JSON.stringify({
      Namespace: namespace,
      MetricData: batch.map((d) => ({ ...d, Timestamp: d.Timestamp.getTime() / 1000 })),
    }),
  )
}

describe('CloudWatch data from the cached rounds', () => {
  it('publishes replica lag, headroom, link and node state with Deployment/Shard/Node dimensions', () => {
    const { data } = cloudWatchData([view({ snapshot: healthy() })], at, new Map(), false)
    const shown = data.map(
      (d) =>
        `${d.MetricName} ${d.Dimensions.map((x) => `${x.Name}=${x.Value}`).join(',')} ${d.Value} ${d.Unit}`,
    )
    expect(shown).toEqual([
      'SlowlogEntries Deployment=orders 0 Count',
      'NodesUp Deployment=orders 2 Count',
      'AlertsActive Deployment=orders 0 Count',
      'NodeUp Deployment=orders,Shard=0,Node=127.0.0.1:7000 1 None',
      'NodeUp Deployment=orders,Shard=0,Node=127.0.0.1:7001 1 None',
      'ReplicationWriteBytesPerSecond Deployment=orders,Shard=0 50 Bytes/Second',
      'ReplicaLagBytes Deployment=orders,Shard=0,Node=127.0.0.1:7001 100 Bytes',
      'ReplicaLagSeconds Deployment=orders,Shard=0,Node=127.0.0.1:7001 2 Seconds',
      'ReplicaLinkUp Deployment=orders,Shard=0,Node=127.0.0.1:7001 1 None',
      'ReplicaBacklogHeadroomBytes Deployment=orders,Shard=0,Node=127.0.0.1:7001 1048476 Bytes',
    ])
    expect(data.every((d) => d.Timestamp === at && d.StorageResolution === undefined)).toBe(true)
    const high = cloudWatchData([view({ snapshot: healthy() })], at, new Map(), true).data
    expect(high.every((d) => d.StorageResolution === 1)).toBe(true)
  })

  it('sends events and slowlog entries as increases since the last accepted publication', () => {
    const first = cloudWatchData(
      [
        view({
          snapshot: healthy(),
          events: new Map([['failover', 2]]),
          slowlog: new Map([['GET k:*', { count: 5, totalUs: 10 }]]),
        }),
      ],
      at,
      new Map(),
      false,
    )
    const pick = (data: MetricDatum[], name: string) =>
      data.filter((d) => d.MetricName === name).map((d) => d.Value)
    expect(pick(first.data, 'Events')).toEqual([2])
    expect(pick(first.data, 'SlowlogEntries')).toEqual([5])
    const second = cloudWatchData(
      [
        view({
          snapshot: healthy(),
          events: new Map([['failover', 3]]),
          slowlog: new Map([['GET k:*', { count: 5, totalUs: 10 }]]),
        }),
      ],
      at,
      first.counts,
      false,
    )
    expect(pick(second.data, 'Events')).toEqual([1])
    expect(second.data.find((d) => d.MetricName === 'Events')!.Dimensions).toEqual([
      { Name: 'Deployment', Value: 'orders' },
      { Name: 'Type', Value: 'failover' },
    ])
    expect(pick(second.data, 'SlowlogEntries')).toEqual([0])
  })

  it('a stale or never reached deployment publishes its nodes down', () => {
    const stale = cloudWatchData(
      [view({ snapshot: healthy() })],
      new Date(AT + 60_000),
      new Map(),
      false,
    ).data
    expect(stale.filter((d) => d.MetricName === 'NodeUp').map((d) => d.Value)).toEqual([0, 0])
    expect(stale.find((d) => d.MetricName === 'NodesUp')!.Value).toBe(0)
    const never = cloudWatchData([view({ snapshot: undefined })], at, new Map(), false).data
    expect(never.map((d) => `${d.MetricName} ${d.Value}`)).toEqual(['SlowlogEntries 0', 'NodesUp 0'])
  })
})

describe('PutMetricData batching', () => {
  it('splits at 1000 metric data per call, in order', () => {
    const data = Array.from({ length: 2500 }, (_, i) => datum(i))
    const batches = batchMetricData(data)
    expect(batches.map((b) => b.length)).toEqual([1000, 1000, 500])
    expect(batches.flat()).toEqual(data)
  })

  it('splits before a request body would pass 1 MB', () => {
    // ~1.1 KB each: 1000 of them would be 1.1 MB.
    const data = Array.from({ length: 1000 }, (_, i) => datum(i, `${i}:`.padEnd(1024, 'x')))
    const batches = batchMetricData(data)
    expect(batches.length).toBe(2)
    expect(batches.flat()).toEqual(data)
    for (const b of batches) {
      expect(b.length).toBeLessThanOrEqual(PUT_METRIC_DATA_LIMITS.maxData)
      expect(bodyBytes('Kvtop', b)).toBeLessThan(1_000_000)
    }
    expect(bodyBytes('Kvtop', data)).toBeGreaterThan(1_000_000)
  })
})
