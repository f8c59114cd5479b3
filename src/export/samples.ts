import type { NodeInfo } from '../metrics/node-info.js'
import type { NodeStatus, Snapshot } from '../metrics/types.js'
import { ALL_FAMILIES, COUNTED_EVENTS, POLL_STATES } from './catalog.js'

type Labels = Record<string, string>

/**
 * One sample. Its labels are in `sharedLabels`: one frozen object per label set, kept across
 * scrapes, which prom-client's registry formats once and then finds in its cache; `labels` stays
 * empty (prom-client formats those anew for every sample of every scrape).
 */
export interface Sample {
  labels: Labels
  sharedLabels: Labels
  value: number
}

/** Metric name -> its samples for one scrape. */
export type Samples = Map<string, Sample[]>

/** A slowlog command pattern's entries so far. */
export interface PatternTally {
  count: number
  totalUs: number
}

/** What one deployment offers a scrape: cached figures only, never a call to a server. */
export interface DeploymentView {
  /** The deployment label: a profile or AWS name, or the URL's host:port; never a password. */
  name: string
  snapshot?: Snapshot
  /** The node's INFO as last read by the engine (raw counters). */
  info(address: string): NodeInfo | undefined
  events: ReadonlyMap<string, number>
  slowlog: ReadonlyMap<string, PatternTally>
  /** The seed node (host:port) of a deployment never reached yet: shown as down. */
  seedAddress?: string
  /** A snapshot older than this is stale: its nodes are shown down. */
  staleAfterMs: number
}

const bool = (b: boolean | undefined): number | undefined => (b === undefined ? undefined : b ? 1 : 0)

const NONE: Labels = Object.freeze({}) as Labels

function keyOf(labels: Labels): string {
  let key = ''
  for (const name in labels) key += `${name}\u0000${labels[name]}\u0000`
  return key
}

/**
 * The label sets of a scrape, kept across scrapes (same object, same text): a node's (or shard's,
 * deployment's), and each of those with a sample's own labels (cmd, db, state...) added.
 */
export class LabelCache {
  private readonly byKey = new Map<string, Labels>()
  private readonly children = new Map<Labels, Map<string, Labels>>()

  get(labels: Labels): Labels {
    const key = keyOf(labels)
    let cached = this.byKey.get(key)
    if (!cached) this.byKey.set(key, (cached = Object.freeze({ ...labels })))
    return cached
  }

  /** `parent` (from get()) with `extra` added after its labels. */
  with(parent: Labels, extra: Labels): Labels {
    let children = this.children.get(parent)
    if (!children) this.children.set(parent, (children = new Map()))
    const key = keyOf(extra)
    let cached = children.get(key)
    if (!cached) children.set(key, (cached = Object.freeze({ ...parent, ...extra })))
    return cached
  }

  /** Forget what the last scrape did not use (nodes gone, commands no longer in commandstats). */
  retain(used: Set<Labels>): void {
    for (const [key, labels] of this.byKey) if (!used.has(labels)) this.byKey.delete(key)
    for (const [parent, children] of this.children) {
      if (!used.has(parent)) {
        this.children.delete(parent)
        continue
      }
      for (const [key, labels] of children) if (!used.has(labels)) children.delete(key)
    }
  }
}

/** Collects samples by metric name, leaving out values the node did not report. */
class SampleSink {
  readonly samples: Samples = new Map(ALL_FAMILIES.map((f) => [f.name, []]))
  readonly used = new Set<Labels>()

  constructor(private readonly cache: LabelCache) {}

  shared(labels: Labels): Labels {
    const l = this.cache.get(labels)
    this.used.add(l)
    return l
  }

  /** A sample labelled by `shared` (from shared()) and, optionally, labels of its own. */
  add(name: string, shared: Labels, value: number | undefined, labels?: Labels): void {
    if (value === undefined || !Number.isFinite(value)) return
    let sharedLabels = shared
    if (labels) {
      sharedLabels = this.cache.with(shared, labels)
      this.used.add(sharedLabels)
    }
    this.samples.get(name)!.push({ labels: NONE, sharedLabels, value })
  }
}

