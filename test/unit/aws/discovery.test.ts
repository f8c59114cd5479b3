import {
  CacheClusterNotFoundFault,
  DescribeCacheClustersCommand,
  DescribeReplicationGroupsCommand,
  DescribeServerlessCachesCommand,
  ReplicationGroupNotFoundFault,
  type ReplicationGroup,
} from '@aws-sdk/client-elasticache'
import { ClusterNotFoundFault, DescribeClustersCommand } from '@aws-sdk/client-memorydb'
import { describe, expect, it } from 'vitest'
import { discoverDeployment } from '../../../src/aws/discovery.js'
import { mockedAwsClients } from './mocked-clients.js'

const { ec, mdb, clients } = mockedAwsClients('eu-west-1')

const meta = { $metadata: { httpStatusCode: 404 } }

const clusterModeRg: ReplicationGroup = {
  ReplicationGroupId: 'orders',
  Status: 'available',
  ClusterEnabled: true,
  ConfigurationEndpoint: { Address: 'clustercfg.orders.abc.euw1.cache.amazonaws.com', Port: 6379 },
  TransitEncryptionEnabled: true,
  AuthTokenEnabled: false,
  UserGroupIds: ['app-users'],
  CacheNodeType: 'cache.r7g.large',
  Engine: 'valkey',
  MemberClusters: ['orders-0001-001', 'orders-0001-002'],
  NodeGroups: [
    {
      NodeGroupId: '0001',
      Slots: '0-16383',
      Status: 'available',
      NodeGroupMembers: [
        { CacheClusterId: 'orders-0001-001', CacheNodeId: '0001', PreferredAvailabilityZone: 'eu-west-1a' },
        { CacheClusterId: 'orders-0001-002', CacheNodeId: '0001', PreferredAvailabilityZone: 'eu-west-1b' },
      ],
    },
  ],
}

