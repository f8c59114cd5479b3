import {
  CreateSnapshotCommand,
  DescribeSnapshotsCommand,
  SnapshotAlreadyExistsFault,
} from '@aws-sdk/client-elasticache'
import { DescribeSnapshotsCommand as MdbDescribeSnapshotsCommand } from '@aws-sdk/client-memorydb'
import { describe, expect, it } from 'vitest'
import {
  createAwsSnapshot,
  exportKeys,
  fromElastiCacheSnapshot,
  listSnapshots,
  parseSize,
} from '../../../src/aws/snapshots.js'
import { denied } from './sdk-error.js'
import { mockedAwsClients } from './mocked-clients.js'

const { ec, mdb, clients } = mockedAwsClients('us-east-1')

describe('export object keys and sizes', () => {
  it('one <prefix>-NNNN.rdb per shard', () => {
    expect(exportKeys('nightly', 3)).toEqual(['nightly-0001.rdb', 'nightly-0002.rdb', 'nightly-0003.rdb'])
    expect(exportKeys('solo', 1)).toEqual(['solo-0001.rdb'])
  })

  it('shards come from NumNodeGroups (or distinct node groups); sizes are summed', () => {
    const s = fromElastiCacheSnapshot({
      SnapshotName: 's',
      SnapshotStatus: 'available',
      ReplicationGroupId: 'orders',
      SnapshotSource: 'manual',
      NodeSnapshots: [
        { NodeGroupId: '0001', CacheSize: '5 MB', SnapshotCreateTime: new Date(2000) },
        { NodeGroupId: '0002', CacheSize: '1.5 GB', SnapshotCreateTime: new Date(1000) },
      ],
    })
    expect(s).toMatchObject({
      shards: 2,
      source: 'orders',
      origin: 'manual',
      createdAt: 1000,
      sizeBytes: 5 * 1024 ** 2 + 1.5 * 1024 ** 3,
    })
    expect(parseSize('12 kb')).toBe(12 * 1024)
    expect(parseSize('n/a')).toBeUndefined()
  })
})

describe('snapshot create and list', () => {
  it('an existing snapshot of the same source is waited on (resume), of another source refused', async () => {
    ec.on(CreateSnapshotCommand).rejects(
      new SnapshotAlreadyExistsFault({
        message: 'Snapshot with specified name [s] already exists.',
        $metadata: {},
      }),
    )
    ec.on(DescribeSnapshotsCommand, { SnapshotName: 's' }).resolves({
      Snapshots: [{ SnapshotName: 's', SnapshotStatus: 'available', ReplicationGroupId: 'orders' }],
    })
    const r = await createAwsSnapshot(clients, { kind: 'elasticache', name: 'orders' }, 's', {
      wait: true,
      intervalMs: 1,
      timeoutMs: 1000,
    })
    expect(r).toMatchObject({ resumed: true, snapshot: { status: 'available', source: 'orders' } })
    const err = await createAwsSnapshot(clients, { kind: 'elasticache', name: 'other' }, 's', {
      wait: true,
      intervalMs: 1,
      timeoutMs: 1000,
    }).catch((e) => e)
    expect(err.code).toBe('aws-snapshot-exists')
    expect(err.message).toBe("a snapshot named 's' already exists (of 'orders')")
  })

  it('lists both services across pages; a service the identity may not read is skipped with its reason', async () => {
    ec.on(DescribeSnapshotsCommand, { MaxRecords: 50 }).resolves({
      Snapshots: [{ SnapshotName: 'a', SnapshotStatus: 'available' }],
      Marker: 'm1',
    })
    ec.on(DescribeSnapshotsCommand, { MaxRecords: 50, Marker: 'm1' }).resolves({
      Snapshots: [{ SnapshotName: 'b', SnapshotStatus: 'creating' }],
    })
    mdb.on(MdbDescribeSnapshotsCommand).rejects(denied())
    const r = await listSnapshots(clients)
    expect(r.snapshots.map((s) => s.name).sort()).toEqual(['a', 'b'])
    expect(r.skipped).toEqual([
      { service: 'memorydb', reason: expect.stringContaining('access denied: MemoryDB DescribeSnapshots') },
    ])
    // Asked for MemoryDB alone, the denial is the answer.
    const err = await listSnapshots(clients, { service: 'memorydb' }).catch((e) => e)
    expect(err.code).toBe('aws-access-denied')
  })

  it('serverless snapshots are refused with the AWS CLI alternative', async () => {
    const err = await createAwsSnapshot(clients, { kind: 'serverless', name: 'x' }, 's', {
      wait: false,
      intervalMs: 1,
      timeoutMs: 1,
    }).catch((e) => e)
    expect(err.exitCode).toBe(2)
    expect(err.hint).toContain('create-serverless-cache-snapshot')
  })
})
