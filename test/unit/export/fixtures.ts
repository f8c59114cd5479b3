import type { DeploymentView } from '../../../src/export/samples.js'
import { parseNodeInfo, type NodeInfo } from '../../../src/metrics/node-info.js'
import type { NodeStatus, Snapshot } from '../../../src/metrics/types.js'

/** A replicated deployment (primary 127.0.0.1:7000, replica 127.0.0.1:7001) as the engine sees it. */
export const AT = 1_700_000_000_000

const PRIMARY_INFO = [
  '# Server',
  'redis_version:7.0.15',
  'redis_mode:standalone',
  'uptime_in_seconds:120',
  '# Clients',
  'connected_clients:7',
  'blocked_clients:1',
  'maxclients:10000',
  '# Memory',
  'used_memory:1048576',
  'maxmemory:0',
  'maxmemory_policy:noeviction',
  '# Stats',
  'total_commands_processed:5000',
  'keyspace_hits:40',
  'keyspace_misses:2',
  'sync_full:1',
  '# Replication',
  'role:master',
  'connected_slaves:1',
  'slave0:ip=127.0.0.1,port=7001,state=online,offset=900,lag=1',
  'master_repl_offset:1000',
  'repl_backlog_active:1',
  'repl_backlog_size:1048576',
  '# CPU',
  'used_cpu_sys:1.5',
  'used_cpu_user:2.25',
  '# Commandstats',
  'cmdstat_get:calls=30,usec=60,usec_per_call=2.00,rejected_calls=3,failed_calls=0',
  '# Errorstats',
  'errorstat_NOPERM:count=3',
  '# Keyspace',
  'db0:keys=12,expires=4,avg_ttl=0',
  '',
].join('\r\n')

const REPLICA_INFO = [
  '# Server',
  'redis_version:7.0.15',
  'redis_mode:standalone',
  '# Replication',
  'role:slave',
  'master_host:127.0.0.1',
  'master_port:7000',
  'master_link_status:up',
  'master_last_io_seconds_ago:0',
  'master_sync_in_progress:0',
  'slave_repl_offset:900',
  'master_repl_offset:900',
  '',
].join('\r\n')

export function node(partial: Partial<NodeStatus> & Pick<NodeStatus, 'id' | 'port' | 'role'>): NodeStatus {
  return {
    host: '127.0.0.1',
    address: `127.0.0.1:${partial.port}`,
    shard: 0,
    slots: [],
    up: true,
    health: 'online',
    state: 'ok',
    topCommands: [],
    memory: {},
    clients: {},
    ...partial,
  }
}

export function snapshot(nodes: NodeStatus[], overrides: Partial<Snapshot> = {}): Snapshot {
  return {
    at: AT,
    round: 7,
    intervalMs: 1000,
    roundMs: 12,
    deployment: {
      mode: 'replicated',
      engine: 'redis',
      version: '7.0.15',
      provider: 'self-managed',
      shards: 1,
      nodes: nodes.length,
    },
    cluster: { nodesUp: nodes.filter((n) => n.up).length, nodes: nodes.length },
    shards: [
      {
        index: 0,
        primaryId: 'p',
        slots: [],
        nodeIds: nodes.map((n) => n.id),
        nodesUp: nodes.filter((n) => n.up).length,
      },
    ],
    nodes,
    replication: [
      {
        shard: 0,
        primaryId: 'p',
        primaryAddress: '127.0.0.1:7000',
        primaryUp: true,
        primaryOffset: 1000,
        writeBytesPerSec: 50,
        replicas: [
          {
            id: 'r',
            address: '127.0.0.1:7001',
            up: true,
            offset: 900,
            lagBytes: 100,
            lagSeconds: 2,
            link: 'up',
            backlogHeadroomBytes: 1048476,
            fullResyncRisk: false,
          },
        ],
      },
    ],
    alerts: [],
    events: [],
    slowlog: [],
    ...overrides,
  }
}

export function view(partial: Partial<DeploymentView> & { snapshot?: Snapshot }): DeploymentView {
  const infos = new Map<string, NodeInfo>([
    ['127.0.0.1:7000', parseNodeInfo(PRIMARY_INFO, '127.0.0.1')],
    ['127.0.0.1:7001', parseNodeInfo(REPLICA_INFO, '127.0.0.1')],
  ])
  return {
    name: 'orders',
    info: (address) => infos.get(address),
    events: new Map(),
    slowlog: new Map(),
    staleAfterMs: 5000,
    ...partial,
  }
}

export const healthy = (): Snapshot =>
  snapshot([
    node({ id: 'p', port: 7000, role: 'primary', pollMs: 3, lastSeenAt: AT, p99Us: 250 }),
    node({ id: 'r', port: 7001, role: 'replica', pollMs: 4, lastSeenAt: AT }),
  ])