describe('ElastiCache discovery', () => {
  it('cluster mode: configuration endpoint, TLS URL, shards, CloudWatch identities, engine version from a member', async () => {
    ec.on(DescribeReplicationGroupsCommand, { ReplicationGroupId: 'orders' }).resolves({
      ReplicationGroups: [clusterModeRg],
    })
    ec.on(DescribeCacheClustersCommand, { CacheClusterId: 'orders-0001-001' }).resolves({
      CacheClusters: [{ CacheClusterId: 'orders-0001-001', EngineVersion: '7.2.6', Engine: 'valkey' }],
    })
    // The node endpoints: listed page by page, other groups' clusters skipped.
    const node = (id: string, rg: string, address: string) => ({
      CacheClusterId: id,
      ReplicationGroupId: rg,
      CacheNodes: [{ CacheNodeId: '0001', Endpoint: { Address: address, Port: 6379 } }],
    })
    ec.on(DescribeCacheClustersCommand, { ShowCacheNodeInfo: true, MaxRecords: 100, Marker: undefined })
      .resolves({
        CacheClusters: [
          node('other-0001-001', 'other', 'other-0001-001.other.abc.euw1.cache.amazonaws.com'),
          node('orders-0001-001', 'orders', 'orders-0001-001.orders.abc.euw1.cache.amazonaws.com'),
        ],
        Marker: 'page-2',
      })
      .on(DescribeCacheClustersCommand, { ShowCacheNodeInfo: true, MaxRecords: 100, Marker: 'page-2' })
      .resolves({
        CacheClusters: [
          node('orders-0001-002', 'orders', 'orders-0001-002.orders.abc.euw1.cache.amazonaws.com'),
        ],
      })
    const d = await discoverDeployment(clients, { kind: 'elasticache', name: 'orders' })
    expect(d).toMatchObject({
      service: 'elasticache',
      kind: 'replication-group',
      name: 'orders',
      region: 'eu-west-1',
      clusterMode: true,
      tls: true,
      url: 'rediss://clustercfg.orders.abc.euw1.cache.amazonaws.com:6379',
      engine: 'valkey',
      engineVersion: '7.2.6',
      nodeType: 'cache.r7g.large',
      userGroupIds: ['app-users'],
    })
    expect(d.cloudwatch.namespace).toBe('AWS/ElastiCache')
    expect(d.cloudwatch.nodes).toEqual([
      {
        id: 'orders-0001-001',
        service: 'elasticache',
        dimensions: { CacheClusterId: 'orders-0001-001', CacheNodeId: '0001' },
        address: 'orders-0001-001.orders.abc.euw1.cache.amazonaws.com:6379',
      },
      {
        id: 'orders-0001-002',
        service: 'elasticache',
        dimensions: { CacheClusterId: 'orders-0001-002', CacheNodeId: '0001' },
        address: 'orders-0001-002.orders.abc.euw1.cache.amazonaws.com:6379',
      },
    ])
    expect(d.shards[0]).toMatchObject({ id: '0001', slots: '0-16383' })
    // Cluster mode: AWS does not say which member is primary; that is learned from the nodes.
    expect(d.shards[0].nodes[0].role).toBeUndefined()
  })

  it('cluster mode disabled: primary endpoint, reader endpoint, member endpoints and roles; plain redis:// without TLS', async () => {
    ec.on(DescribeReplicationGroupsCommand).resolves({
      ReplicationGroups: [
        {
          ReplicationGroupId: 'legacy',
          ClusterEnabled: false,
          TransitEncryptionEnabled: false,
          AuthTokenEnabled: true,
          MemberClusters: ['legacy-001', 'legacy-002'],
          NodeGroups: [
            {
              NodeGroupId: '0001',
              PrimaryEndpoint: { Address: 'master.legacy.abc.euw1.cache.amazonaws.com', Port: 6380 },
              ReaderEndpoint: { Address: 'replica.legacy.abc.euw1.cache.amazonaws.com', Port: 6380 },
              NodeGroupMembers: [
                {
                  CacheClusterId: 'legacy-001',
                  CacheNodeId: '0001',
                  ReadEndpoint: { Address: 'legacy-001.abc.euw1.cache.amazonaws.com', Port: 6380 },
                  CurrentRole: 'primary',
                },
                {
                  CacheClusterId: 'legacy-002',
                  CacheNodeId: '0001',
                  ReadEndpoint: { Address: 'legacy-002.abc.euw1.cache.amazonaws.com', Port: 6380 },
                  CurrentRole: 'replica',
                },
              ],
            },
          ],
        },
      ],
    })
    ec.on(DescribeCacheClustersCommand).rejects(
      Object.assign(new Error('not authorized'), {
        name: 'AccessDenied',
        $metadata: { httpStatusCode: 403 },
      }),
    )
    const d = await discoverDeployment(clients, { kind: 'elasticache', name: 'legacy' })
    expect(d).toMatchObject({
      clusterMode: false,
      tls: false,
      authTokenEnabled: true,
      url: 'redis://master.legacy.abc.euw1.cache.amazonaws.com:6380',
    })
    expect(d.readerEndpoint).toEqual({ host: 'replica.legacy.abc.euw1.cache.amazonaws.com', port: 6380 })
    expect(d.shards[0].nodes.map((n) => [n.id, n.role, n.address])).toEqual([
      ['legacy-001', 'primary', 'legacy-001.abc.euw1.cache.amazonaws.com:6380'],
      ['legacy-002', 'replica', 'legacy-002.abc.euw1.cache.amazonaws.com:6380'],
    ])
    expect(d.cloudwatch.nodes[1].address).toBe('legacy-002.abc.euw1.cache.amazonaws.com:6380')
    // Denied DescribeCacheClusters only costs the engine version.
    expect(d.engineVersion).toBeUndefined()
  })

  it('a member cache cluster id resolves to its replication group', async () => {
    ec.on(DescribeReplicationGroupsCommand, { ReplicationGroupId: 'orders-0001-002' }).rejects(
      new ReplicationGroupNotFoundFault({
        message: 'ReplicationGroup orders-0001-002 not found.',
        $metadata: {},
      }),
    )
    ec.on(DescribeCacheClustersCommand, {
      CacheClusterId: 'orders-0001-002',
      ShowCacheNodeInfo: true,
    }).resolves({
      CacheClusters: [
        { CacheClusterId: 'orders-0001-002', ReplicationGroupId: 'orders', EngineVersion: '7.2.6' },
      ],
    })
    ec.on(DescribeReplicationGroupsCommand, { ReplicationGroupId: 'orders' }).resolves({
      ReplicationGroups: [clusterModeRg],
    })
    ec.on(DescribeCacheClustersCommand, { ShowCacheNodeInfo: true, MaxRecords: 100 }).rejects(
      Object.assign(new Error('not authorized'), {
        name: 'AccessDenied',
        $metadata: { httpStatusCode: 403 },
      }),
    )
    const d = await discoverDeployment(clients, { kind: 'elasticache', name: 'orders-0001-002' })
    expect(d).toMatchObject({ name: 'orders', resolvedFrom: 'orders-0001-002', engineVersion: '7.2.6' })
  })

  it('a single cache cluster outside any group is a one-node deployment', async () => {
    ec.on(DescribeReplicationGroupsCommand).rejects(
      new ReplicationGroupNotFoundFault({ message: 'not found', $metadata: {} }),
    )
    ec.on(DescribeCacheClustersCommand).resolves({
      CacheClusters: [
        {
          CacheClusterId: 'solo',
          Engine: 'redis',
          EngineVersion: '7.1.0',
          CacheNodes: [
            {
              CacheNodeId: '0001',
              Endpoint: { Address: 'solo.abc.0001.euw1.cache.amazonaws.com', Port: 6379 },
            },
          ],
        },
      ],
    })
    const d = await discoverDeployment(clients, { kind: 'elasticache', name: 'solo' })
    expect(d).toMatchObject({
      kind: 'cache-cluster',
      url: 'redis://solo.abc.0001.euw1.cache.amazonaws.com:6379',
    })
    expect(d.cloudwatch.nodes).toEqual([
      expect.objectContaining({ id: 'solo', dimensions: { CacheClusterId: 'solo', CacheNodeId: '0001' } }),
    ])
  })

  it('neither a group nor a cluster: exit 4, naming the name, the Region and what to check', async () => {
    ec.on(DescribeReplicationGroupsCommand).rejects(
      new ReplicationGroupNotFoundFault({
        message: 'ReplicationGroup nope not found.',
        $metadata: meta.$metadata,
      }),
    )
    ec.on(DescribeCacheClustersCommand).rejects(
      new CacheClusterNotFoundFault({ message: 'CacheCluster not found: nope', $metadata: meta.$metadata }),
    )
    const err = await discoverDeployment(clients, { kind: 'elasticache', name: 'nope' }).catch((e) => e)
    expect(err.exitCode).toBe(4)
    expect(err.message).toBe("no ElastiCache replication group or cache cluster named 'nope' in eu-west-1")
    expect(err.hint).toContain('--serverless')
  })

  it('Memcached is refused with a usage error', async () => {
    ec.on(DescribeReplicationGroupsCommand).rejects(
      new ReplicationGroupNotFoundFault({ message: 'x', $metadata: {} }),
    )
    ec.on(DescribeCacheClustersCommand).resolves({
      CacheClusters: [{ CacheClusterId: 'mc', Engine: 'memcached' }],
    })
    const err = await discoverDeployment(clients, { kind: 'elasticache', name: 'mc' }).catch((e) => e)
    expect(err.exitCode).toBe(2)
    expect(err.message).toContain('Memcached')
  })

  it('serverless caches: TLS, cluster protocol, CloudWatch clusterId', async () => {
    ec.on(DescribeServerlessCachesCommand, { ServerlessCacheName: 'sless' }).resolves({
      ServerlessCaches: [
        {
          ServerlessCacheName: 'sless',
          Status: 'available',
          Engine: 'valkey',
          FullEngineVersion: '8.0',
          Endpoint: { Address: 'sless-abc.serverless.euw1.cache.amazonaws.com', Port: 6379 },
          ReaderEndpoint: { Address: 'sless-abc.serverless.euw1.cache.amazonaws.com', Port: 6380 },
        },
      ],
    })
    const d = await discoverDeployment(clients, { kind: 'serverless', name: 'sless' })
    expect(d).toMatchObject({
      kind: 'serverless-cache',
      tls: true,
      clusterMode: true,
      url: 'rediss://sless-abc.serverless.euw1.cache.amazonaws.com:6379',
    })
    expect(d.cloudwatch.nodes).toEqual([
      { id: 'sless', service: 'serverless', dimensions: { clusterId: 'sless' } },
    ])
  })
})

