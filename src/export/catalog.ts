/**
 * Every metric `kvtop export` serves: name, type, labels and meaning. Names follow Prometheus
 * conventions and, where redis_exporter serves a metric of the same meaning, its name, so existing
 * dashboards and alerts keep working. The `kvtop_` ones are figures the monitor engine derives.
 * The same list is printed in docs/export.md (a unit test keeps the two equal).
 */

type MetricType = 'gauge' | 'counter'

export interface MetricFamily {
  name: string
  type: MetricType
  help: string
  labels: readonly string[]
}

/** Labels of every per-node metric. `role` is only on the info metrics: a failover would split every series. */
const NODE_LABELS = ['deployment', 'shard', 'addr'] as const

const node = (name: string, type: MetricType, help: string, extra: string[] = []): MetricFamily => ({
  name,
  type,
  help,
  labels: [...NODE_LABELS, ...extra],
})

const REPLICA_LABELS = ['deployment', 'shard', 'addr', 'primary']

/** redis_exporter's names, from each node's INFO (and up/down from kvtop's own polls). */
export const REDIS_FAMILIES: readonly MetricFamily[] = [
  node(
    'redis_up',
    'gauge',
    "The node answered kvtop's last poll (0: down, not responding, or its deployment stale)",
  ),
  node('redis_instance_info', 'gauge', 'Information about the node (always 1)', [
    'role',
    'redis_version',
    'redis_mode',
    'engine',
    'provider',
    'maxmemory_policy',
  ]),
  node('redis_uptime_in_seconds', 'gauge', 'INFO uptime_in_seconds'),
  node('redis_connected_clients', 'gauge', 'INFO connected_clients'),
  node('redis_blocked_clients', 'gauge', 'INFO blocked_clients'),
  node('redis_config_maxclients', 'gauge', 'INFO maxclients'),
  node('redis_memory_used_bytes', 'gauge', 'INFO used_memory'),
  node('redis_memory_used_rss_bytes', 'gauge', 'INFO used_memory_rss'),
  node('redis_memory_used_peak_bytes', 'gauge', 'INFO used_memory_peak'),
  node('redis_memory_used_dataset_bytes', 'gauge', 'INFO used_memory_dataset'),
  node('redis_memory_max_bytes', 'gauge', 'INFO maxmemory (0: no limit)'),
  node('redis_mem_fragmentation_ratio', 'gauge', 'INFO mem_fragmentation_ratio'),
  node('redis_loading_dump_file', 'gauge', 'INFO loading'),
  node('redis_rdb_bgsave_in_progress', 'gauge', 'INFO rdb_bgsave_in_progress'),
  node('redis_rdb_changes_since_last_save', 'gauge', 'INFO rdb_changes_since_last_save'),
  node('redis_aof_enabled', 'gauge', 'INFO aof_enabled'),
  node('redis_aof_rewrite_in_progress', 'gauge', 'INFO aof_rewrite_in_progress'),
  node('redis_commands_processed_total', 'counter', 'INFO total_commands_processed'),
  node('redis_connections_received_total', 'counter', 'INFO total_connections_received'),
  node('redis_rejected_connections_total', 'counter', 'INFO rejected_connections'),
  node('redis_net_input_bytes_total', 'counter', 'INFO total_net_input_bytes'),
  node('redis_net_output_bytes_total', 'counter', 'INFO total_net_output_bytes'),
  node('redis_expired_keys_total', 'counter', 'INFO expired_keys'),
  node('redis_evicted_keys_total', 'counter', 'INFO evicted_keys'),
  node('redis_keyspace_hits_total', 'counter', 'INFO keyspace_hits'),
  node('redis_keyspace_misses_total', 'counter', 'INFO keyspace_misses'),
  node('redis_total_error_replies', 'counter', 'INFO total_error_replies'),
  node('redis_cpu_sys_seconds_total', 'counter', 'INFO used_cpu_sys'),
  node('redis_cpu_user_seconds_total', 'counter', 'INFO used_cpu_user'),
  node('redis_cpu_sys_children_seconds_total', 'counter', 'INFO used_cpu_sys_children'),
  node('redis_cpu_user_children_seconds_total', 'counter', 'INFO used_cpu_user_children'),
  node('redis_commands_total', 'counter', 'INFO commandstats calls, by command', ['cmd']),
  node('redis_commands_duration_seconds_total', 'counter', 'INFO commandstats usec, by command', ['cmd']),
  node(
    'redis_commands_rejected_calls_total',
    'counter',
    'INFO commandstats rejected_calls: commands the server refused before running them (ACL, OOM, arity), by command',
    ['cmd'],
  ),
  node('redis_commands_failed_calls_total', 'counter', 'INFO commandstats failed_calls, by command', ['cmd']),
  node('redis_errors_total', 'counter', 'INFO errorstats: error replies by error prefix', ['err']),
  node('redis_db_keys', 'gauge', 'INFO keyspace keys, by db', ['db']),
  node('redis_db_keys_expiring', 'gauge', 'INFO keyspace expires, by db', ['db']),
  node('redis_connected_slaves', 'gauge', 'INFO connected_slaves'),
  node('redis_master_repl_offset', 'gauge', 'INFO master_repl_offset'),
  node('redis_repl_backlog_is_active', 'gauge', 'INFO repl_backlog_active'),
  node('redis_replication_backlog_bytes', 'gauge', 'INFO repl_backlog_size'),
  node('redis_repl_backlog_first_byte_offset', 'gauge', 'INFO repl_backlog_first_byte_offset'),
  node('redis_repl_backlog_history_bytes', 'gauge', 'INFO repl_backlog_histlen'),
  node('redis_replica_resyncs_full', 'gauge', 'INFO sync_full: full resyncs this primary served'),
  node('redis_replica_partial_resync_accepted', 'gauge', 'INFO sync_partial_ok'),
  node('redis_replica_partial_resync_denied', 'gauge', 'INFO sync_partial_err'),
  node('redis_master_link_up', 'gauge', 'Replicas: INFO master_link_status is up', [
    'master_host',
    'master_port',
  ]),
  node('redis_master_sync_in_progress', 'gauge', 'Replicas: INFO master_sync_in_progress', [
    'master_host',
    'master_port',
  ]),
  node('redis_slave_repl_offset', 'gauge', 'Replicas: INFO slave_repl_offset', [
    'master_host',
    'master_port',
  ]),
  node('redis_master_last_io_seconds_ago', 'gauge', 'Replicas: INFO master_last_io_seconds_ago', [
    'master_host',
    'master_port',
  ]),
  node('redis_connected_slave_offset_bytes', 'gauge', "Primaries: a replica's acknowledged offset", [
    'slave_ip',
    'slave_port',
    'slave_state',
  ]),
  node('redis_connected_slave_lag_seconds', 'gauge', "Primaries: seconds since a replica's last ACK", [
    'slave_ip',
    'slave_port',
    'slave_state',
  ]),
  node('redis_cluster_enabled', 'gauge', 'INFO cluster_enabled'),
  node('redis_io_threads_active', 'gauge', 'INFO io_threads_active'),
]

