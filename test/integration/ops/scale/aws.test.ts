import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli, type CliResult } from '../../../helpers/cli.js'
import { startFakeAws, type FakeAws } from '../../../helpers/fake-aws/index.js'
import { startSandbox, type TestSandbox } from '../../../helpers/sandbox.js'

/**
 * `kvtop scale aws` end to end: the built CLI, the real SDK clients, the fake AWS endpoint.
 * Every run targets its own replication group / cluster, so they all start at once in beforeAll.
 */
const GiB = 1024 ** 3
let fake: FakeAws
let sb: TestSandbox
const runs: Record<string, Promise<CliResult>> = {}
const cli = (args: string[]) => runCli(args, { env: fake.env(), timeoutMs: 90_000 })
/** The NDJSON progress events of a --json run (stderr); its result document is stdout. */
const lines = (r: CliResult) =>
  r.stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, any>)
const resultOf = (r: CliResult) => JSON.parse(r.stdout) as Record<string, any>

/** CloudWatch figures for one ElastiCache node: bytes used and the share of maxmemory. */
function ecMemory(node: string, bytes: number, percent: number): void {
  fake.state.metricOverrides.set(`AWS/ElastiCache|BytesUsedForCache|${node}`, bytes)
  fake.state.metricOverrides.set(`AWS/ElastiCache|DatabaseMemoryUsagePercentage|${node}`, percent)
}

function params(operation: string, match: string): Record<string, unknown> {
  const call = fake.requests.find(
    (r) => r.operation === operation && JSON.stringify(r.params).includes(match) && r.status === 200,
  )
  return call?.params ?? {}
}

beforeAll(async () => {
  fake = await startFakeAws({ delays: { snapshot: 200, export: 200, modify: 300, create: 200 } })
  sb = await startSandbox({ shards: 2, replicas: 0 })
  const s = fake.state
  // Scale-in: 0002 holds the least data and goes.
  s.addReplicationGroup({ id: 'shop', shards: 3, replicas: 1, clusterMode: true })
  ecMemory('shop-0001-001', 5 * GiB, 50)
  ecMemory('shop-0002-001', 1 * GiB, 10)
  ecMemory('shop-0003-001', 3 * GiB, 30)
  s.addReplicationGroup({ id: 'grow', shards: 2, replicas: 1, clusterMode: true })
  s.addReplicationGroup({ id: 'tight', shards: 2, replicas: 1, clusterMode: true })
  ecMemory('tight-0001-001', 8 * GiB, 80)
  ecMemory('tight-0002-001', 8 * GiB, 80)
  s.addReplicationGroup({ id: 'forced', shards: 2, replicas: 1, clusterMode: true })
  ecMemory('forced-0001-001', 8 * GiB, 80)
  ecMemory('forced-0002-001', 8 * GiB, 80)
  s.addReplicationGroup({ id: 'busy', shards: 2, replicas: 1, clusterMode: true, status: 'modifying' })
  s.addReplicationGroup({ id: 'snapping', shards: 2, replicas: 1, clusterMode: true })
  s.addSnapshot({
    service: 'elasticache',
    name: 'nightly-in-progress',
    status: 'creating',
    source: 'snapping',
    sourceKind: 'replication-group',
    origin: 'manual',
    shards: [{ id: '0001', sizeBytes: 1 << 20, createdAt: new Date() }],
  })
  s.addReplicationGroup({ id: 'reps', shards: 2, replicas: 1, clusterMode: true })
  s.addReplicationGroup({ id: 'solo', clusterMode: false, replicas: 1 })
  s.addReplicationGroup({ id: 'pick', shards: 3, replicas: 1, clusterMode: true })
  s.addReplicationGroup({
    id: 'live',
    shards: 2,
    replicas: 0,
    clusterMode: true,
    tls: false,
    endpoint: { host: '127.0.0.1', port: sb.summary.nodes[0].port },
  })
  s.addMemoryDBCluster({ name: 'sessions', shards: 2, replicas: 1 })
  // Every other node: 1 GiB used, 10 % of maxmemory (the fake's own figures are arbitrary).
  for (const node of s.cloudwatchNodes()) {
    const bytes = node.namespace === 'AWS/MemoryDB' ? 'BytesUsedForMemoryDB' : 'BytesUsedForCache'
    if (!s.metricOverrides.has(`${node.namespace}|${bytes}|${node.id}`)) {
      s.metricOverrides.set(`${node.namespace}|${bytes}|${node.id}`, GiB)
      s.metricOverrides.set(`${node.namespace}|DatabaseMemoryUsagePercentage|${node.id}`, 10)
    }
  }

  const wait = ['--poll-interval', '0.05']
  runs.scaleIn = cli(['scale', 'aws', '--elasticache', 'shop', '--shards', '2', '--yes', '--json', ...wait])
  runs.dryOut = cli(['scale', 'aws', '--elasticache', 'grow', '--shards', '4', '--dry-run', '--json'])
  runs.tight = cli(['scale', 'aws', '--elasticache', 'tight', '--shards', '1', '--yes', ...wait])
  runs.tightDry = cli(['scale', 'aws', '--elasticache', 'tight', '--shards', '1', '--dry-run'])
  runs.forced = cli(['scale', 'aws', '--elasticache', 'forced', '--shards', '1', '--force', '--yes', ...wait])
  runs.busy = cli(['scale', 'aws', '--elasticache', 'busy', '--shards', '3', '--yes'])
  runs.snapping = cli(['scale', 'aws', '--elasticache', 'snapping', '--shards', '3', '--yes'])
  runs.replicas = cli([
    'scale',
    'aws',
    '--elasticache',
    'reps',
    '--replicas',
    '2',
    '--node-type',
    'cache.r7g.xlarge',
    '--yes',
    ...wait,
  ])
  runs.solo = cli(['scale', 'aws', '--elasticache', 'solo', '--shards', '2', '--yes'])
  runs.noYes = cli(['scale', 'aws', '--elasticache', 'grow', '--shards', '3'])
  runs.pick = cli([
    'scale',
    'aws',
    '--elasticache',
    'pick',
    '--shards',
    '2',
    '--remove-shard',
    '0001',
    '--yes',
    '--json',
    '--no-wait',
  ])
  runs.live = cli(['scale', 'aws', '--elasticache', 'live', '--shards', '3', '--yes', '--json', ...wait])
  runs.mdb = cli(['scale', 'aws', '--memorydb', 'sessions', '--shards', '3', '--yes', '--json', ...wait])
  runs.mdbRemove = cli([
    'scale',
    'aws',
    '--memorydb',
    'sessions',
    '--shards',
    '1',
    '--remove-shard',
    '0001',
    '--yes',
  ])
}, 180_000)

