import {
  CloudWatchClient,
  PutMetricDataCommand,
  type PutMetricDataCommandInput,
} from '@aws-sdk/client-cloudwatch'
import { mockClient } from 'aws-sdk-client-mock'
import { afterAll, beforeEach, describe, expect, it } from 'vitest'
import { AwsClients } from '../../../src/aws/clients.js'
import { CloudWatchPublisher } from '../../../src/export/cloudwatch-publisher.js'
import { AT, node, snapshot, view } from './fixtures.js'

const cw = mockClient(CloudWatchClient)
afterAll(() => cw.restore())
beforeEach(() => cw.reset())

const at = new Date(AT + 500)

describe('CloudWatchPublisher', () => {
  /** 1500 nodes: 1503 metric data, two calls. */
  const big = () =>
    view({
      snapshot: snapshot(
        Array.from({ length: 1500 }, (_, i) => node({ id: `n${i}`, port: 10000 + i, role: 'primary' })),
        { replication: [] },
      ),
      events: new Map([['failover', 1]]),
    })

  it('publishes every datum in calls within the limits, to the namespace', async () => {
    cw.on(PutMetricDataCommand).resolves({})
    const clients = new AwsClients({ region: 'eu-west-1' })
    const publisher = new CloudWatchPublisher({ namespace: 'Kvtop/Test', intervalMs: 60_000, clients })
    const result = await publisher.publish([big()], at)
    const calls = cw
      .commandCalls(PutMetricDataCommand)
      .map((c) => c.args[0].input as PutMetricDataCommandInput)
    expect(result).toEqual({ namespace: 'Kvtop/Test', metrics: 1504, calls: 2, failedCalls: 0 })
    expect(calls.map((c) => [c.Namespace, c.MetricData!.length])).toEqual([
      ['Kvtop/Test', 1000],
      ['Kvtop/Test', 504],
    ])
    expect(calls.flatMap((c) => c.MetricData!).filter((d) => d.MetricName === 'NodeUp').length).toBe(1500)
    await publisher.stop()
  })

  it('reports a failed call and keeps the increases for the next publication', async () => {
    cw.on(PutMetricDataCommand)
      .rejectsOnce(
        Object.assign(new Error('Rate exceeded'), { name: 'Throttling', $metadata: { httpStatusCode: 400 } }),
      )
      .resolves({})
    const failures: string[] = []
    const publisher = new CloudWatchPublisher({
      namespace: 'Kvtop/Test',
      intervalMs: 60_000,
      clients: new AwsClients({ region: 'eu-west-1' }),
      onFailed: (m) => failures.push(m),
    })
    const first = await publisher.publish([big()], at)
    expect(first.failedCalls).toBe(1)
    expect(failures).toHaveLength(1)
    expect(failures[0]).toMatch(/^PutMetricData of 1000 metrics failed: .*Rate exceeded/)
    // (the mock's call count stays: resetHistory would replay the rejection)
    const seen = cw.commandCalls(PutMetricDataCommand).length
    // The failover counted before was not acknowledged: it is sent again.
    expect(await publisher.publish([big()], at)).toMatchObject({ calls: 2, failedCalls: 0 })
    const events = cw
      .commandCalls(PutMetricDataCommand)
      .slice(seen)
      .flatMap((c) => (c.args[0].input as PutMetricDataCommandInput).MetricData!)
      .filter((d) => d.MetricName === 'Events')
    expect(events.map((d) => d.Value)).toEqual([1])
    const seenAgain = cw.commandCalls(PutMetricDataCommand).length
    await publisher.publish([big()], at)
    const after = cw
      .commandCalls(PutMetricDataCommand)
      .slice(seenAgain)
      .flatMap((c) => (c.args[0].input as PutMetricDataCommandInput).MetricData!)
      .filter((d) => d.MetricName === 'Events')
    expect(after).toEqual([])
    await publisher.stop()
  })
})
