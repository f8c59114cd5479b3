import { setTimeout as sleep } from 'node:timers/promises'
/**
 * Cluster administration for `kvtop scale`: one lean RESP connection per node (the same user and
 * TLS settings as the endpoint), fresh topology reads, and waits for the cluster to agree.
 * The cluster's shape changes under these operations, so nothing here caches the topology.
 */
import type { ConnectionSpec, NodeAddress } from '../../connect/client.js'
import { parseClusterNodes, type ClusterNodeRecord } from '../../connect/cluster-parsers.js'
import { formatAddress } from '../../connect/endpoint.js'
import { buildClusterTopology, type Topology, type TopologyNode } from '../../connect/topology.js'
import type { RawRespConnection } from '../../wire/connection.js'
import { NodePool } from '../../wire/node-pool.js'
import { openRawNode } from '../../wire/node.js'
import { RespError, type Reply } from '../../wire/reply-parser.js'
import type { CommandArg } from '../../wire/encode.js'
import { DEFAULT_STALL_TIMEOUT_MS, StallWatch, stallMessage, type Watched } from '../../wire/stall-watch.js'
import { KvtopError, OperationError, errorMessage } from '../../errors.js'
import { parseInfo } from '../../redis/info.js'

export interface NodeRef {
  id: string
  host: string
  port: number
  address: string
}

/** An error reply from one node, naming the node and the command. */
class NodeCommandError extends Error {
  constructor(
    readonly address: string,
    readonly command: string,
    readonly reply: RespError,
  ) {
    super(`${command} on ${address}: ${reply.message}`)
    this.name = 'NodeCommandError'
  }
}

export function toText(reply: Reply): string {
  if (Buffer.isBuffer(reply)) return reply.toString('utf8')
  if (reply === null) return ''
  return String(reply)
}

export function refOf(node: TopologyNode | NodeRef): NodeRef {
  return { id: node.id, host: node.host, port: node.port, address: node.address }
}

/** Poll `check` until it returns true or `timeoutMs` passes; the last error names the wait. */
export async function waitUntil(
  what: string,
  timeoutMs: number,
  check: () => Promise<boolean>,
  intervalMs = 200,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  for (;;) {
    try {
      if (await check()) return
    } catch (err) {
      lastError = err
    }
    if (Date.now() >= deadline) break
    await sleep(intervalMs)
  }
  throw new OperationError(
    `timed out after ${Math.round(timeoutMs / 1000)}s waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ''}`,
    { resumable: true },
  )
}

interface ClusterAdminOptions {
  /**
   * A node that owes replies and sends nothing this long (a MIGRATE batch, a SETSLOT sweep) stops
   * the operation: every connection fails with an error naming the node (exit 5). 0: never.
   * Default 60 s.
   */
  stallTimeoutMs?: number
}

export class ClusterAdmin {
  /** Shared connections for control calls, one per node. */
  private readonly pool: NodePool
  /** Dedicated connections (MIGRATE loops) while open: watched for stalls like the pool's. */
  private readonly dedicated = new Set<RawRespConnection>()
  private readonly stallWatch: StallWatch
  /** Addresses tried first for topology reads; updated as nodes come and go. */
  private seeds: NodeAddress[]

  constructor(
    readonly spec: ConnectionSpec,
    seed: NodeAddress = spec.endpoint,
    options: ClusterAdminOptions = {},
  ) {
    this.seeds = [{ host: seed.host, port: seed.port }]
    this.pool = new NodePool((node) => openRawNode(spec, node))
    this.stallWatch = new StallWatch({
      timeoutMs: options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS,
      onStall: (stall) =>
        new OperationError(`the scale stopped: ${stallMessage(stall)}`, {
          code: 'stalled',
          resumable: true,
          hint: 'Slots being moved are left open and still served. Once the node answers again (or has been replaced), run `kvtop scale --fix` to settle them; if it is only slow, raise --stall-timeout (0 waits forever).',
        }),
    })
    this.stallWatch.addSource(() => this.watched())
  }

