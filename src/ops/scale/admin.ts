/**
 * Cluster administration for `kvtop scale`: one lean RESP connection per node (the same user and
 * TLS settings as the endpoint), fresh topology reads, and waits for the cluster to agree.
 * The cluster's shape changes under these operations, so nothing here caches the topology.
 */
import type { ConnectionSpec, NodeAddress } from '../../connect/client.js'
import { parseClusterNodes, type ClusterNodeRecord } from '../../connect/cluster-parsers.js'
import { mapConnectError } from '../../connect/connect-errors.js'
import { formatAddress } from '../../connect/endpoint.js'
import { translateAddress } from '../../connect/nat-map.js'
import { buildClusterTopology, type Topology, type TopologyNode } from '../../connect/topology.js'
import { RawRespConnection } from '../../wire/connection.js'
import { RespError, type Reply } from '../../wire/reply-parser.js'
import type { CommandArg } from '../../wire/encode.js'
import { OperationError } from '../../errors.js'
import { parseInfo } from '../../metrics/info.js'

export interface NodeRef {
  id: string
  host: string
  port: number
  address: string
}

/** An error reply from one node, naming the node and the command. */
export class NodeCommandError extends Error {
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

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
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

export class ClusterAdmin {
  private readonly conns = new Map<string, Promise<RawRespConnection>>()
  /** Addresses tried first for topology reads; updated as nodes come and go. */
  private seeds: NodeAddress[]

  constructor(
    readonly spec: ConnectionSpec,
    seed: NodeAddress = spec.endpoint,
  ) {
    this.seeds = [{ host: seed.host, port: seed.port }]
  }

  /** MIGRATE's authentication arguments: the source node logs in to the target as this user. */
  migrateAuthArgs(): string[] {
    const password = this.spec.iam ? this.spec.iam.current() : this.spec.endpoint.password
    const username = this.spec.iam ? this.spec.iam.username : this.spec.endpoint.username
    if (password === undefined) return []
    return username && username !== 'default' ? ['AUTH2', username, password] : ['AUTH', password]
  }

  /** The cached connection to one node (opened on first use). */
  async conn(node: NodeAddress): Promise<RawRespConnection> {
    const key = formatAddress(node.host, node.port)
    let pending = this.conns.get(key)
    if (!pending) {
      pending = this.open(node)
      this.conns.set(key, pending)
      pending.catch(() => this.conns.delete(key))
    }
    return pending
  }

  /** Drop a cached connection after a transport error, so that the next call opens a new one. */
  private discard(node: NodeAddress, conn: RawRespConnection): void {
    const key = formatAddress(node.host, node.port)
    const pending = this.conns.get(key)
    if (pending) {
      this.conns.delete(key)
      pending.then((c) => c.close()).catch(() => {})
    }
    conn.close()
  }

  /** A dedicated connection (not cached): for long MIGRATE loops that must not block control calls. */
  async open(node: NodeAddress): Promise<RawRespConnection> {
    const target = translateAddress(this.spec.natMap, node)
    const password = this.spec.iam ? this.spec.iam.current() : this.spec.endpoint.password
    const username = this.spec.iam ? this.spec.iam.username : this.spec.endpoint.username
    try {
      return await RawRespConnection.connect({
        host: target.host,
        port: target.port,
        timeoutMs: this.spec.timeoutMs,
        username,
        password,
        tls: this.spec.endpoint.tls
          ? {
              ca: this.spec.tlsCaFile,
              insecure: this.spec.insecure,
              servername: /^[\d.:]+$/.test(target.host) ? undefined : target.host,
            }
          : undefined,
      })
    } catch (err) {
      throw mapConnectError(err, {
        host: target.host,
        port: target.port,
        tls: this.spec.endpoint.tls,
        username,
        timeoutMs: this.spec.timeoutMs,
      })
    }
  }

  /** Run one command; an error reply throws NodeCommandError. */
  async call(node: NodeAddress, args: readonly CommandArg[]): Promise<Reply> {
    const reply = await this.tryCall(node, args)
    if (reply instanceof RespError)
      throw new NodeCommandError(formatAddress(node.host, node.port), commandName(args), reply)
    return reply
  }

  /** Run one command; an error reply is returned as a RespError value. */
  async tryCall(node: NodeAddress, args: readonly CommandArg[], timeoutMs?: number): Promise<Reply> {
    const conn = await this.conn(node)
    let timer: NodeJS.Timeout | undefined
    try {
      const call = conn.call(args)
      if (!timeoutMs) return await call
      return await Promise.race([
        call,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new Error(`no reply from ${formatAddress(node.host, node.port)} within ${timeoutMs} ms`),
              ),
            timeoutMs,
          )
        }),
      ])
    } catch (err) {
      this.discard(node, conn)
      throw err
    } finally {
      if (timer) clearTimeout(timer)
    }
  }

  /** Many commands in one write; error replies stay in the result as RespError values. */
  async pipeline(node: NodeAddress, commands: readonly (readonly CommandArg[])[]): Promise<Reply[]> {
    const conn = await this.conn(node)
    const out: Reply[] = []
    try {
      // Bounded chunks keep memory flat for 16384-slot sweeps.
      for (let i = 0; i < commands.length; i += 4096) {
        out.push(...(await conn.pipeline(commands.slice(i, i + 4096))))
      }
    } catch (err) {
      this.discard(node, conn)
      throw err
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
    const all = [...this.conns.values()]
    this.conns.clear()
    await Promise.all(all.map((p) => p.then((c) => c.close()).catch(() => {})))
  }
}

/** Who owns which slots, as one node sees it: equal for nodes that agree. */
export function configSignature(view: readonly ClusterNodeRecord[]): string {
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