/** kvtop's own figures: what the monitor engine derives across nodes and rounds. */
export const KVTOP_FAMILIES: readonly MetricFamily[] = [
  node('kvtop_node_info', 'gauge', "The node's role as kvtop's topology sees it (always 1)", ['role']),
  node(
    'kvtop_node_poll_state',
    'gauge',
    "1 for the state of kvtop's last poll of the node, 0 for the others",
    ['state'],
  ),
  node('kvtop_node_poll_duration_seconds', 'gauge', "Round trip of kvtop's last poll of the node"),
  node(
    'kvtop_node_last_seen_timestamp_seconds',
    'gauge',
    'When the node last answered a poll (epoch seconds)',
  ),
  node(
    'kvtop_node_latency_p50_seconds',
    'gauge',
    'Median command latency over the interval (INFO latencystats)',
  ),
  node(
    'kvtop_node_latency_p99_seconds',
    'gauge',
    'p99 command latency over the interval (INFO latencystats)',
  ),
  {
    name: 'kvtop_replica_lag_bytes',
    type: 'gauge',
    help: "Bytes of the replication stream the replica has not processed: the primary's master_repl_offset minus the replica's offset",
    labels: REPLICA_LABELS,
  },
  {
    name: 'kvtop_replica_lag_seconds',
    type: 'gauge',
    help: "How long ago the primary's offset passed the replica's, from the primary's offset history",
    labels: REPLICA_LABELS,
  },
  {
    name: 'kvtop_replica_link_up',
    type: 'gauge',
    help: "The replica's link to its primary is up",
    labels: REPLICA_LABELS,
  },
  {
    name: 'kvtop_replica_backlog_headroom_bytes',
    type: 'gauge',
    help: "Bytes the primary can still write before the replica's position leaves the backlog (a reconnect then needs a full resync); negative: it already has",
    labels: REPLICA_LABELS,
  },
  {
    name: 'kvtop_replica_backlog_headroom_seconds',
    type: 'gauge',
    help: 'The backlog headroom at the current write rate, in seconds',
    labels: REPLICA_LABELS,
  },
  {
    name: 'kvtop_replica_full_resync_risk',
    type: 'gauge',
    help: 'A reconnect now would need a full resync (headroom gone, backlog inactive, or a sync in progress)',
    labels: REPLICA_LABELS,
  },
  {
    name: 'kvtop_shard_replication_write_bytes_per_second',
    type: 'gauge',
    help: "Growth of the shard primary's replication offset",
    labels: ['deployment', 'shard'],
  },
  {
    name: 'kvtop_shard_nodes_up',
    type: 'gauge',
    help: 'Nodes of the shard answering polls',
    labels: ['deployment', 'shard'],
  },
  {
    name: 'kvtop_deployment_up',
    type: 'gauge',
    help: 'kvtop is polling the deployment and its last round is fresh',
    labels: ['deployment'],
  },
  {
    name: 'kvtop_deployment_info',
    type: 'gauge',
    help: 'The deployment (always 1)',
    labels: ['deployment', 'mode', 'engine', 'version', 'provider'],
  },
  {
    name: 'kvtop_deployment_nodes',
    type: 'gauge',
    help: 'Nodes in the deployment',
    labels: ['deployment'],
  },
  {
    name: 'kvtop_deployment_nodes_up',
    type: 'gauge',
    help: 'Nodes answering polls',
    labels: ['deployment'],
  },
  {
    name: 'kvtop_deployment_slots_covered',
    type: 'gauge',
    help: 'Cluster slots served by a primary that answers (16384 when all are)',
    labels: ['deployment'],
  },
  {
    name: 'kvtop_deployment_cluster_state_ok',
    type: 'gauge',
    help: 'CLUSTER INFO cluster_state is ok',
    labels: ['deployment'],
  },
  {
    name: 'kvtop_deployment_last_round_timestamp_seconds',
    type: 'gauge',
    help: "When kvtop's last round over the deployment ended (epoch seconds)",
    labels: ['deployment'],
  },
  {
    name: 'kvtop_deployment_snapshot_age_seconds',
    type: 'gauge',
    help: 'Age of the figures served for the deployment at scrape time (staleness)',
    labels: ['deployment'],
  },
  {
    name: 'kvtop_deployment_round_duration_seconds',
    type: 'gauge',
    help: 'Wall time of the last round (every node answered or timed out)',
    labels: ['deployment'],
  },
  {
    name: 'kvtop_alerts_active',
    type: 'gauge',
    help: 'Alerts active now, by type and severity',
    labels: ['deployment', 'type', 'severity'],
  },
  {
    name: 'kvtop_events_total',
    type: 'counter',
    help: 'Events seen since kvtop started, by type (failover, node-down, node-up, full-resync, node-added, node-removed, role-change, slots-moved, ...)',
    labels: ['deployment', 'type'],
  },
  {
    name: 'kvtop_slowlog_entries_total',
    type: 'counter',
    help: 'Slowlog entries of every node, by command pattern',
    labels: ['deployment', 'pattern'],
  },
  {
    name: 'kvtop_slowlog_duration_seconds_total',
    type: 'counter',
    help: 'Execution time of the slowlog entries, by command pattern',
    labels: ['deployment', 'pattern'],
  },
]

export const ALL_FAMILIES: readonly MetricFamily[] = [...REDIS_FAMILIES, ...KVTOP_FAMILIES]

/** Event types counted from the start (at 0), so that rate() and increase() see the first one. */
export const COUNTED_EVENTS = [
  'failover',
  'node-down',
  'node-up',
  'full-resync',
  'node-added',
  'node-removed',
  'role-change',
  'slots-moved',
  'replication-lag',
] as const

/** The poll states kvtop_node_poll_state enumerates. */
export const POLL_STATES = ['ok', 'timeout', 'down', 'connecting', 'unreachable'] as const
