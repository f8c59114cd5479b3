import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../../helpers/cli.js'
import { startFakeAws, type FakeAws } from '../../helpers/fake-aws/index.js'

/** Under --json every stderr line is an NDJSON event, AWS retries and failures included. */
describe('AWS commands under --json: stderr is NDJSON only', () => {
  let fake: FakeAws

  beforeAll(async () => {
    fake = await startFakeAws({ delays: { snapshot: 100 } })
    fake.state.addReplicationGroup({ id: 'orders', shards: 2, replicas: 1, clusterMode: true })
    fake.state.addServerlessCache({ name: 'sless' })
    fake.throttle('elasticache', 'CreateSnapshot', 2, (p) => p.SnapshotName === 'json-retry')
    fake.deny('elasticache', 'DescribeServerlessCaches')
  })
  afterAll(async () => fake?.close())

  it('a throttled call: one {type: "retry"} event per retry, beside the phase events', async () => {
    const r = await runCli(
      [
        'snapshot',
        'aws',
        'create',
        '--elasticache',
        'orders',
        '--name',
        'json-retry',
        '--poll-interval',
        '0.05',
        '--json',
      ],
      { env: fake.env({}), timeoutMs: 120_000 },
    )
    expect(r.code, r.stderr).toBe(0)
    const events = r.stderr
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    for (const e of events) expect(e).toMatchObject({ type: expect.any(String), at: expect.any(Number) })
    const retries = events.filter((e) => e.type === 'retry')
    expect(retries).toHaveLength(2)
    expect(retries.map((e) => e.attempt)).toEqual([2, 3])
    for (const e of retries) {
      expect(e).toMatchObject({
        service: 'ElastiCache',
        errorName: 'Throttling',
        throttling: true,
        maxAttempts: 8,
      })
      expect(e.message).toMatch(/^AWS ElastiCache throttled the request \(Throttling\); retrying in \d+\.\ds/)
    }
    expect(JSON.parse(r.stdout)).toMatchObject({ snapshot: { name: 'json-retry' } })
  })

  it('an AWS API error: one {type: "error"} event on stderr with exit code 4', async () => {
    const r = await runCli(['discover', '--serverless', 'sless', '--aws-only', '--json'], {
      env: fake.env({}),
      timeoutMs: 120_000,
    })
    expect(r.code).toBe(4)
    const lines = r.stderr.trim().split('\n')
    expect(lines).toHaveLength(1)
    expect(JSON.parse(lines[0])).toMatchObject({ type: 'error', exitCode: 4 })
  })
})
