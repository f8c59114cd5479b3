import { detectEngine, detectProvider, type Engine, type Provider } from '../connect/capabilities.js'
import {
  parseCommandStats,
  parseErrorStats,
  parseInfoReplicas,
  parseKeyspace,
  parseInfoSections,
  parseLatencyStats,
  type CommandStat,
  type InfoReplica,
  type InfoLineCache,
  type InfoSections,
  type KeyspaceDb,
} from '../redis/info.js'

/**
 * One INFO reply, typed: every section kvtop reads, numbers as numbers. Fields a server leaves out
 * (ElastiCache and MemoryDB omit some, older versions lack others) are undefined, never 0.
 */
export interface NodeInfo {
  server: {
    engine: Engine
    version: string
    /** redis_mode: standalone, cluster or sentinel. */
    mode?: string
    os?: string
    runId?: string
    uptimeSeconds?: number
    tcpPort?: number
    processId?: number
    provider: Provider
    /** Valkey 8+: `availability_zone` (the availability-zone setting; undefined when unset). */
    availabilityZone?: string
    /** io_threads_active (Redis 6+, Valkey): the I/O threads are in use right now. */
    ioThreadsActive?: boolean
  }
  clients: {
    connected?: number
    blocked?: number
    maxclients?: number
    tracking?: number
  }
  memory: {
    used?: number
    rss?: number
    peak?: number
    dataset?: number
    /** 0 means no limit. */
    maxmemory?: number
    maxmemoryPolicy?: string
    fragmentationRatio?: number
    totalSystemMemory?: number
  }
  persistence: {
    loading?: boolean
    rdbBgsaveInProgress?: boolean
    rdbLastBgsaveStatus?: string
    rdbChangesSinceLastSave?: number
    aofEnabled?: boolean
    aofRewriteInProgress?: boolean
  }
  stats: {
    totalCommandsProcessed?: number
    totalConnectionsReceived?: number
    instantaneousOpsPerSec?: number
    netInputBytes?: number
    netOutputBytes?: number
    rejectedConnections?: number
    syncFull?: number
    syncPartialOk?: number
    syncPartialErr?: number
    expiredKeys?: number
    evictedKeys?: number
    keyspaceHits?: number
    keyspaceMisses?: number
    totalErrorReplies?: number
    /** Reads and writes done on I/O threads (Redis 6+, Valkey). */
    ioThreadedReadsProcessed?: number
    ioThreadedWritesProcessed?: number
    /** Valkey 8+: the rest of the I/O threads' work (objects freed, polls, key prefetching). */
    ioThreadedFreedObjects?: number
    ioThreadedPollProcessed?: number
    ioThreadedPrefetchBatches?: number
    ioThreadedPrefetchEntries?: number
  }
  replication: ReplicationInfo
  cpu: {
    sys?: number
    user?: number
    sysChildren?: number
    userChildren?: number
  }
  commandStats: Record<string, CommandStat>
  errorStats: Record<string, number>
  latencyStats: Record<string, Record<string, number>>
  keyspace: Record<number, KeyspaceDb>
  clusterEnabled: boolean
}

interface ReplicationInfo {
  role: 'primary' | 'replica' | 'unknown'
  /** Primary: its offset. Replica: the offset of the stream it has processed (master_repl_offset). */
  masterReplOffset?: number
  masterReplId?: string
  connectedReplicas?: number
  replicas: InfoReplica[]
  backlogActive?: boolean
  backlogSize?: number
  backlogFirstByteOffset?: number
  backlogHistlen?: number
  /** Replica side. */
  masterHost?: string
  masterPort?: number
  masterLinkStatus?: 'up' | 'down'
  masterLastIoSecondsAgo?: number
  masterSyncInProgress?: boolean
  slaveReplOffset?: number
  masterLinkDownSinceSeconds?: number
  failoverState?: string
}

function n(section: Record<string, string> | undefined, key: string): number | undefined {
  const raw = section?.[key]
  if (raw === undefined || raw === '') return undefined
  const v = Number(raw.endsWith('%') ? raw.slice(0, -1) : raw)
  return Number.isFinite(v) ? v : undefined
}

function bool(section: Record<string, string> | undefined, key: string): boolean | undefined {
  const raw = section?.[key]
  return raw === undefined ? undefined : raw === '1' || raw === 'yes'
}

function str(section: Record<string, string> | undefined, key: string): string | undefined {
  const raw = section?.[key]
  return raw === undefined || raw === '' ? undefined : raw
}

