import { describe, expect, it } from 'vitest'
import type { AwsDeployment } from '../../../../src/aws/types.js'
import {
  buildAwsPlan,
  chooseNodeGroupsToRemove,
  nodeMemoryGiB,
  projectMemory,
  shardMemory,
  type AwsScaleRequest,
  type ShardMemory,
} from '../../../../src/ops/scale/aws.js'

const GiB = 1024 ** 3

function deployment(shards: number, replicas: number, extra: Partial<AwsDeployment> = {}): AwsDeployment {
  return {
    service: 'elasticache',
    kind: 'replication-group',
    name: 'orders',
    region: 'us-east-1',
    status: 'available',
    nodeType: 'cache.r7g.large',
    clusterMode: true,
    tls: true,
    shards: Array.from({ length: shards }, (_, s) => {
      const id = String(s + 1).padStart(4, '0')
      return {
        id,
        nodes: Array.from({ length: replicas + 1 }, (_, r) => {
          const node = `orders-${id}-00${r + 1}`
          return {
            id: node,
            cloudwatch: { id: node, service: 'elasticache' as const, dimensions: { CacheClusterId: node } },
          }
        }),
      }
    }),
    cloudwatch: { namespace: 'AWS/ElastiCache', nodes: [] },
    ...extra,
  }
}

function memory(used: number[], percent = 20): ShardMemory[] {
  return used.map((u, i) => ({
    shard: String(i + 1).padStart(4, '0'),
    primary: `orders-000${i + 1}-001`,
    bytesUsed: u * GiB,
    maxBytes: (u * GiB) / (percent / 100),
    usedPercent: percent,
  }))
}

const req = (r: Partial<AwsScaleRequest>): AwsScaleRequest => ({
  target: { kind: 'elasticache', name: 'orders' },
  memoryLimitPercent: 90,
  ...r,
})

describe('scale aws planning', () => {
  it('takes the primary from IsMaster and derives maxmemory from the usage percentage', () => {
    const d = deployment(1, 1)
    const samples = new Map([
      ['orders-0001-001', { isPrimary: 0, bytesUsed: 2 * GiB, memoryUsagePercent: 20 }],
      ['orders-0001-002', { isPrimary: 1, bytesUsed: 3 * GiB, memoryUsagePercent: 30 }],
    ])
    expect(shardMemory(d, samples)).toEqual([
      { shard: '0001', primary: 'orders-0001-002', bytesUsed: 3 * GiB, maxBytes: 10 * GiB, usedPercent: 30 },
    ])
    // A nonsense percentage gives no capacity.
    samples.set('orders-0001-002', { isPrimary: 1, bytesUsed: 3 * GiB, memoryUsagePercent: 450 })
    expect(shardMemory(d, samples)[0].maxBytes).toBeUndefined()
  })

  it('removes the node groups holding the least data', () => {
    expect(chooseNodeGroupsToRemove(memory([5, 1, 3, 1]), 2)).toEqual(['0004', '0002'])
  })

  it('plans ElastiCache scale-in with NodeGroupsToRemove and explains the choice', () => {
    const plan = buildAwsPlan(req({ shards: 2 }), {
      deployment: deployment(3, 1),
      memory: memory([5, 1, 3]),
      snapshotsInProgress: [],
    })
    expect(plan.steps).toHaveLength(1)
    expect(plan.steps[0]).toMatchObject({
      operation: 'ModifyReplicationGroupShardConfiguration',
      request: {
        ReplicationGroupId: 'orders',
        NodeGroupCount: 2,
        ApplyImmediately: true,
        NodeGroupsToRemove: ['0002'],
      },
    })
    expect(plan.steps[0].explanation).toMatch(/least data/)
    expect(plan.blockers).toEqual([])
  })

  it('blocks when the shards left would exceed the memory limit, unless forced', () => {
    const inputs = { deployment: deployment(2, 1), memory: memory([8, 8], 80), snapshotsInProgress: [] }
    const blocked = buildAwsPlan(req({ shards: 1 }), inputs)
    expect(blocked.memory.projectedPercent).toBe(160)
    expect(blocked.blockers.join()).toMatch(/160 % of maxmemory/)
    const forced = buildAwsPlan(req({ shards: 1, force: true }), inputs)
    expect(forced.blockers).toEqual([])
    expect(forced.warnings.join()).toMatch(/--ignore-memory-limit/)
  })

  it('scales the capacity by the node type ratio, and says when a type is unknown', () => {
    const m = memory([4, 4], 40)
    expect(projectMemory(m, 2, 'cache.r7g.large', 'cache.r7g.xlarge', 90).projectedPercent).toBeCloseTo(
      19.86,
      1,
    )
    expect(projectMemory(m, 2, 'cache.r7g.large', 'cache.x9.huge', 90).note).toMatch(
      /not in kvtop's node table/,
    )
    expect(nodeMemoryGiB('db.r7g.large')).toBe(13.07)
  })

  it('orders steps: capacity added first, taken away last', () => {
    const plan = buildAwsPlan(req({ shards: 2, replicas: 2, nodeType: 'cache.r7g.xlarge' }), {
      deployment: deployment(3, 1),
      memory: memory([1, 1, 1]),
      snapshotsInProgress: [],
    })
    expect(plan.steps.map((s) => s.kind)).toEqual(['replicas', 'node-type', 'shards'])
  })

  it('blocks while not available or while a snapshot is taken; refuses shards without cluster mode', () => {
    const plan = buildAwsPlan(req({ replicas: 2 }), {
      deployment: deployment(1, 1, { status: 'modifying' }),
      memory: memory([1]),
      snapshotsInProgress: ['nightly'],
    })
    expect(plan.blockers).toHaveLength(2)
    expect(() =>
      buildAwsPlan(req({ shards: 2 }), {
        deployment: deployment(1, 1, { clusterMode: false }),
        memory: memory([1]),
        snapshotsInProgress: [],
      }),
    ).toThrow(/cluster mode disabled/)
  })

  it('MemoryDB: UpdateCluster, and the service chooses the shards to remove', () => {
    const d = deployment(3, 1, { service: 'memorydb', kind: 'cluster', nodeType: 'db.r7g.large' })
    const plan = buildAwsPlan(req({ target: { kind: 'memorydb', name: 'orders' }, shards: 2 }), {
      deployment: d,
      memory: memory([1, 1, 1]),
      snapshotsInProgress: [],
    })
    expect(plan.steps[0]).toMatchObject({
      operation: 'UpdateCluster',
      request: { ClusterName: 'orders', ShardConfiguration: { ShardCount: 2 } },
    })
    expect(plan.steps[0].explanation).toMatch(/MemoryDB chooses/)
  })
})