/** Every metric's samples over every deployment at `now` (epoch ms). Pure but for the label cache. */
export function collectSamples(
  views: readonly DeploymentView[],
  now: number,
  cache: LabelCache = new LabelCache(),
): Samples {
  const sink = new SampleSink(cache)
  for (const view of views) addDeployment(sink, view, now)
  cache.retain(sink.used)
  return sink.samples
}

function addDeployment(sink: SampleSink, view: DeploymentView, now: number): void {
  const deployment = view.name
  const d = sink.shared({ deployment })
  for (const type of new Set([...COUNTED_EVENTS, ...view.events.keys()]))
    sink.add('kvtop_events_total', d, view.events.get(type) ?? 0, { type })
  for (const [pattern, t] of view.slowlog) {
    sink.add('kvtop_slowlog_entries_total', d, t.count, { pattern })
    sink.add('kvtop_slowlog_duration_seconds_total', d, t.totalUs / 1e6, { pattern })
  }
  const snap = view.snapshot
  if (!snap) {
    sink.add('kvtop_deployment_up', d, 0)
    if (view.seedAddress)
      sink.add('redis_up', sink.shared({ deployment, shard: '0', addr: view.seedAddress }), 0)
    return
  }
  const age = Math.max(0, now - snap.at)
  const stale = age > view.staleAfterMs
  addRoundFigures(sink, d, snap, age, stale)
  for (const n of snap.nodes) addNode(sink, deployment, n, stale ? undefined : view.info(n.address), stale)

  addReplication(sink, deployment, snap)
  for (const shard of snap.shards)
    sink.add(
      'kvtop_shard_nodes_up',
      sink.shared({ deployment, shard: String(shard.index) }),
      stale ? 0 : shard.nodesUp,
    )
}

/** The deployment as of its latest round: up, age, its description, nodes and slots, active alerts by kind. */
function addRoundFigures(sink: SampleSink, d: Labels, snap: Snapshot, age: number, stale: boolean): void {
  sink.add('kvtop_deployment_up', d, stale ? 0 : 1)
  sink.add('kvtop_deployment_snapshot_age_seconds', d, age / 1000)
  sink.add('kvtop_deployment_last_round_timestamp_seconds', d, snap.at / 1000)
  sink.add('kvtop_deployment_round_duration_seconds', d, snap.roundMs / 1000)
  const dep = snap.deployment
  sink.add('kvtop_deployment_info', d, 1, {
    mode: dep.mode,
    engine: dep.engine ?? '',
    version: dep.version ?? '',
    provider: dep.provider ?? '',
  })
  sink.add('kvtop_deployment_nodes', d, snap.cluster.nodes)
  sink.add('kvtop_deployment_nodes_up', d, stale ? 0 : snap.cluster.nodesUp)
  if (dep.mode === 'cluster') {
    sink.add('kvtop_deployment_slots_covered', d, dep.slotsCovered)
    if (dep.clusterState) sink.add('kvtop_deployment_cluster_state_ok', d, dep.clusterState === 'ok' ? 1 : 0)
  }
  const alerts = new Map<string, { type: string; severity: string; n: number }>()
  for (const a of snap.alerts) {
    const key = `${a.type}|${a.severity}`
    const entry = alerts.get(key) ?? { type: a.type, severity: a.severity, n: 0 }
    entry.n++
    alerts.set(key, entry)
  }
  for (const a of alerts.values())
    sink.add('kvtop_alerts_active', d, a.n, { type: a.type, severity: a.severity })
}

