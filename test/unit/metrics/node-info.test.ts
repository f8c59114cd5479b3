import { describe, expect, it } from 'vitest'
import { parseInfoSections } from '../../../src/redis/info.js'
import { parseNodeInfo, toNodeInfo } from '../../../src/metrics/node-info.js'
import { fixture } from './fixtures.js'

const load = (name: string, host = '127.0.0.1') =>
  toNodeInfo(parseInfoSections(fixture(`info/${name}`)), host)

describe('INFO sections (captured Redis 7.0, CRLF)', () => {
  const text = fixture('info/redis-7.0-cluster-primary.txt')

  it('keeps every section, lowercased, and every field', () => {
    const sections = parseInfoSections(text)
    expect(Object.keys(sections)).toEqual([
      'server',
      'clients',
      'memory',
      'persistence',
      'stats',
      'replication',
      'cpu',
      'modules',
      'commandstats',
      'errorstats',
      'latencystats',
      'cluster',
      'keyspace',
    ])
    expect(sections.server.redis_version).toBe('7.0.15')
    expect(sections.server.run_id).toBe('cc7efaf8f923063e465309e45ee6240b94e15383')
    expect(sections.modules).toEqual({})
    // No CR left at line ends.
    expect(Object.values(sections.stats).some((v) => v.endsWith('\r'))).toBe(false)
  })

  it('typed view of a cluster primary', () => {
    const n = load('redis-7.0-cluster-primary.txt')
    expect(n.server).toMatchObject({
      engine: 'redis',
      version: '7.0.15',
      mode: 'cluster',
      uptimeSeconds: 19,
      tcpPort: 26728,
      provider: 'self-managed',
    })
    expect(n.clients).toEqual({ connected: 1, blocked: 0, maxclients: 10000, tracking: 0 })
    expect(n.memory).toMatchObject({
      used: 3346976,
      rss: 9150464,
      peak: 3367488,
      maxmemory: 0,
      maxmemoryPolicy: 'noeviction',
      fragmentationRatio: 2.77,
    })
    expect(n.stats).toMatchObject({
      totalCommandsProcessed: 5923,
      netInputBytes: 316747,
      netOutputBytes: 1225847,
      syncFull: 1,
      syncPartialErr: 1,
      keyspaceHits: 1492,
      keyspaceMisses: 47,
      evictedKeys: 0,
      expiredKeys: 0,
      totalErrorReplies: 4,
    })
    expect(n.cpu).toEqual({ sys: 0.137526, user: 0.131358, sysChildren: 0.002566, userChildren: 0 })
    expect(n.replication).toMatchObject({
      role: 'primary',
      masterReplOffset: 217438,
      connectedReplicas: 1,
      backlogActive: true,
      backlogSize: 1048576,
      backlogFirstByteOffset: 1,
      backlogHistlen: 217438,
      failoverState: 'no-failover',
    })
    expect(n.replication.replicas).toEqual([
      { ip: '127.0.0.1', port: 26729, state: 'online', offset: 217438, lag: 0 },
    ])
    expect(Object.keys(n.commandStats)).toHaveLength(30)
    expect(n.commandStats['cluster|info']).toEqual({
      calls: 56,
      usec: 4074,
      usecPerCall: 72.75,
      rejectedCalls: 0,
      failedCalls: 0,
    })
    expect(n.commandStats.auth).toMatchObject({ calls: 128, failedCalls: 4 })
    expect(n.errorStats).toEqual({ WRONGPASS: 4 })
    expect(n.latencyStats.zadd).toEqual({ p50: 7.007, p99: 25.087, 'p99.9': 40.191 })
    expect(n.latencyStats['cluster|nodes']).toEqual({ p50: 112.127, p99: 169.983, 'p99.9': 169.983 })
    expect(n.keyspace).toEqual({ 0: { keys: 979, expires: 26, avgTtl: 397689 } })
    expect(n.clusterEnabled).toBe(true)
  })

  it('typed view of its replica', () => {
    const n = load('redis-7.0-cluster-replica.txt')
    expect(n.replication).toMatchObject({
      role: 'replica',
      masterHost: '127.0.0.1',
      masterPort: 26728,
      masterLinkStatus: 'up',
      masterLastIoSecondsAgo: 4,
      masterSyncInProgress: false,
      slaveReplOffset: 217438,
      masterReplOffset: 217438,
      connectedReplicas: 0,
      replicas: [],
    })
    expect(n.server.runId).toBe('f63b24f6f8362dceca0c271debef7bcdf3955ba5')
  })
})

