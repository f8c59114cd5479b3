/** The two AWS services kvtop manages. Serverless caches belong to ElastiCache. */
export type AwsService = 'elasticache' | 'memorydb'

/** What `--elasticache`, `--serverless` and `--memorydb` name. */
type AwsTargetKind = 'elasticache' | 'serverless' | 'memorydb'

export interface AwsTarget {
  kind: AwsTargetKind
  /** Replication group id (or cache cluster id), serverless cache name, or MemoryDB cluster name. */
  name: string
}

export function serviceOf(kind: AwsTargetKind): AwsService {
  return kind === 'memorydb' ? 'memorydb' : 'elasticache'
}

/** How a target is named in messages: "ElastiCache replication group 'orders'". */
export function describeTarget(target: AwsTarget): string {
  switch (target.kind) {
    case 'elasticache':
      return `ElastiCache replication group '${target.name}'`
    case 'serverless':
      return `ElastiCache serverless cache '${target.name}'`
    case 'memorydb':
      return `MemoryDB cluster '${target.name}'`
  }
}

export interface HostPort {
  host: string
  port: number
}

/**
 * A node as CloudWatch knows it: the namespace and dimensions that select its metrics.
 * `id` is the node's name at AWS (ElastiCache cache cluster id, MemoryDB node name, or the
 * serverless cache name), unique within one deployment.
 */
export interface CloudWatchNode {
  id: string
  service: 'elasticache' | 'memorydb' | 'serverless'
  /** e.g. {CacheClusterId, CacheNodeId} or {ClusterName, NodeName} or {clusterId} (serverless). */
  dimensions: Record<string, string>
  /** host:port of the node's own endpoint when AWS reports it (joins CloudWatch to INFO data). */
  address?: string
}

export interface AwsNode {
  /** ElastiCache cache cluster id (e.g. orders-0001-001) or MemoryDB node name. */
  id: string
  /** ElastiCache only: the node id inside its cache cluster (always 0001 for Redis OSS / Valkey). */
  cacheNodeId?: string
  host?: string
  port?: number
  address?: string
  /** As AWS reports it (ElastiCache with cluster mode disabled); otherwise learned from the node. */
  role?: 'primary' | 'replica'
  availabilityZone?: string
  status?: string
  cloudwatch: CloudWatchNode
}

export interface AwsShard {
  /** ElastiCache node group id (0001 ...) or MemoryDB shard name. */
  id: string
  slots?: string
  status?: string
  nodes: AwsNode[]
}

/** What AWS says about one deployment: the identities the data plane and CloudWatch use. */
export interface AwsDeployment {
  service: AwsService
  kind: 'replication-group' | 'cache-cluster' | 'serverless-cache' | 'cluster'
  name: string
  region: string
  arn?: string
  status?: string
  engine?: string
  engineVersion?: string
  nodeType?: string
  /** Redis Cluster protocol (ElastiCache cluster mode enabled; always true for MemoryDB and serverless). */
  clusterMode: boolean
  /** In-transit encryption: connect with rediss://. */
  tls: boolean
  /** ElastiCache AUTH token (password) required. */
  authTokenEnabled?: boolean
  /** ElastiCache RBAC user groups, or the MemoryDB ACL: users and passwords (or IAM) required. */
  userGroupIds?: string[]
  aclName?: string
  /** The data-plane entry point (configuration endpoint, primary endpoint, or cluster endpoint). */
  endpoint?: HostPort
  readerEndpoint?: HostPort
  /** The URL data-plane commands connect to (rediss:// when TLS is on). */
  url?: string
  shards: AwsShard[]
  cloudwatch: { namespace: string; nodes: CloudWatchNode[] }
  /** When the name given was a member cache cluster, the id it was given as. */
  resolvedFrom?: string
}