  /** MIGRATE's authentication arguments: the source node logs in to the target as this user. */
  migrateAuthArgs(): string[] {
    const password = this.spec.iam ? this.spec.iam.current() : this.spec.endpoint.password
    const username = this.spec.iam ? this.spec.iam.username : this.spec.endpoint.username
    if (password === undefined) return []
    return username && username !== 'default' ? ['AUTH2', username, password] : ['AUTH', password]
  }

  /** The shared connection to one node (opened on first use, re-opened after a failure). */
  async conn(node: NodeAddress): Promise<RawRespConnection> {
    return this.pool.get(node)
  }

  /**
   * A dedicated connection (not shared): for long MIGRATE loops that must not block control calls.
   * Watched for stalls until closed.
   */
  async open(node: NodeAddress): Promise<RawRespConnection> {
    const conn = await openRawNode(this.spec, node)
    this.dedicated.add(conn)
    return conn
  }

  /** The error of a stall, once one stopped the operation (throw it rather than what it caused). */
  get stallError(): Error | undefined {
    return this.stallWatch.error
  }

  private *watched(): Iterable<Watched> {
    yield* this.pool.watched()
    for (const conn of this.dedicated) {
      if (conn.closed) this.dedicated.delete(conn)
      else yield { address: conn.address, target: conn }
    }
  }

  /** A transport failure (reset, timeout, stall) of a command: the stall's error, or one naming node and command. */
  private failure(node: NodeAddress, args: readonly CommandArg[], err: unknown): unknown {
    if (this.stallWatch.error) return this.stallWatch.error
    if (err instanceof KvtopError) return err
    return new OperationError(
      `${commandName(args)} on ${formatAddress(node.host, node.port)} failed: ${errorMessage(err)}`,
      { code: 'node-failed', resumable: true, cause: err },
    )
  }

  /** Run one command; an error reply throws NodeCommandError. */
  async call(node: NodeAddress, args: readonly CommandArg[]): Promise<Reply> {
    const reply = await this.tryCall(node, args)
    if (reply instanceof RespError)
      throw new NodeCommandError(formatAddress(node.host, node.port), commandName(args), reply)
    return reply
  }

  /**
   * Run one command; an error reply is returned as a RespError value. Bounded by `timeoutMs`
   * (default: --timeout): a node that does not answer fails it, and its connection is re-opened
   * by the next call.
   */
  async tryCall(node: NodeAddress, args: readonly CommandArg[], timeoutMs?: number): Promise<Reply> {
    const conn = await this.conn(node)
    try {
      return await conn.call(args, timeoutMs ? { timeoutMs } : {})
    } catch (err) {
      this.pool.discard(node)
      throw this.failure(node, args, err)
    }
  }

  /**
   * Many commands in one write; error replies stay in the result as RespError values. A batch has
   * no timeout of its own: the stall watch stops a node that owes its replies and sends nothing.
   */
  async pipeline(node: NodeAddress, commands: readonly (readonly CommandArg[])[]): Promise<Reply[]> {
    const conn = await this.conn(node)
    const out: Reply[] = []
    try {
      // Bounded chunks keep memory flat for 16384-slot sweeps.
      for (let i = 0; i < commands.length; i += 4096) {
        out.push(...(await conn.pipeline(commands.slice(i, i + 4096))))
      }
    } catch (err) {
      this.pool.discard(node)
      throw this.failure(node, commands[0] ?? [], err)
    }
    return out
  }

  async text(node: NodeAddress, args: readonly CommandArg[]): Promise<string> {
    return toText(await this.call(node, args))
  }

  async info(node: NodeAddress, section?: string): Promise<Record<string, string>> {
    return parseInfo(await this.text(node, section ? ['INFO', section] : ['INFO']))
  }

  /** CLUSTER NODES as `node` sees it; its own record has the ip filled in. */
  async nodesView(node: NodeAddress): Promise<ClusterNodeRecord[]> {
    const records = parseClusterNodes(await this.text(node, ['CLUSTER', 'NODES']))
    for (const r of records) {
      if (r.myself && !r.ip) r.ip = node.host
      if (!r.endpoint) r.endpoint = r.ip
    }
    return records
  }

