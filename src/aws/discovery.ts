import type { CacheCluster, ReplicationGroup, ServerlessCache } from '@aws-sdk/client-elasticache'
import type { Cluster } from '@aws-sdk/client-memorydb'
import { AwsError, UsageError } from '../errors.js'
import { formatAddress } from '../connect/endpoint.js'
import { awsCall, type AwsClients } from './clients.js'
import { isAccessDenied, unlessNotFound } from './errors.js'
import type { AwsDeployment, AwsNode, AwsShard, AwsTarget, CloudWatchNode, HostPort } from './types.js'

function hostPort(e: { Address?: string; Port?: number } | undefined): HostPort | undefined {
  return e?.Address ? { host: e.Address, port: e.Port ?? 6379 } : undefined
}

function endpointUrl(endpoint: HostPort | undefined, tls: boolean): string | undefined {
  if (!endpoint) return undefined
  return `${tls ? 'rediss' : 'redis'}://${formatAddress(endpoint.host, endpoint.port)}`
}

function role(r: string | undefined): 'primary' | 'replica' | undefined {
  return r === 'primary' || r === 'replica' ? r : undefined
}

function cloudwatchOf(shards: AwsShard[], extra: CloudWatchNode[] = []): CloudWatchNode[] {
  return [...shards.flatMap((s) => s.nodes.map((n) => n.cloudwatch)), ...extra]
}

function checkEngine(engine: string | undefined, what: string): void {
  if (engine && engine.toLowerCase() === 'memcached') {
    throw new UsageError(`${what} runs Memcached: kvtop works with Redis OSS and Valkey`)
  }
}

/** An ElastiCache replication group as kvtop sees it. Exported for tests. */
export function fromReplicationGroup(
  rg: ReplicationGroup,
  region: string,
  member?: CacheCluster,
  /** Node endpoints by cache cluster id (cluster mode: DescribeReplicationGroups leaves them out). */
  nodeEndpoints: Map<string, HostPort> = new Map(),
): AwsDeployment {
  const clusterMode = rg.ClusterEnabled ?? rg.ClusterMode === 'enabled'
  const tls = Boolean(rg.TransitEncryptionEnabled)
  const shards: AwsShard[] = (rg.NodeGroups ?? []).map((ng) => ({
    id: ng.NodeGroupId ?? '',
    ...(ng.Slots ? { slots: ng.Slots } : {}),
    ...(ng.Status ? { status: ng.Status } : {}),
    nodes: (ng.NodeGroupMembers ?? []).map((m): AwsNode => {
      const id = m.CacheClusterId ?? ''
      const ep = hostPort(m.ReadEndpoint) ?? nodeEndpoints.get(id)
      const address = ep ? formatAddress(ep.host, ep.port) : undefined
      const cacheNodeId = m.CacheNodeId ?? '0001'
      return {
        id,
        cacheNodeId,
        ...(ep ? { host: ep.host, port: ep.port, address } : {}),
        ...(role(m.CurrentRole) ? { role: role(m.CurrentRole) } : {}),
        ...(m.PreferredAvailabilityZone ? { availabilityZone: m.PreferredAvailabilityZone } : {}),
        cloudwatch: {
          id,
          service: 'elasticache',
          dimensions: { CacheClusterId: id, CacheNodeId: cacheNodeId },
          ...(address ? { address } : {}),
        },
      }
    }),
  }))
  const endpoint = clusterMode
    ? hostPort(rg.ConfigurationEndpoint)
    : hostPort(rg.NodeGroups?.[0]?.PrimaryEndpoint)
  const reader = clusterMode ? undefined : hostPort(rg.NodeGroups?.[0]?.ReaderEndpoint)
  return {
    service: 'elasticache',
    kind: 'replication-group',
    name: rg.ReplicationGroupId ?? '',
    region,
    ...(rg.ARN ? { arn: rg.ARN } : {}),
    ...(rg.Status ? { status: rg.Status } : {}),
    engine: rg.Engine ?? member?.Engine ?? 'redis',
    ...(member?.EngineVersion ? { engineVersion: member.EngineVersion } : {}),
    ...(rg.CacheNodeType ? { nodeType: rg.CacheNodeType } : {}),
    clusterMode,
    tls,
    authTokenEnabled: Boolean(rg.AuthTokenEnabled),
    ...(rg.UserGroupIds?.length ? { userGroupIds: rg.UserGroupIds } : {}),
    ...(endpoint ? { endpoint, url: endpointUrl(endpoint, tls) } : {}),
    ...(reader ? { readerEndpoint: reader } : {}),
    shards,
    cloudwatch: { namespace: 'AWS/ElastiCache', nodes: cloudwatchOf(shards) },
  }
}

