import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FakeAws } from '../../helpers/fake-aws/index.js'
import { startSandbox, type TestSandbox } from '../../helpers/sandbox.js'
import { eventually, sampleValue, startExport, type RunningExport } from './export-process.js'

/** `kvtop export --cloudwatch-namespace` against the local fake AWS endpoint (PutMetricData recorded). */
describe('kvtop export publishing to CloudWatch', () => {
  let fake: FakeAws
  let sb: TestSandbox
  let exporter: RunningExport | undefined
  let primaryAddr: string
  let replicaAddr: string

  beforeAll(async () => {
    fake = await new FakeAws().start()
    sb = await startSandbox({ shards: 0, replicas: 1 })
    primaryAddr = `127.0.0.1:${sb.summary.nodes.find((n) => n.role === 'primary')!.port}`
    replicaAddr = `127.0.0.1:${sb.summary.nodes.find((n) => n.role === 'replica')!.port}`
    // The first publication is throttled: the retry strategy backs off and sends it again.
    fake.throttle('cloudwatch', 'PutMetricData', 1)
    exporter = await startExport(
      [sb.url, '--interval', '0.5', '--cloudwatch-namespace', 'Kvtop/E2E', '--cloudwatch-interval', '1'],
      fake.env(),
    )
  }, 120_000)

  afterAll(async () => {
    await exporter?.stop()
    await sb?.down()
    await fake?.close()
  }, 60_000)

  it('publishes node state and replica lag with Deployment/Shard/Node dimensions, high resolution', async () => {
    const call = await eventually('a publication with both nodes up and the replica lag', async () =>
      fake.published.find(
        (c) =>
          c.data.filter((d) => d.metricName === 'NodeUp' && d.value === 1).length === 2 &&
          c.data.some((d) => d.metricName === 'ReplicaLagBytes'),
      ),
    )
    expect(call.namespace).toBe('Kvtop/E2E')
    const lag = call.data.find((d) => d.metricName === 'ReplicaLagBytes')!
    expect(lag.dimensions).toEqual({ Deployment: primaryAddr, Shard: '0', Node: replicaAddr })
    expect(lag.unit).toBe('Bytes')
    expect(lag.storageResolution).toBe(1)
    expect(lag.value).toBeGreaterThanOrEqual(0)
    expect(call.data.find((d) => d.metricName === 'NodesUp')).toMatchObject({
      dimensions: { Deployment: primaryAddr },
      value: 2,
    })
    // The throttled call was answered 400 once, then the same publication went through.
    const puts = fake.calls('cloudwatch', 'PutMetricData')
    expect(puts[0].status).toBe(400)
    expect(puts.slice(1).some((c) => c.status === 200)).toBe(true)
    expect(puts.every((c) => c.region === 'us-east-1')).toBe(true)
    expect(exporter!.lines().find((l) => l.type === 'cloudwatch-retry')?.message).toMatch(
      /^AWS CloudWatch throttled the request \(Throttling\); retrying in/,
    )
    expect(exporter!.lines().some((l) => l.type === 'cloudwatch-failed')).toBe(false)
  }, 120_000)

  it('reports failed publications without stopping /metrics', async () => {
    fake.deny('cloudwatch', 'PutMetricData', 1_000_000)
    await eventually('a cloudwatch-failed line', async () =>
      exporter!.lines().find((l) => l.type === 'cloudwatch-failed'),
    )
    const failed = exporter!.lines().find((l) => l.type === 'cloudwatch-failed')!
    expect(String(failed.message)).toMatch(/PutMetricData of \d+ metrics failed: .*not authorized/)
    const { status, body } = await exporter!.get('/metrics')
    expect(status).toBe(200)
    expect(sampleValue(body, `redis_up{deployment="${primaryAddr}",shard="0",addr="${primaryAddr}"}`)).toBe(1)
    expect(exporter!.stdout() + exporter!.stderr()).not.toContain(fake.secretAccessKey)
  }, 120_000)
})
