import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../../helpers/cli.js'
import { startFakeAws, type FakeAws } from '../../helpers/fake-aws/index.js'
import { startSandbox, type TestSandbox } from '../../helpers/sandbox.js'

/**
 * `status --elasticache RG --cloudwatch`: the deployment is looked up at (fake) AWS, its endpoint
 * is a real sandbox cluster, and every node's CloudWatch figures appear beside its own metrics.
 */
let fake: FakeAws
let sandbox: TestSandbox

beforeAll(async () => {
  sandbox = await startSandbox({ shards: 2, replicas: 1, flavor: 'elasticache' })
  fake = await startFakeAws()
  // Member order of the fake: per shard, the primary then its replica.
  const nodes = [...sandbox.summary.nodes].sort(
    (a, b) => a.shard - b.shard || (a.role === 'primary' ? -1 : 1),
  )
  fake.state.addReplicationGroup({
    id: 'orders',
    shards: 2,
    replicas: 1,
    clusterMode: true,
    tls: false,
    endpoint: { host: '127.0.0.1', port: nodes[0].port },
    nodeEndpoints: nodes.map((n) => ({ host: '127.0.0.1', port: n.port })),
  })
})

afterAll(async () => {
  await sandbox?.down()
  await fake?.close()
})

describe('kvtop status --cloudwatch', () => {
  it('shows per-node CloudWatch figures matched to the topology, replication lag only on replicas', async () => {
    // The endpoint comes from AWS; the credentials from --user and KVTOP_PASSWORD.
    const password = sandbox.state.clientPassword!
    const r = await runCli(
      [
        'status',
        '--elasticache',
        'orders',
        '--user',
        sandbox.state.clientUser,
        '--cloudwatch',
        '--json',
        '--interval',
        '0.3',
      ],
      { env: fake.env({ KVTOP_PASSWORD: password }), timeoutMs: 60_000 },
    )
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const doc = JSON.parse(r.stdout) as {
      external: { source: string; at?: number; error?: string }
      nodes: { address: string; role: string; external?: Record<string, number> }[]
    }
    expect(doc.external.source).toBe('cloudwatch')
    expect(doc.external.error).toBeUndefined()
    expect(doc.nodes).toHaveLength(4)
    for (const n of doc.nodes) {
      expect(n.external, n.address).toBeDefined()
      expect(typeof n.external!.cpu).toBe('number')
      if (n.role === 'replica') expect(typeof n.external!.replicationLag).toBe('number')
      else expect(n.external!.replicationLag).toBeUndefined()
    }
    expect(r.stdout).not.toContain(password)
  })

  it('without an AWS identity: exit 2 naming the flags to add', async () => {
    const r = await runCli(['status', sandbox.url, '--cloudwatch'], { env: fake.env(), timeoutMs: 60_000 })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain("--cloudwatch needs the deployment's AWS identity")
    expect(r.stderr).toContain('--elasticache')
  })
})
