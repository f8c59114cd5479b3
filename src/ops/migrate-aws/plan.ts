import type { MigrateAwsParams, PlannedCall } from './types.js'

/** The S3 ARNs of an export's objects, as MemoryDB's SnapshotArns takes them. */
export function snapshotArns(bucket: string, keys: string[]): string[] {
  return keys.map((k) => `arn:aws:s3:::${bucket}/${k}`)
}

/** ElastiCache node types map to MemoryDB's by their family and size: cache.r6g.large -> db.r6g.large. */
export function memoryDbNodeType(elasticacheNodeType: string | undefined): string | undefined {
  const m = /^cache\.(.+)$/.exec(elasticacheNodeType ?? '')
  return m ? `db.${m[1]}` : undefined
}

/** Every AWS call of the migration, in order, with its exact parameters (--dry-run prints these). */
export function plannedCalls(p: MigrateAwsParams, exportKeys: string[]): PlannedCall[] {
  return [
    {
      step: 'snapshot',
      service: 'ElastiCache',
      operation: 'CreateSnapshot',
      params: { ReplicationGroupId: p.source, SnapshotName: p.snapshotName },
    },
    {
      step: 'snapshot',
      service: 'ElastiCache',
      operation: 'DescribeSnapshots',
      params: { SnapshotName: p.snapshotName },
      until: 'available',
    },
    {
      step: 'export',
      service: 'S3',
      operation: 'GetBucketLocation, GetBucketAcl, GetBucketPolicy, HeadObject',
      params: { Bucket: p.bucket, Keys: exportKeys },
    },
    {
      step: 'export',
      service: 'ElastiCache',
      operation: 'CopySnapshot',
      params: { SourceSnapshotName: p.snapshotName, TargetSnapshotName: p.prefix, TargetBucket: p.bucket },
    },
    {
      step: 'export',
      service: 'ElastiCache',
      operation: 'DescribeSnapshots',
      params: { SnapshotName: p.snapshotName },
      until: 'available (export finished) and the objects in the bucket',
    },
    {
      step: 'create-cluster',
      service: 'MemoryDB',
      operation: 'CreateCluster',
      params: {
        ClusterName: p.target,
        NodeType: p.nodeType,
        ACLName: p.acl,
        NumShards: p.shards,
        NumReplicasPerShard: p.replicas,
        ...(p.subnetGroup ? { SubnetGroupName: p.subnetGroup } : {}),
        TLSEnabled: true,
        SnapshotArns: snapshotArns(p.bucket, exportKeys),
      },
    },
    {
      step: 'wait-cluster',
      service: 'MemoryDB',
      operation: 'DescribeClusters',
      params: { ClusterName: p.target, ShowShardDetails: true },
      until: 'available',
    },
    {
      step: 'compare',
      service: 'data plane',
      operation: 'DBSIZE on every primary of both, then kvtop verify',
      params: { source: p.source, target: p.target },
    },
  ]
}