/** Per shard its write rate, per replica its lag, link and backlog headroom. */
function addReplication(sink: SampleSink, deployment: string, snap: Snapshot): void {
  const addressOf = new Map(snap.nodes.map((n) => [n.id, n.address]))
  for (const shard of snap.replication) {
    const s = { deployment, shard: String(shard.shard) }
    sink.add('kvtop_shard_replication_write_bytes_per_second', s, shard.writeBytesPerSec)
    const primary = shard.primaryAddress ?? ''
    for (const r of shard.replicas) {
      const labels = {
        deployment,
        shard: String(shard.shard),
        addr: addressOf.get(r.id) ?? r.address,
        primary,
      }
      sink.add('kvtop_replica_lag_bytes', labels, r.lagBytes)
      sink.add('kvtop_replica_lag_seconds', labels, r.lagSeconds)
      sink.add('kvtop_replica_link_up', labels, r.link === 'up' ? 1 : 0)
      sink.add('kvtop_replica_backlog_headroom_bytes', labels, r.backlogHeadroomBytes)
      sink.add('kvtop_replica_backlog_headroom_seconds', labels, r.backlogHeadroomSeconds)
      sink.add('kvtop_replica_full_resync_risk', labels, r.fullResyncRisk ? 1 : 0)
    }
  }
}

function addNode(
  sink: SampleSink,
  deployment: string,
  n: NodeStatus,
  info: NodeInfo | undefined,
  stale: boolean,
): void {
  const l = sink.shared({ deployment, shard: String(n.shard), addr: n.address })
  const up = n.up && !stale
  sink.add('redis_up', l, up ? 1 : 0)
  sink.add('kvtop_node_info', l, 1, { role: n.role })
  for (const state of POLL_STATES) sink.add('kvtop_node_poll_state', l, n.state === state ? 1 : 0, { state })
  sink.add('kvtop_node_poll_duration_seconds', l, n.pollMs === undefined ? undefined : n.pollMs / 1000)
  sink.add(
    'kvtop_node_last_seen_timestamp_seconds',
    l,
    n.lastSeenAt === undefined ? undefined : n.lastSeenAt / 1000,
  )
  if (!up || !info) return
  sink.add('kvtop_node_latency_p50_seconds', l, n.p50Us === undefined ? undefined : n.p50Us / 1e6)
  sink.add('kvtop_node_latency_p99_seconds', l, n.p99Us === undefined ? undefined : n.p99Us / 1e6)
  addInfo(sink, l, n, info)
}

/** redis_exporter's figures, from the node's INFO as the engine last read it. */
function addInfo(sink: SampleSink, l: Labels, n: NodeStatus, info: NodeInfo): void {
  const { server, clients, memory, persistence, stats, cpu } = info
  sink.add('redis_instance_info', l, 1, {
    role: n.role,
    redis_version: server.version,
    redis_mode: server.mode ?? '',
    engine: server.engine,
    provider: server.provider,
    maxmemory_policy: memory.maxmemoryPolicy ?? '',
  })
  const add = (name: string, value: number | undefined) => sink.add(name, l, value)
  add('redis_uptime_in_seconds', server.uptimeSeconds)
  add('redis_connected_clients', clients.connected)
  add('redis_blocked_clients', clients.blocked)
  add('redis_config_maxclients', clients.maxclients)
  add('redis_memory_used_bytes', memory.used)
  add('redis_memory_used_rss_bytes', memory.rss)
  add('redis_memory_used_peak_bytes', memory.peak)
  add('redis_memory_used_dataset_bytes', memory.dataset)
  add('redis_memory_max_bytes', memory.maxmemory)
  add('redis_mem_fragmentation_ratio', memory.fragmentationRatio)
  add('redis_loading_dump_file', bool(persistence.loading))
  add('redis_rdb_bgsave_in_progress', bool(persistence.rdbBgsaveInProgress))
  add('redis_rdb_changes_since_last_save', persistence.rdbChangesSinceLastSave)
  add('redis_aof_enabled', bool(persistence.aofEnabled))
  add('redis_aof_rewrite_in_progress', bool(persistence.aofRewriteInProgress))
  add('redis_commands_processed_total', stats.totalCommandsProcessed)
  add('redis_connections_received_total', stats.totalConnectionsReceived)
  add('redis_rejected_connections_total', stats.rejectedConnections)
  add('redis_net_input_bytes_total', stats.netInputBytes)
  add('redis_net_output_bytes_total', stats.netOutputBytes)
  add('redis_expired_keys_total', stats.expiredKeys)
  add('redis_evicted_keys_total', stats.evictedKeys)
  add('redis_keyspace_hits_total', stats.keyspaceHits)
  add('redis_keyspace_misses_total', stats.keyspaceMisses)
  add('redis_total_error_replies', stats.totalErrorReplies)
  add('redis_cpu_sys_seconds_total', cpu.sys)
  add('redis_cpu_user_seconds_total', cpu.user)
  add('redis_cpu_sys_children_seconds_total', cpu.sysChildren)
  add('redis_cpu_user_children_seconds_total', cpu.userChildren)
  addPerCommandAndDb(sink, l, info)
  addReplicationInfo(sink, l, info)
  add('redis_cluster_enabled', info.clusterEnabled ? 1 : 0)
  add('redis_io_threads_active', bool(server.ioThreadsActive))
}