describe('INFO of other versions and providers', () => {
  it('Redis 6.2: no latencystats, errorstats, two keyspaces, a replica still waiting for its RDB', () => {
    const n = load('redis-6.2-standalone-primary.txt')
    expect(n.server).toMatchObject({
      engine: 'redis',
      version: '6.2.14',
      mode: 'standalone',
      uptimeSeconds: 864000,
    })
    expect(n.memory).toMatchObject({
      used: 1073741824,
      maxmemory: 2147483648,
      maxmemoryPolicy: 'allkeys-lru',
      fragmentationRatio: 1.2,
    })
    expect(n.clients).toMatchObject({ connected: 42, blocked: 3 })
    expect(n.stats).toMatchObject({
      evictedKeys: 4321,
      expiredKeys: 123456,
      syncFull: 2,
      totalErrorReplies: 777,
    })
    expect(n.latencyStats).toEqual({})
    expect(n.errorStats).toEqual({ ERR: 765, OOM: 12 })
    expect(n.commandStats.eval).toEqual({
      calls: 20000,
      usec: 2000000,
      usecPerCall: 100,
      rejectedCalls: 0,
      failedCalls: 765,
    })
    expect(n.keyspace).toEqual({
      0: { keys: 2500000, expires: 1000000, avgTtl: 3600000 },
      3: { keys: 10, expires: 0, avgTtl: 0 },
    })
    expect(n.replication.replicas).toEqual([
      { ip: '10.0.1.11', port: 6379, state: 'online', offset: 5000000000, lag: 0 },
      { ip: '10.0.1.12', port: 6379, state: 'wait_bgsave', offset: 0, lag: 0 },
    ])
    expect(n.replication).toMatchObject({
      masterReplOffset: 5000001000,
      backlogFirstByteOffset: 4998952425,
      backlogSize: 1048576,
    })
    expect(n.clusterEnabled).toBe(false)
  })

  it('Redis 7.2: listener lines with = and , in the value are kept raw; a replica in a cluster', () => {
    const sections = parseInfoSections(fixture('info/redis-7.2-cluster-replica.txt'))
    expect(sections.server.listener0).toBe('name=tcp,bind=*,bind=-::*,port=7001')
    const n = toNodeInfo(sections, '10.0.2.11')
    expect(n.server).toMatchObject({ version: '7.2.4', mode: 'cluster', tcpPort: 7001 })
    expect(n.replication).toMatchObject({
      role: 'replica',
      masterHost: '10.0.2.10',
      masterPort: 7000,
      slaveReplOffset: 880001200,
      masterLinkStatus: 'up',
    })
    expect(n.memory).toMatchObject({ used: 52428800, maxmemory: 104857600 })
    expect(n.persistence).toMatchObject({ aofEnabled: true, loading: false })
    expect(n.latencyStats.set).toEqual({ p50: 2.003, p99: 8.031, 'p99.9': 20.095 })
    expect(n.errorStats).toEqual({})
  })

  it('Valkey 8: engine from server_name, the dual-channel rdb connection is not a second replica', () => {
    const n = load('valkey-8.0-cluster-primary.txt')
    expect(n.server).toMatchObject({ engine: 'valkey', version: '8.0.2', mode: 'cluster' })
    expect(n.replication.replicas).toEqual([
      { ip: '10.0.3.21', port: 6379, state: 'online', offset: 123456000, lag: 1, type: 'replica' },
    ])
    expect(n.keyspace[0]).toEqual({ keys: 25000000, expires: 5000000, avgTtl: 600000 })
    expect(n.stats).toMatchObject({ evictedKeys: 250000, rejectedConnections: 3, syncPartialOk: 10 })
    expect(n.commandStats.zadd.failedCalls).toBe(4567)
  })

  it('ElastiCache: provider from os, missing fields stay undefined, unknown fields are ignored', () => {
    const n = load('elasticache-7.1-replicated-primary.txt', 'my-rg.abc123.ng.0001.use1.cache.amazonaws.com')
    expect(n.server).toMatchObject({
      engine: 'redis',
      version: '7.1.0',
      provider: 'elasticache',
      processId: undefined,
    })
    expect(n.memory).toMatchObject({
      used: 11811160064,
      maxmemory: 13207024435,
      totalSystemMemory: undefined,
    })
    expect(n.cpu).toEqual({ sys: 200000, user: 400000, sysChildren: undefined, userChildren: undefined })
    expect(n.latencyStats).toEqual({})
    expect(n.errorStats).toEqual({})
    // Commandstats without rejected/failed counters (as before 6.2) read as 0; a renamed command is just a name.
    expect(n.commandStats.get).toEqual({
      calls: 30000000000,
      usec: 45000000000,
      usecPerCall: 1.5,
      rejectedCalls: 0,
      failedCalls: 0,
    })
    expect(n.commandStats.kvtop_renamed_keys.calls).toBe(5)
    expect(n.replication.replicas.map((r) => r.offset)).toEqual([99999999000, 99998999000])
  })
})

describe('parseNodeInfo (the poller fast path)', () => {
  it('gives exactly what toNodeInfo(parseInfoSections()) gives, for every fixture', () => {
    for (const name of [
      'redis-7.0-cluster-primary.txt',
      'redis-7.0-cluster-replica.txt',
      'redis-6.2-standalone-primary.txt',
      'redis-7.2-cluster-replica.txt',
      'valkey-8.0-cluster-primary.txt',
      'elasticache-7.1-replicated-primary.txt',
    ]) {
      const text = fixture(`info/${name}`)
      expect(parseNodeInfo(text, 'h'), name).toEqual(toNodeInfo(parseInfoSections(text), 'h'))
    }
  })
})

describe('INFO line cache', () => {
  it('unchanged Commandstats / Latencystats lines are parsed once; changed ones again', () => {
    const cache = new Map()
    const text = fixture('info/redis-7.0-cluster-primary.txt')
    const a = parseNodeInfo(text, 'h', cache)
    const b = parseNodeInfo(text.replace('cmdstat_get:calls=580,', 'cmdstat_get:calls=581,'), 'h', cache)
    expect(b.commandStats.zadd).toBe(a.commandStats.zadd)
    expect(b.latencyStats.zadd).toBe(a.latencyStats.zadd)
    expect(b.commandStats.get).not.toBe(a.commandStats.get)
    expect(b.commandStats.get.calls).toBe(581)
    expect(a).toEqual(toNodeInfo(parseInfoSections(text), 'h'))
  })
})