/** A cache cluster outside any replication group (a single-node Redis OSS / Valkey cluster). */
function fromCacheCluster(cc: CacheCluster, region: string): AwsDeployment {
  const tls = Boolean(cc.TransitEncryptionEnabled)
  const node = cc.CacheNodes?.[0]
  const ep = hostPort(node?.Endpoint)
  const address = ep ? formatAddress(ep.host, ep.port) : undefined
  const id = cc.CacheClusterId ?? ''
  const cacheNodeId = node?.CacheNodeId ?? '0001'
  const shard: AwsShard = {
    id: '0001',
    nodes: [
      {
        id,
        cacheNodeId,
        ...(ep ? { host: ep.host, port: ep.port, address } : {}),
        role: 'primary',
        ...(cc.PreferredAvailabilityZone ? { availabilityZone: cc.PreferredAvailabilityZone } : {}),
        ...(node?.CacheNodeStatus ? { status: node.CacheNodeStatus } : {}),
        cloudwatch: {
          id,
          service: 'elasticache',
          dimensions: { CacheClusterId: id, CacheNodeId: cacheNodeId },
          ...(address ? { address } : {}),
        },
      },
    ],
  }
  return {
    service: 'elasticache',
    kind: 'cache-cluster',
    name: id,
    region,
    ...(cc.ARN ? { arn: cc.ARN } : {}),
    ...(cc.CacheClusterStatus ? { status: cc.CacheClusterStatus } : {}),
    engine: cc.Engine ?? 'redis',
    ...(cc.EngineVersion ? { engineVersion: cc.EngineVersion } : {}),
    ...(cc.CacheNodeType ? { nodeType: cc.CacheNodeType } : {}),
    clusterMode: false,
    tls,
    authTokenEnabled: Boolean(cc.AuthTokenEnabled),
    ...(ep ? { endpoint: ep, url: endpointUrl(ep, tls) } : {}),
    shards: [shard],
    cloudwatch: { namespace: 'AWS/ElastiCache', nodes: cloudwatchOf([shard]) },
  }
}

export function fromServerlessCache(sc: ServerlessCache, region: string): AwsDeployment {
  const name = sc.ServerlessCacheName ?? ''
  const endpoint = hostPort(sc.Endpoint)
  const reader = hostPort(sc.ReaderEndpoint)
  return {
    service: 'elasticache',
    kind: 'serverless-cache',
    name,
    region,
    ...(sc.ARN ? { arn: sc.ARN } : {}),
    ...(sc.Status ? { status: sc.Status } : {}),
    engine: sc.Engine ?? 'redis',
    ...(sc.FullEngineVersion || sc.MajorEngineVersion
      ? { engineVersion: sc.FullEngineVersion ?? sc.MajorEngineVersion }
      : {}),
    // Serverless caches speak the cluster protocol and accept TLS connections only.
    clusterMode: true,
    tls: true,
    ...(sc.UserGroupId ? { userGroupIds: [sc.UserGroupId] } : {}),
    ...(endpoint ? { endpoint, url: endpointUrl(endpoint, true) } : {}),
    ...(reader ? { readerEndpoint: reader } : {}),
    shards: [],
    // No nodes to see: serverless metrics are per cache, dimension clusterId.
    cloudwatch: {
      namespace: 'AWS/ElastiCache',
      nodes: [{ id: name, service: 'serverless', dimensions: { clusterId: name } }],
    },
  }
}