  async myId(node: NodeAddress): Promise<string> {
    return this.text(node, ['CLUSTER', 'MYID'])
  }

  async ping(node: NodeAddress, timeoutMs = 2000): Promise<boolean> {
    try {
      const reply = await this.tryCall(node, ['PING'], timeoutMs)
      return !(reply instanceof RespError)
    } catch {
      return false
    }
  }

  /** Remember a node to read the topology from (a newly added one, or the last one that answered). */
  addSeed(node: NodeAddress): void {
    if (!this.seeds.some((s) => s.host === node.host && s.port === node.port)) this.seeds.push(node)
  }

  /** Forget a node as a seed (it is being removed). */
  dropSeed(node: NodeAddress): void {
    this.seeds = this.seeds.filter((s) => !(s.host === node.host && s.port === node.port))
  }

  /** The cluster as one node sees it now: the first seed that answers. */
  async topology(): Promise<Topology> {
    let lastError: unknown
    for (const seed of [...this.seeds]) {
      try {
        const records = await this.nodesView(seed)
        const state = (await this.info(seed, 'cluster')).cluster_enabled
        if (state !== '1')
          throw new OperationError(`${formatAddress(seed.host, seed.port)} is not in cluster mode`)
        const clusterInfo = parseInfo(await this.text(seed, ['CLUSTER', 'INFO']))
        const topology = buildClusterTopology(records, clusterInfo.cluster_state)
        // Every live node of the cluster is a good seed for the next read.
        for (const n of topology.nodes) if (n.up) this.addSeed({ host: n.host, port: n.port })
        return topology
      } catch (err) {
        lastError = err
      }
    }
    throw lastError instanceof Error ? lastError : new OperationError('no node of the cluster answered')
  }

  /**
   * Wait until every reachable node agrees on who owns which slots, with no node still in
   * handshake; `include` names node ids every node must know, `exclude` ids none may know.
   */
  async waitConsistent(
    timeoutMs: number,
    expect: { include?: ReadonlySet<string>; exclude?: ReadonlySet<string> } = {},
  ): Promise<Topology> {
    let topology: Topology | undefined
    await waitUntil('the cluster nodes to agree on the configuration', timeoutMs, async () => {
      topology = await this.topology()
      const live = topology.nodes.filter((n) => n.health !== 'failed' && !expect.exclude?.has(n.id))
      if (expect.include && [...expect.include].some((id) => !live.some((n) => n.id === id))) return false
      const signatures = new Set<string>()
      for (const node of live) {
        const view = await this.nodesView(node)
        if (view.some((r) => r.flags.includes('handshake') || r.flags.includes('noaddr'))) return false
        const ids = new Set(view.map((r) => r.id))
        if (expect.include && [...expect.include].some((id) => !ids.has(id))) return false
        if (expect.exclude && [...expect.exclude].some((id) => ids.has(id))) return false
        signatures.add(configSignature(view))
      }
      return signatures.size === 1
    })
    return topology!
  }

  async close(): Promise<void> {
    this.stallWatch.stop()
    for (const conn of this.dedicated) conn.close()
    this.dedicated.clear()
    await this.pool.closeAll()
  }
}

/** Who owns which slots, as one node sees it: equal for nodes that agree. */
function configSignature(view: readonly ClusterNodeRecord[]): string {
  return view
    .filter((r) => r.role === 'primary' && r.slots.length > 0)
    .map((r) => `${r.id}:${r.slots.map(([a, b]) => `${a}-${b}`).join(',')}`)
    .sort()
    .join('|')
}

function commandName(args: readonly CommandArg[]): string {
  const first = String(args[0] ?? '').toUpperCase()
  if (first === 'CLUSTER' || first === 'CONFIG') return `${first} ${String(args[1] ?? '').toUpperCase()}`
  return first
}