afterAll(async () => {
  await Promise.allSettled(Object.values(runs))
  await fake?.close()
  await sb?.down()
})

describe('kvtop scale aws against the fake AWS endpoint', { timeout: 120_000 }, () => {
  it('ElastiCache scale-in names the node group holding the least data, explains it, and waits', async () => {
    const r = await runs.scaleIn
    expect(r.code, r.stderr).toBe(0)
    const events = lines(r)
    const plan = events.find((e) => e.type === 'plan')!.plan
    expect(plan.steps).toHaveLength(1)
    expect(plan.steps[0].request.NodeGroupsToRemove).toEqual(['0002'])
    expect(plan.steps[0].explanation).toMatch(/0002 \(1\.00 GiB\).*least data/)
    expect(plan.memory.projectedPercent).toBeCloseTo(45, 0)
    const call = params('ModifyReplicationGroupShardConfiguration', 'shop')
    expect(call.NodeGroupCount).toBe('2')
    expect(call.ApplyImmediately).toBe('true')
    expect(Object.entries(call).filter(([k]) => k.startsWith('NodeGroupsToRemove.'))).toEqual([
      ['NodeGroupsToRemove.NodeGroupToRemove.1', '0002'],
    ])
    expect(events.some((e) => e.type === 'phase' && e.status === 'modifying')).toBe(true)
    expect(resultOf(r).result).toMatchObject({ complete: true, shards: 2, status: 'available' })
    expect(fake.state.replicationGroups.get('shop')!.nodeGroups).toHaveLength(2)
  })

  it('--dry-run prints the scale-out plan and calls nothing', async () => {
    const r = await runs.dryOut
    expect(r.code, r.stderr).toBe(0)
    const { plan, dryRun } = JSON.parse(r.stdout)
    expect(dryRun).toBe(true)
    expect(plan.steps[0]).toMatchObject({
      operation: 'ModifyReplicationGroupShardConfiguration',
      from: 2,
      to: 4,
      request: { ReplicationGroupId: 'grow', NodeGroupCount: 4, ApplyImmediately: true },
    })
    expect(plan.blockers).toEqual([])
  })

  it('refuses a change that leaves too little memory per shard; --dry-run exits 1; --force goes ahead', async () => {
    const tight = await runs.tight
    expect(tight.code).toBe(2)
    expect(tight.stderr).toMatch(/160 % of maxmemory/)
    expect(tight.stderr).toMatch(/--ignore-memory-limit/)
    expect(params('ModifyReplicationGroupShardConfiguration', 'tight')).toEqual({})
    const dry = await runs.tightDry
    expect(dry.code).toBe(1)
    expect(dry.stdout).toMatch(/Blocker: .*above the 90 % limit/)
    const forced = await runs.forced
    expect(forced.code, forced.stderr).toBe(0)
    // --force, the old name, still works and says what to use instead.
    expect(forced.stderr).toContain(
      'Warning: The "--force" flag has been deprecated. Use "--ignore-memory-limit"',
    )
    expect(fake.state.replicationGroups.get('forced')!.nodeGroups).toHaveLength(1)
  })

  it('refuses while the group is not available or a snapshot is being taken', async () => {
    const busy = await runs.busy
    expect(busy.code).toBe(2)
    expect(busy.stderr).toMatch(/'modifying', not 'available'/)
    const snapping = await runs.snapping
    expect(snapping.code).toBe(2)
    expect(snapping.stderr).toMatch(/snapshot 'nightly-in-progress' is being taken/)
  })

  it('changes replicas and node type one step after the other', async () => {
    const r = await runs.replicas
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/IncreaseReplicaCount replicas 1 -> 2: available/)
    expect(r.stdout).toMatch(
      /ModifyReplicationGroup node-type cache.r7g.large -> cache.r7g.xlarge: available/,
    )
    expect(params('IncreaseReplicaCount', 'reps')).toMatchObject({
      NewReplicaCount: '2',
      ApplyImmediately: 'true',
    })
    expect(params('ModifyReplicationGroup', '"reps"')).toMatchObject({ CacheNodeType: 'cache.r7g.xlarge' })
    const rg = fake.state.replicationGroups.get('reps')!
    expect(rg.nodeGroups[0].nodes).toHaveLength(3)
    expect(rg.nodeType).toBe('cache.r7g.xlarge')
  })

  it('takes the node groups named with --remove-shard (and returns at once with --no-wait)', async () => {
    const r = await runs.pick
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout).result.steps[0].status).toBe('requested')
    expect(
      params('ModifyReplicationGroupShardConfiguration', 'pick')['NodeGroupsToRemove.NodeGroupToRemove.1'],
    ).toBe('0001')
  })

  it('refuses what cannot be done: shards with cluster mode disabled, no --yes on a pipe, --remove-shard on MemoryDB', async () => {
    const solo = await runs.solo
    expect(solo.code).toBe(2)
    expect(solo.stderr).toMatch(/cluster mode disabled/)
    const noYes = await runs.noYes
    expect(noYes.code).toBe(2)
    expect(noYes.stderr).toMatch(/--yes/)
    const mdbRemove = await runs.mdbRemove
    expect(mdbRemove.code).toBe(2)
    expect(mdbRemove.stderr).toMatch(/MemoryDB chooses the shards to remove itself/)
  })

  it('MemoryDB: UpdateCluster with the new shard count, waited for', async () => {
    const r = await runs.mdb
    expect(r.code, r.stderr).toBe(0)
    const call = params('UpdateCluster', 'sessions')
    expect(call).toMatchObject({ ClusterName: 'sessions', ShardConfiguration: { ShardCount: 3 } })
    expect(resultOf(r).result).toMatchObject({ complete: true, shards: 3 })
  })

  it('shows the slot distribution of a reachable endpoint while AWS works', async () => {
    const r = await runs.live
    expect(r.code, r.stderr).toBe(0)
    const slots = lines(r).filter((e) => e.type === 'slots')
    expect(slots.length).toBeGreaterThan(0)
    expect(slots[0].shards.map((s: { slotCount: number }) => s.slotCount)).toEqual([8192, 8192])
    expect(slots[0].shards[0].slots).toEqual([[0, 8191]])
  })
})