export function fromMemoryDBCluster(c: Cluster, region: string): AwsDeployment {
  const name = c.Name ?? ''
  const tls = c.TLSEnabled ?? true
  const shards: AwsShard[] = (c.Shards ?? []).map((s) => ({
    id: s.Name ?? '',
    ...(s.Slots ? { slots: s.Slots } : {}),
    ...(s.Status ? { status: s.Status } : {}),
    nodes: (s.Nodes ?? []).map((n): AwsNode => {
      const ep = hostPort(n.Endpoint)
      const address = ep ? formatAddress(ep.host, ep.port) : undefined
      const nodeName = n.Name ?? ''
      return {
        id: nodeName,
        ...(ep ? { host: ep.host, port: ep.port, address } : {}),
        ...(n.AvailabilityZone ? { availabilityZone: n.AvailabilityZone } : {}),
        ...(n.Status ? { status: n.Status } : {}),
        cloudwatch: {
          id: nodeName,
          service: 'memorydb',
          dimensions: { ClusterName: name, NodeName: nodeName },
          ...(address ? { address } : {}),
        },
      }
    }),
  }))
  const endpoint = hostPort(c.ClusterEndpoint)
  return {
    service: 'memorydb',
    kind: 'cluster',
    name,
    region,
    ...(c.ARN ? { arn: c.ARN } : {}),
    ...(c.Status ? { status: c.Status } : {}),
    engine: c.Engine ?? 'redis',
    ...(c.EngineVersion ? { engineVersion: c.EngineVersion } : {}),
    ...(c.NodeType ? { nodeType: c.NodeType } : {}),
    clusterMode: true,
    tls,
    ...(c.ACLName ? { aclName: c.ACLName } : {}),
    ...(endpoint ? { endpoint, url: endpointUrl(endpoint, tls) } : {}),
    shards,
    cloudwatch: { namespace: 'AWS/MemoryDB', nodes: cloudwatchOf(shards) },
  }
}

async function describeReplicationGroup(
  clients: AwsClients,
  id: string,
  region: string,
): Promise<ReplicationGroup | undefined> {
  const { client, sdk } = await clients.elasticache()
  const out = await unlessNotFound(
    awsCall(
      {
        service: 'ElastiCache',
        operation: 'DescribeReplicationGroups',
        resource: `replication group '${id}'`,
        region,
      },
      () => client.send(new sdk.DescribeReplicationGroupsCommand({ ReplicationGroupId: id })),
    ),
  )
  return out?.ReplicationGroups?.[0]
}

async function describeCacheCluster(
  clients: AwsClients,
  id: string,
  region: string,
): Promise<CacheCluster | undefined> {
  const { client, sdk } = await clients.elasticache()
  const out = await unlessNotFound(
    awsCall(
      {
        service: 'ElastiCache',
        operation: 'DescribeCacheClusters',
        resource: `cache cluster '${id}'`,
        region,
      },
      () =>
        client.send(new sdk.DescribeCacheClustersCommand({ CacheClusterId: id, ShowCacheNodeInfo: true })),
    ),
  )
  return out?.CacheClusters?.[0]
}

async function discoverElastiCache(
  clients: AwsClients,
  name: string,
  region: string,
): Promise<AwsDeployment> {
  let rg = await describeReplicationGroup(clients, name, region)
  let resolvedFrom: string | undefined
  let member: CacheCluster | undefined
  if (!rg) {
    // Not a replication group: a member cache cluster id, or a cluster outside any group.
    const cc = await describeCacheCluster(clients, name, region)
    if (!cc) {
      throw new AwsError(`no ElastiCache replication group or cache cluster named '${name}' in ${region}`, {
        code: 'aws-not-found',
        hint:
          `Check the name and the region (--region or AWS_REGION). For a serverless cache use --serverless. ` +
          `List them with: aws elasticache describe-replication-groups --region ${region}`,
      })
    }
    checkEngine(cc.Engine, `ElastiCache cluster '${name}'`)
    if (!cc.ReplicationGroupId) return fromCacheCluster(cc, region)
    rg = await describeReplicationGroup(clients, cc.ReplicationGroupId, region)
    if (!rg) return fromCacheCluster(cc, region)
    resolvedFrom = name
    member = cc
  }
  checkEngine(rg.Engine, `ElastiCache replication group '${name}'`)
  if (!member && rg.MemberClusters?.length) {
    // The engine version lives on the member clusters; without the permission it is left out.
    try {
      member = await describeCacheCluster(clients, rg.MemberClusters[0], region)
    } catch (err) {
      if (!isAccessDenied(err)) throw err
    }
  }
  const nodeEndpoints = await memberEndpoints(clients, rg, region)
  return {
    ...fromReplicationGroup(rg, region, member, nodeEndpoints),
    ...(resolvedFrom ? { resolvedFrom } : {}),
  }
}