/** Per command, per error reply and per database. */
function addPerCommandAndDb(sink: SampleSink, l: Labels, info: NodeInfo): void {
  for (const [cmd, c] of Object.entries(info.commandStats)) {
    const labels = { cmd }
    sink.add('redis_commands_total', l, c.calls, labels)
    sink.add('redis_commands_duration_seconds_total', l, c.usec / 1e6, labels)
    sink.add('redis_commands_rejected_calls_total', l, c.rejectedCalls, labels)
    sink.add('redis_commands_failed_calls_total', l, c.failedCalls, labels)
  }
  for (const [err, count] of Object.entries(info.errorStats))
    sink.add('redis_errors_total', l, count, { err })
  for (const [db, k] of Object.entries(info.keyspace)) {
    sink.add('redis_db_keys', l, k.keys, { db: `db${db}` })
    sink.add('redis_db_keys_expiring', l, k.expires, { db: `db${db}` })
  }
}

/** INFO replication (and the resync counters of INFO stats), as redis_exporter names them. */
function addReplicationInfo(sink: SampleSink, l: Labels, info: NodeInfo): void {
  const { stats, replication: r } = info
  const add = (name: string, value: number | undefined) => sink.add(name, l, value)
  add('redis_connected_slaves', r.connectedReplicas)
  add('redis_master_repl_offset', r.masterReplOffset)
  add('redis_repl_backlog_is_active', bool(r.backlogActive))
  add('redis_replication_backlog_bytes', r.backlogSize)
  add('redis_repl_backlog_first_byte_offset', r.backlogFirstByteOffset)
  add('redis_repl_backlog_history_bytes', r.backlogHistlen)
  add('redis_replica_resyncs_full', stats.syncFull)
  add('redis_replica_partial_resync_accepted', stats.syncPartialOk)
  add('redis_replica_partial_resync_denied', stats.syncPartialErr)
  if (r.role === 'replica') {
    const m = { master_host: r.masterHost ?? '', master_port: String(r.masterPort ?? '') }
    sink.add('redis_master_link_up', l, r.masterLinkStatus === 'up' ? 1 : 0, m)
    sink.add('redis_master_sync_in_progress', l, bool(r.masterSyncInProgress), m)
    sink.add('redis_slave_repl_offset', l, r.slaveReplOffset, m)
    sink.add('redis_master_last_io_seconds_ago', l, r.masterLastIoSecondsAgo, m)
  }
  for (const replica of r.replicas) {
    const s = { slave_ip: replica.ip, slave_port: String(replica.port), slave_state: replica.state }
    sink.add('redis_connected_slave_offset_bytes', l, replica.offset, s)
    sink.add('redis_connected_slave_lag_seconds', l, replica.lag, s)
  }
}