function parseReplicationInfo(r: Record<string, string> | undefined): ReplicationInfo {
  const role =
    r?.role === 'master' ? 'primary' : r?.role === 'slave' || r?.role === 'replica' ? 'replica' : 'unknown'
  const link = str(r, 'master_link_status')
  return {
    role,
    masterReplOffset: n(r, 'master_repl_offset'),
    masterReplId: str(r, 'master_replid'),
    connectedReplicas: n(r, 'connected_slaves') ?? n(r, 'connected_replicas'),
    replicas: r ? parseInfoReplicas({ ...r, ...replicaAliases(r) }) : [],
    backlogActive: bool(r, 'repl_backlog_active'),
    backlogSize: n(r, 'repl_backlog_size'),
    backlogFirstByteOffset: n(r, 'repl_backlog_first_byte_offset'),
    backlogHistlen: n(r, 'repl_backlog_histlen'),
    masterHost: str(r, 'master_host'),
    masterPort: n(r, 'master_port'),
    masterLinkStatus: link === 'up' ? 'up' : link === 'down' ? 'down' : undefined,
    masterLastIoSecondsAgo: n(r, 'master_last_io_seconds_ago'),
    masterSyncInProgress: bool(r, 'master_sync_in_progress'),
    slaveReplOffset: n(r, 'slave_repl_offset') ?? n(r, 'replica_repl_offset'),
    masterLinkDownSinceSeconds: n(r, 'master_link_down_since_seconds'),
    failoverState: str(r, 'master_failover_state'),
  }
}

/** Accept `replicaN:` lines as `slaveN:` (a future rename; harmless today). */
function replicaAliases(r: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(r)) {
    const m = /^replica(\d+)$/.exec(k)
    if (m && r[`slave${m[1]}`] === undefined) out[`slave${m[1]}`] = v
  }
  return out
}

/** Typed view of `INFO all` (or any subset of sections). `host` helps tell the provider. */
export function toNodeInfo(sections: InfoSections, host = '', cache?: InfoLineCache): NodeInfo {
  const clients = sections.clients
  const memory = sections.memory
  const persistence = sections.persistence
  const cpu = sections.cpu
  return {
    server: serverInfo(sections.server, host),
    clients: {
      connected: n(clients, 'connected_clients'),
      blocked: n(clients, 'blocked_clients'),
      maxclients: n(clients, 'maxclients'),
      tracking: n(clients, 'tracking_clients'),
    },
    memory: {
      used: n(memory, 'used_memory'),
      rss: n(memory, 'used_memory_rss'),
      peak: n(memory, 'used_memory_peak'),
      dataset: n(memory, 'used_memory_dataset'),
      maxmemory: n(memory, 'maxmemory'),
      maxmemoryPolicy: str(memory, 'maxmemory_policy'),
      fragmentationRatio: n(memory, 'mem_fragmentation_ratio'),
      totalSystemMemory: n(memory, 'total_system_memory'),
    },
    persistence: {
      loading: bool(persistence, 'loading'),
      rdbBgsaveInProgress: bool(persistence, 'rdb_bgsave_in_progress'),
      rdbLastBgsaveStatus: str(persistence, 'rdb_last_bgsave_status'),
      rdbChangesSinceLastSave: n(persistence, 'rdb_changes_since_last_save'),
      aofEnabled: bool(persistence, 'aof_enabled'),
      aofRewriteInProgress: bool(persistence, 'aof_rewrite_in_progress'),
    },
    stats: statsInfo(sections.stats),
    replication: parseReplicationInfo(sections.replication),
    cpu: {
      sys: n(cpu, 'used_cpu_sys'),
      user: n(cpu, 'used_cpu_user'),
      sysChildren: n(cpu, 'used_cpu_sys_children'),
      userChildren: n(cpu, 'used_cpu_user_children'),
    },
    commandStats: parseCommandStats(sections.commandstats, cache),
    errorStats: parseErrorStats(sections.errorstats),
    latencyStats: parseLatencyStats(sections.latencystats, cache),
    keyspace: parseKeyspace(sections.keyspace),
    clusterEnabled: sections.cluster?.cluster_enabled === '1',
  }
}

/** INFO server: which server, where it runs, how long it has. */
function serverInfo(server: Record<string, string> | undefined, host: string): NodeInfo['server'] {
  const flatServer = server ?? {}
  const { engine, version } = detectEngine(flatServer)
  return {
    engine,
    version,
    mode: str(server, 'redis_mode') ?? str(server, 'server_mode'),
    os: str(server, 'os'),
    runId: str(server, 'run_id'),
    uptimeSeconds: n(server, 'uptime_in_seconds'),
    tcpPort: n(server, 'tcp_port'),
    processId: n(server, 'process_id'),
    provider: detectProvider(flatServer, host),
    availabilityZone: str(server, 'availability_zone'),
    ioThreadsActive: bool(server, 'io_threads_active'),
  }
}

