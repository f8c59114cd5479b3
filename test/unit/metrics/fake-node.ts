import type { NodeConnection, PollCommand, PollReply } from '../../../src/metrics/connection.js'
import type { Topology, TopologyNode } from '../../../src/connect/topology.js'

/**
 * An in-memory stand-in for one server, answering the monitor's commands like Redis would: its
 * counters advance with every command it processes (kvtop's own included), so tests can check that
 * kvtop's traffic is taken out of the rates.
 */
export class FakeNode {
  processed = 0
  /** Error replies sent (total_error_replies): clients' and kvtop's alike. */
  errorReplies = 0
  calls: Record<string, number> = {}
  role: 'master' | 'slave' = 'master'
  masterHost = ''
  masterPort = 0
  replOffset = 0
  replicas: { ip: string; port: number; offset: number }[] = []
  slowlog: { id: number; at: number; us: number; args: string[] }[] = []
  nextSlowId = 0
  runId = 'run-' + Math.random().toString(16).slice(2)
  /** Hold every reply (a stalled server). */
  stalled = false
  /** Fail the connection (a dead server). */
  dead = false
  pipelines = 0
  private held: (() => void)[] = []

  constructor(readonly port: number) {}

  /** Commands from clients other than kvtop. */
  load(n: number, command = 'get'): void {
    this.processed += n
    this.calls[command] = (this.calls[command] ?? 0) + n
  }

  addSlow(args: string[], us = 20000): void {
    this.slowlog.unshift({ id: this.nextSlowId++, at: Math.floor(Date.now() / 1000), us, args })
  }

  release(): void {
    this.stalled = false
    for (const h of this.held.splice(0)) h()
  }

  protected count(name: string): void {
    this.processed++
    this.calls[name] = (this.calls[name] ?? 0) + 1
  }

  info(): string {
    const lines = [
      '# Server',
      'redis_version:7.0.15',
      `run_id:${this.runId}`,
      'uptime_in_seconds:100',
      `tcp_port:${this.port}`,
      '# Clients',
      'connected_clients:1',
      'blocked_clients:0',
      '# Memory',
      'used_memory:1000000',
      'maxmemory:0',
      '# Stats',
      `total_commands_processed:${this.processed}`,
      `total_error_replies:${this.errorReplies}`,
      'keyspace_hits:0',
      'keyspace_misses:0',
      '# Replication',
      `role:${this.role}`,
      ...(this.role === 'slave'
        ? [
            `master_host:${this.masterHost}`,
            `master_port:${this.masterPort}`,
            'master_link_status:up',
            `slave_repl_offset:${this.replOffset}`,
          ]
        : this.replicas.map(
            (r, i) => `slave${i}:ip=${r.ip},port=${r.port},state=online,offset=${r.offset},lag=0`,
          )),
      `master_repl_offset:${this.replOffset}`,
      'repl_backlog_active:1',
      'repl_backlog_size:1048576',
      'repl_backlog_first_byte_offset:1',
      '# CPU',
      'used_cpu_sys:1.0',
      'used_cpu_user:1.0',
      '# Commandstats',
      ...Object.entries(this.calls).map(
        ([c, n]) =>
          `cmdstat_${c}:calls=${n},usec=${n * 2},usec_per_call=2.00,rejected_calls=0,failed_calls=0`,
      ),
    ]
    return lines.join('\r\n') + '\r\n'
  }

  protected reply(c: PollCommand): PollReply {
    const [name, sub, arg] = c.args
    switch (name.toUpperCase()) {
      case 'INFO': {
        const text = this.info()
        this.count('info')
        return { ok: true, value: text }
      }
      case 'SLOWLOG': {
        this.count('slowlog|get')
        const n = Number(arg)
        const entries = n < 0 ? this.slowlog : this.slowlog.slice(0, n)
        return {
          ok: true,
          value: entries.map((e) => [
            e.id,
            e.at,
            e.us,
            e.args.map((a) => Buffer.from(a)),
            Buffer.from('127.0.0.1:1'),
            Buffer.from(''),
          ]),
        }
      }
      case 'LATENCY':
        this.count('latency|latest')
        return { ok: true, value: [] }
      case 'CLUSTER':
        this.count(`cluster|${sub.toLowerCase()}`)
        return { ok: false, error: 'ERR This instance has cluster support disabled' }
      default:
        return { ok: false, error: `ERR unknown command '${name}'` }
    }
  }

  connection(): NodeConnection {
    const isDead = () => this.dead
    const handle = async (commands: PollCommand[]): Promise<PollReply[]> => {
      this.pipelines++
      if (this.dead) throw new Error('Connection is closed.')
      if (this.stalled) await new Promise<void>((resolve) => this.held.push(resolve))
      return commands.map((c) => {
        const r = this.reply(c)
        if (!r.ok) this.errorReplies++
        return r
      })
    }
    return {
      get ready() {
        return !isDead()
      },
      get lastError() {
        return isDead() ? 'connect ECONNREFUSED' : undefined
      },
      handshakeCommands: {},
      pipeline: handle,
      async close() {},
    }
  }
}

export function topologyOf(nodes: FakeNode[]): Topology {
  const primary = nodes[0]
  const tn: TopologyNode[] = nodes.map((n, i) => ({
    id: `127.0.0.1:${n.port}`,
    host: '127.0.0.1',
    port: n.port,
    address: `127.0.0.1:${n.port}`,
    role: i === 0 ? 'primary' : 'replica',
    shard: 0,
    ...(i === 0 ? {} : { primaryId: `127.0.0.1:${primary.port}` }),
    slots: [],
    up: true,
    health: 'online',
  }))
  return {
    mode: nodes.length > 1 ? 'replicated' : 'standalone',
    nodes: tn,
    shards: [{ index: 0, primaryId: tn[0].id, slots: [], nodeIds: tn.map((n) => n.id) }],
  }
}

/** A primary with replicas, wired to each other. */
export function replicatedSet(ports: number[]): FakeNode[] {
  return wired(ports.map((p) => new FakeNode(p)))
}

/** A primary and its replicas (the first node and the others), wired to each other. */
export function wired<T extends FakeNode>(nodes: T[]): T[] {
  const [primary, ...replicas] = nodes
  for (const r of replicas) {
    r.role = 'slave'
    r.masterHost = '127.0.0.1'
    r.masterPort = primary.port
  }
  primary.replicas = replicas.map((r) => ({ ip: '127.0.0.1', port: r.port, offset: 0 }))
  return nodes
}