describe('MemoryDB discovery', () => {
  it('cluster endpoint, shards with node endpoints, CloudWatch ClusterName + NodeName', async () => {
    mdb.on(DescribeClustersCommand, { ClusterName: 'sessions', ShowShardDetails: true }).resolves({
      Clusters: [
        {
          Name: 'sessions',
          Status: 'available',
          TLSEnabled: true,
          ACLName: 'app-acl',
          Engine: 'valkey',
          EngineVersion: '7.3',
          NodeType: 'db.r7g.large',
          ClusterEndpoint: {
            Address: 'clustercfg.sessions.xyz.memorydb.eu-west-1.amazonaws.com',
            Port: 6379,
          },
          Shards: [
            {
              Name: '0001',
              Slots: '0-16383',
              Nodes: [
                {
                  Name: 'sessions-0001-001',
                  Endpoint: {
                    Address: 'sessions-0001-001.sessions.xyz.memorydb.eu-west-1.amazonaws.com',
                    Port: 6379,
                  },
                  AvailabilityZone: 'eu-west-1a',
                },
                {
                  Name: 'sessions-0001-002',
                  Endpoint: {
                    Address: 'sessions-0001-002.sessions.xyz.memorydb.eu-west-1.amazonaws.com',
                    Port: 6379,
                  },
                  AvailabilityZone: 'eu-west-1b',
                },
              ],
            },
          ],
        },
      ],
    })
    const d = await discoverDeployment(clients, { kind: 'memorydb', name: 'sessions' })
    expect(d).toMatchObject({
      service: 'memorydb',
      kind: 'cluster',
      clusterMode: true,
      tls: true,
      aclName: 'app-acl',
      url: 'rediss://clustercfg.sessions.xyz.memorydb.eu-west-1.amazonaws.com:6379',
    })
    expect(d.cloudwatch).toEqual({
      namespace: 'AWS/MemoryDB',
      nodes: [
        {
          id: 'sessions-0001-001',
          service: 'memorydb',
          dimensions: { ClusterName: 'sessions', NodeName: 'sessions-0001-001' },
          address: 'sessions-0001-001.sessions.xyz.memorydb.eu-west-1.amazonaws.com:6379',
        },
        {
          id: 'sessions-0001-002',
          service: 'memorydb',
          dimensions: { ClusterName: 'sessions', NodeName: 'sessions-0001-002' },
          address: 'sessions-0001-002.sessions.xyz.memorydb.eu-west-1.amazonaws.com:6379',
        },
      ],
    })
  })

  it('not found: exit 4 with the AWS message', async () => {
    mdb
      .on(DescribeClustersCommand)
      .rejects(
        new ClusterNotFoundFault({ message: 'Cluster nope not found', $metadata: { httpStatusCode: 400 } }),
      )
    const err = await discoverDeployment(clients, { kind: 'memorydb', name: 'nope' }).catch((e) => e)
    expect(err.exitCode).toBe(4)
    expect(err.message).toBe("MemoryDB cluster 'nope' not found in eu-west-1: Cluster nope not found")
  })
})