/** INFO stats: the counters rates are made of. */
function statsInfo(stats: Record<string, string> | undefined): NodeInfo['stats'] {
  return {
    totalCommandsProcessed: n(stats, 'total_commands_processed'),
    totalConnectionsReceived: n(stats, 'total_connections_received'),
    instantaneousOpsPerSec: n(stats, 'instantaneous_ops_per_sec'),
    netInputBytes: n(stats, 'total_net_input_bytes'),
    netOutputBytes: n(stats, 'total_net_output_bytes'),
    rejectedConnections: n(stats, 'rejected_connections'),
    syncFull: n(stats, 'sync_full'),
    syncPartialOk: n(stats, 'sync_partial_ok'),
    syncPartialErr: n(stats, 'sync_partial_err'),
    expiredKeys: n(stats, 'expired_keys'),
    evictedKeys: n(stats, 'evicted_keys'),
    keyspaceHits: n(stats, 'keyspace_hits'),
    keyspaceMisses: n(stats, 'keyspace_misses'),
    totalErrorReplies: n(stats, 'total_error_replies'),
    ioThreadedReadsProcessed: n(stats, 'io_threaded_reads_processed'),
    ioThreadedWritesProcessed: n(stats, 'io_threaded_writes_processed'),
    ioThreadedFreedObjects: n(stats, 'io_threaded_freed_objects'),
    ioThreadedPollProcessed: n(stats, 'io_threaded_poll_processed'),
    ioThreadedPrefetchBatches: n(stats, 'io_threaded_total_prefetch_batches'),
    ioThreadedPrefetchEntries: n(stats, 'io_threaded_total_prefetch_entries'),
  }
}

/** The INFO fields `toNodeInfo` reads, besides the per-command, per-error, per-db and per-replica lines. */
const WANTED = new Set(
  (
    'redis_version valkey_version server_name redis_mode server_mode os run_id uptime_in_seconds tcp_port process_id ' +
    'connected_clients blocked_clients maxclients tracking_clients ' +
    'used_memory used_memory_rss used_memory_peak used_memory_dataset maxmemory maxmemory_policy mem_fragmentation_ratio total_system_memory ' +
    'loading rdb_bgsave_in_progress rdb_last_bgsave_status rdb_changes_since_last_save aof_enabled aof_rewrite_in_progress ' +
    'total_commands_processed total_connections_received instantaneous_ops_per_sec total_net_input_bytes total_net_output_bytes ' +
    'rejected_connections sync_full sync_partial_ok sync_partial_err expired_keys evicted_keys keyspace_hits keyspace_misses total_error_replies ' +
    'role master_repl_offset master_replid connected_slaves connected_replicas repl_backlog_active repl_backlog_size ' +
    'repl_backlog_first_byte_offset repl_backlog_histlen master_host master_port master_link_status master_last_io_seconds_ago ' +
    'master_sync_in_progress slave_repl_offset replica_repl_offset master_link_down_since_seconds master_failover_state ' +
    'used_cpu_sys used_cpu_user used_cpu_sys_children used_cpu_user_children cluster_enabled ' +
    'availability_zone io_threads_active io_threaded_reads_processed io_threaded_writes_processed ' +
    'io_threaded_freed_objects io_threaded_poll_processed io_threaded_total_prefetch_batches io_threaded_total_prefetch_entries'
  ).split(' '),
)

function wanted(key: string): boolean {
  if (WANTED.has(key)) return true
  const c = key.charCodeAt(0)
  // cmdstat_*, errorstat_*, latency_percentiles_usec_*, dbN, slaveN / replicaN
  if (c === 99) return key.startsWith('cmdstat_')
  if (c === 101) return key.startsWith('errorstat_')
  if (c === 108) return key.startsWith('latency_percentiles_usec_')
  if (c === 100) return /^db\d+$/.test(key)
  if (c === 115 || c === 114) return /^(?:slave|replica)\d+$/.test(key)
  return false
}

/**
 * INFO text straight to NodeInfo, keeping only the fields kvtop reads: the poller does this for every
 * node every round, and most of INFO (allocator details, persistence internals...) is not needed.
 * Same result as toNodeInfo(parseInfoSections(text)).
 */
export function parseNodeInfo(text: string, host = '', cache?: InfoLineCache): NodeInfo {
  return toNodeInfo(parseInfoSections(text, wanted), host, cache)
}