/**
 * In cluster mode DescribeReplicationGroups gives no node endpoints; DescribeCacheClusters with
 * ShowCacheNodeInfo does. They let CloudWatch figures be matched to the nodes the servers announce.
 * Without the permission the nodes are matched by name or not at all: not worth failing for.
 */
async function memberEndpoints(
  clients: AwsClients,
  rg: ReplicationGroup,
  region: string,
): Promise<Map<string, HostPort>> {
  const out = new Map<string, HostPort>()
  const members = (rg.NodeGroups ?? []).flatMap((ng) => ng.NodeGroupMembers ?? [])
  if (!members.some((m) => !m.ReadEndpoint)) return out
  const { client, sdk } = await clients.elasticache()
  let marker: string | undefined
  try {
    do {
      const page = await awsCall(
        {
          service: 'ElastiCache',
          operation: 'DescribeCacheClusters',
          resource: `the nodes of '${rg.ReplicationGroupId}'`,
          region,
        },
        () =>
          client.send(
            new sdk.DescribeCacheClustersCommand({
              ShowCacheNodeInfo: true,
              MaxRecords: 100,
              Marker: marker,
            }),
          ),
      )
      for (const cc of page.CacheClusters ?? []) {
        const ep = hostPort(cc.CacheNodes?.[0]?.Endpoint)
        if (cc.ReplicationGroupId === rg.ReplicationGroupId && cc.CacheClusterId && ep)
          out.set(cc.CacheClusterId, ep)
      }
      marker = page.Marker
    } while (marker && out.size < members.length)
  } catch (err) {
    if (!isAccessDenied(err)) throw err
  }
  return out
}

async function discoverServerless(clients: AwsClients, name: string, region: string): Promise<AwsDeployment> {
  const { client, sdk } = await clients.elasticache()
  const out = await awsCall(
    {
      service: 'ElastiCache',
      operation: 'DescribeServerlessCaches',
      resource: `serverless cache '${name}'`,
      region,
    },
    () => client.send(new sdk.DescribeServerlessCachesCommand({ ServerlessCacheName: name })),
  )
  const sc = out.ServerlessCaches?.[0]
  if (!sc) {
    throw new AwsError(`serverless cache '${name}' not found in ${region}`, {
      code: 'aws-not-found',
      hint: 'Check the name and the region (--region or AWS_REGION).',
    })
  }
  checkEngine(sc.Engine, `ElastiCache serverless cache '${name}'`)
  return fromServerlessCache(sc, region)
}

async function discoverMemoryDB(clients: AwsClients, name: string, region: string): Promise<AwsDeployment> {
  const { client, sdk } = await clients.memorydb()
  const out = await awsCall(
    { service: 'MemoryDB', operation: 'DescribeClusters', resource: `MemoryDB cluster '${name}'`, region },
    () => client.send(new sdk.DescribeClustersCommand({ ClusterName: name, ShowShardDetails: true })),
  )
  const c = out.Clusters?.[0]
  if (!c) {
    throw new AwsError(`MemoryDB cluster '${name}' not found in ${region}`, {
      code: 'aws-not-found',
      hint: 'Check the name and the region (--region or AWS_REGION).',
    })
  }
  return fromMemoryDBCluster(c, region)
}

/** Look a deployment up at AWS: endpoints, shards, nodes, TLS/auth settings, CloudWatch identities. */
export async function discoverDeployment(clients: AwsClients, target: AwsTarget): Promise<AwsDeployment> {
  const region = await clients.region()
  switch (target.kind) {
    case 'elasticache':
      return discoverElastiCache(clients, target.name, region)
    case 'serverless':
      return discoverServerless(clients, target.name, region)
    case 'memorydb':
      return discoverMemoryDB(clients, target.name, region)
  }
}

/** The status of a deployment, for waiters (scaling, creation): `available` when settled. */
export async function deploymentStatus(clients: AwsClients, target: AwsTarget): Promise<string> {
  const d = await discoverDeployment(clients, target)
  return d.status ?? 'unknown'
}
