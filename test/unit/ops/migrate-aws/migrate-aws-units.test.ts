import { describe, expect, it } from 'vitest'
import { formatAwsMigration } from '../../../../src/ops/migrate-aws/format.js'
import { memoryDbNodeType, plannedCalls, snapshotArns } from '../../../../src/ops/migrate-aws/plan.js'
import { checkSameParams, freshState } from '../../../../src/ops/migrate-aws/state.js'
import type { MigrateAwsParams } from '../../../../src/ops/migrate-aws/types.js'

const params: MigrateAwsParams = {
  source: 'orders',
  target: 'orders-mdb',
  bucket: 'exports',
  snapshotName: 'orders-move',
  prefix: 'orders-move',
  nodeType: 'db.r6g.large',
  shards: 4,
  replicas: 1,
  acl: 'orders-acl',
  subnetGroup: 'private',
  region: 'eu-west-1',
}

describe('migrate aws: plan', () => {
  it('maps ElastiCache node types to MemoryDB ones, and nothing else', () => {
    expect(memoryDbNodeType('cache.r6g.large')).toBe('db.r6g.large')
    expect(memoryDbNodeType('cache.t4g.small')).toBe('db.t4g.small')
    expect(memoryDbNodeType('db.r6g.large')).toBeUndefined()
    expect(memoryDbNodeType(undefined)).toBeUndefined()
  })

  it('seeds CreateCluster with one S3 ARN per exported object, with every parameter given', () => {
    expect(snapshotArns('b', ['p-0001.rdb', 'p-0002.rdb'])).toEqual([
      'arn:aws:s3:::b/p-0001.rdb',
      'arn:aws:s3:::b/p-0002.rdb',
    ])
    const calls = plannedCalls(params, ['orders-move-0001.rdb'])
    expect(calls.map((c) => c.step)).toEqual([
      'snapshot',
      'snapshot',
      'export',
      'export',
      'export',
      'create-cluster',
      'wait-cluster',
      'compare',
    ])
    expect(calls.find((c) => c.operation === 'CreateCluster')!.params).toEqual({
      ClusterName: 'orders-mdb',
      NodeType: 'db.r6g.large',
      ACLName: 'orders-acl',
      NumShards: 4,
      NumReplicasPerShard: 1,
      SubnetGroupName: 'private',
      TLSEnabled: true,
      SnapshotArns: ['arn:aws:s3:::exports/orders-move-0001.rdb'],
    })
  })

  it('a resume must be asked for with the same parameters (unset ones take the saved values)', () => {
    expect(() => checkSameParams('s.json', params, { source: 'orders', shards: undefined })).not.toThrow()
    expect(() => checkSameParams('s.json', params, { bucket: 'other', replicas: 2 })).toThrow(
      's.json records another migration (bucket: exports, not other; replicas: 1, not 2)',
    )
    const state = freshState(params, 1000)
    expect(Object.values(state.steps).every((s) => !s.done)).toBe(true)
    expect(Object.keys(state.steps)).toEqual([
      'snapshot',
      'export',
      'create-cluster',
      'wait-cluster',
      'compare',
    ])
  })

  it('says when the comparison could not run, and where to run it', () => {
    const text = formatAwsMigration({
      params,
      steps: [{ step: 'compare', status: 'done', elapsedMs: 1200, detail: 'skipped: unreachable' }],
      snapshotArns: [],
      compare: { skipped: 'cannot reach both endpoints from here (connect ETIMEDOUT)' },
      phases: [],
    })
    expect(text.split('\n')).toEqual([
      'ElastiCache orders -> MemoryDB orders-mdb',
      '  compare         done in 0:01: skipped: unreachable',
      '',
      'Not compared: cannot reach both endpoints from here (connect ETIMEDOUT). From a host that reaches both: kvtop verify --source <elasticache URL> --target <memorydb URL>',
    ])
  })
})
