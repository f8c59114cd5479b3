import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { ALL_FAMILIES } from '../../../src/export/catalog.js'
import { ExportRegistry } from '../../../src/export/registry.js'
import type { DeploymentView, PatternTally } from '../../../src/export/samples.js'
import { AT, healthy, node, snapshot, view } from './fixtures.js'

async function scrape(views: DeploymentView[], now = AT + 500): Promise<string> {
  return new ExportRegistry(
    () => views,
    () => now,
  ).scrape()
}

/** The sample lines of one metric, in order. */
function lines(text: string, name: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
}

const P = 'deployment="orders",shard="0",addr="127.0.0.1:7000"'
const R = 'deployment="orders",shard="0",addr="127.0.0.1:7001"'

describe('kvtop export: snapshot -> exposition text', () => {
  it("serves redis_exporter's names with the node's INFO values and kvtop's labels", async () => {
    const text = await scrape([view({ snapshot: healthy() })])
    expect(lines(text, 'redis_up')).toEqual([`redis_up{${P}} 1`, `redis_up{${R}} 1`])
    expect(lines(text, 'redis_connected_clients')).toEqual([`redis_connected_clients{${P}} 7`])
    expect(lines(text, 'redis_memory_used_bytes')).toEqual([`redis_memory_used_bytes{${P}} 1048576`])
    expect(lines(text, 'redis_commands_processed_total')).toEqual([
      `redis_commands_processed_total{${P}} 5000`,
    ])
    expect(lines(text, 'redis_cpu_user_seconds_total')).toEqual([`redis_cpu_user_seconds_total{${P}} 2.25`])
    expect(lines(text, 'redis_commands_total')).toEqual([`redis_commands_total{${P},cmd="get"} 30`])
    expect(lines(text, 'redis_commands_duration_seconds_total')).toEqual([
      `redis_commands_duration_seconds_total{${P},cmd="get"} 0.00006`,
    ])
    expect(lines(text, 'redis_commands_rejected_calls_total')).toEqual([
      `redis_commands_rejected_calls_total{${P},cmd="get"} 3`,
    ])
    expect(lines(text, 'redis_errors_total')).toEqual([`redis_errors_total{${P},err="NOPERM"} 3`])
    expect(lines(text, 'redis_db_keys')).toEqual([`redis_db_keys{${P},db="db0"} 12`])
    expect(lines(text, 'redis_db_keys_expiring')).toEqual([`redis_db_keys_expiring{${P},db="db0"} 4`])
    expect(lines(text, 'redis_connected_slaves')).toEqual([`redis_connected_slaves{${P}} 1`])
    expect(lines(text, 'redis_master_repl_offset')).toEqual([
      `redis_master_repl_offset{${P}} 1000`,
      `redis_master_repl_offset{${R}} 900`,
    ])
    expect(lines(text, 'redis_connected_slave_offset_bytes')).toEqual([
      `redis_connected_slave_offset_bytes{${P},slave_ip="127.0.0.1",slave_port="7001",slave_state="online"} 900`,
    ])
    expect(lines(text, 'redis_master_link_up')).toEqual([
      `redis_master_link_up{${R},master_host="127.0.0.1",master_port="7000"} 1`,
    ])
    expect(lines(text, 'redis_slave_repl_offset')).toEqual([
      `redis_slave_repl_offset{${R},master_host="127.0.0.1",master_port="7000"} 900`,
    ])
    expect(lines(text, 'redis_instance_info')).toEqual([
      `redis_instance_info{${P},role="primary",redis_version="7.0.15",redis_mode="standalone",engine="redis",provider="self-managed",maxmemory_policy="noeviction"} 1`,
      `redis_instance_info{${R},role="replica",redis_version="7.0.15",redis_mode="standalone",engine="redis",provider="self-managed",maxmemory_policy=""} 1`,
    ])
    expect(text).toContain('# TYPE redis_commands_processed_total counter')
    expect(text).toContain('# TYPE redis_memory_used_bytes gauge')
  })

  it("serves kvtop's derived figures: replica lag, headroom, poll state, deployment freshness", async () => {
    const text = await scrape([view({ snapshot: healthy() })])
    const replica = `deployment="orders",shard="0",addr="127.0.0.1:7001",primary="127.0.0.1:7000"`
    expect(lines(text, 'kvtop_replica_lag_bytes')).toEqual([`kvtop_replica_lag_bytes{${replica}} 100`])
    expect(lines(text, 'kvtop_replica_lag_seconds')).toEqual([`kvtop_replica_lag_seconds{${replica}} 2`])
    expect(lines(text, 'kvtop_replica_link_up')).toEqual([`kvtop_replica_link_up{${replica}} 1`])
    expect(lines(text, 'kvtop_replica_backlog_headroom_bytes')).toEqual([
      `kvtop_replica_backlog_headroom_bytes{${replica}} 1048476`,
    ])
    expect(lines(text, 'kvtop_replica_backlog_headroom_seconds')).toEqual([])
    expect(lines(text, 'kvtop_replica_full_resync_risk')).toEqual([
      `kvtop_replica_full_resync_risk{${replica}} 0`,
    ])
    expect(lines(text, 'kvtop_shard_replication_write_bytes_per_second')).toEqual([
      'kvtop_shard_replication_write_bytes_per_second{deployment="orders",shard="0"} 50',
    ])
    expect(lines(text, 'kvtop_node_poll_state').filter((l) => l.includes('7000'))).toEqual([
      `kvtop_node_poll_state{${P},state="ok"} 1`,
      `kvtop_node_poll_state{${P},state="timeout"} 0`,
      `kvtop_node_poll_state{${P},state="down"} 0`,
      `kvtop_node_poll_state{${P},state="connecting"} 0`,
      `kvtop_node_poll_state{${P},state="unreachable"} 0`,
    ])
    expect(lines(text, 'kvtop_node_latency_p99_seconds')).toEqual([
      `kvtop_node_latency_p99_seconds{${P}} 0.00025`,
    ])
    expect(lines(text, 'kvtop_node_info')).toEqual([
      `kvtop_node_info{${P},role="primary"} 1`,
      `kvtop_node_info{${R},role="replica"} 1`,
    ])
    expect(lines(text, 'kvtop_deployment_up')).toEqual(['kvtop_deployment_up{deployment="orders"} 1'])
    expect(lines(text, 'kvtop_deployment_snapshot_age_seconds')).toEqual([
      'kvtop_deployment_snapshot_age_seconds{deployment="orders"} 0.5',
    ])
    expect(lines(text, 'kvtop_deployment_info')).toEqual([
      'kvtop_deployment_info{deployment="orders",mode="replicated",engine="redis",version="7.0.15",provider="self-managed"} 1',
    ])
  })

  it('counts events from 0 and slowlog entries by pattern, label values escaped', async () => {
    const slowlog = new Map<string, PatternTally>([
      ['HGETALL "user:*"\n\\x00', { count: 3, totalUs: 1_500_000 }],
    ])
    const text = await scrape([view({ snapshot: healthy(), events: new Map([['failover', 2]]), slowlog })])
    expect(lines(text, 'kvtop_events_total')).toEqual([
      'kvtop_events_total{deployment="orders",type="failover"} 2',
      'kvtop_events_total{deployment="orders",type="node-down"} 0',
      'kvtop_events_total{deployment="orders",type="node-up"} 0',
      'kvtop_events_total{deployment="orders",type="full-resync"} 0',
      'kvtop_events_total{deployment="orders",type="node-added"} 0',
      'kvtop_events_total{deployment="orders",type="node-removed"} 0',
      'kvtop_events_total{deployment="orders",type="role-change"} 0',
      'kvtop_events_total{deployment="orders",type="slots-moved"} 0',
      'kvtop_events_total{deployment="orders",type="replication-lag"} 0',
    ])
    expect(lines(text, 'kvtop_slowlog_entries_total')).toEqual([
      'kvtop_slowlog_entries_total{deployment="orders",pattern="HGETALL \\"user:*\\"\\n\\\\x00"} 3',
    ])
    expect(lines(text, 'kvtop_slowlog_duration_seconds_total')).toEqual([
      'kvtop_slowlog_duration_seconds_total{deployment="orders",pattern="HGETALL \\"user:*\\"\\n\\\\x00"} 1.5',
    ])
  })

  it('a node that does not answer is down, with no stale INFO figures', async () => {
    const snap = snapshot([
      node({ id: 'p', port: 7000, role: 'primary' }),
      node({ id: 'r', port: 7001, role: 'replica', up: false, state: 'down', error: 'connection refused' }),
    ])
    const text = await scrape([view({ snapshot: snap })])
    expect(lines(text, 'redis_up')).toEqual([`redis_up{${P}} 1`, `redis_up{${R}} 0`])
    expect(lines(text, 'redis_master_repl_offset')).toEqual([`redis_master_repl_offset{${P}} 1000`])
    expect(
      lines(text, 'kvtop_node_poll_state').filter((l) => l.includes('7001') && l.endsWith(' 1')),
    ).toEqual([`kvtop_node_poll_state{${R},state="down"} 1`])
  })

  it('a stale deployment (its engine stuck) shows every node down and how old its figures are', async () => {
    const text = await scrape([view({ snapshot: healthy() })], AT + 6000)
    expect(lines(text, 'redis_up')).toEqual([`redis_up{${P}} 0`, `redis_up{${R}} 0`])
    expect(lines(text, 'redis_memory_used_bytes')).toEqual([])
    expect(lines(text, 'kvtop_deployment_up')).toEqual(['kvtop_deployment_up{deployment="orders"} 0'])
    expect(lines(text, 'kvtop_deployment_nodes_up')).toEqual([
      'kvtop_deployment_nodes_up{deployment="orders"} 0',
    ])
    expect(lines(text, 'kvtop_deployment_snapshot_age_seconds')).toEqual([
      'kvtop_deployment_snapshot_age_seconds{deployment="orders"} 6',
    ])
  })

  it('a deployment never reached shows its seed node down, beside a healthy one', async () => {
    const dead = view({ name: 'sessions', seedAddress: '10.9.9.9:6379', snapshot: undefined })
    const text = await scrape([view({ snapshot: healthy() }), dead])
    expect(lines(text, 'redis_up')).toEqual([
      `redis_up{${P}} 1`,
      `redis_up{${R}} 1`,
      'redis_up{deployment="sessions",shard="0",addr="10.9.9.9:6379"} 0',
    ])
    expect(lines(text, 'kvtop_deployment_up')).toEqual([
      'kvtop_deployment_up{deployment="orders"} 1',
      'kvtop_deployment_up{deployment="sessions"} 0',
    ])
  })

  it('every served metric is in the catalog with its type, and the catalog is documented in docs/export.md', async () => {
    const text = await scrape([view({ snapshot: healthy() })])
    const served = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => `${m[1]} ${m[2]}`)
    expect(served).toEqual(ALL_FAMILIES.map((f) => `${f.name} ${f.type}`))
    const doc = readFileSync(fileURLToPath(new URL('../../../docs/export.md', import.meta.url)), 'utf8')
    for (const f of ALL_FAMILIES)
      expect(doc, f.name).toContain(
        `| \`${f.name}\` | ${f.type} | ${f.labels.map((l) => `\`${l}\``).join(', ')} |`,
      )
  })
})
