import { refuseSameServer } from './same-server.js'
import type { Redis } from 'ioredis'
import { KvtopError } from '../errors.js'
import { mapConnectError } from '../wire/connect-errors.js'
import type { RawRespConnection } from '../wire/connection.js'
import { nodeDialOptions } from '../wire/dial.js'
import type { CommandArg } from '../wire/encode.js'
import { openRawNode } from '../wire/node.js'
import { RespError, type Reply } from '../wire/reply-parser.js'
import type { ConnectionSpec } from '../wire/spec.js'
import type { OpenOptions } from './client.js'
import type { Capabilities } from './capabilities.js'
import { resolveConnectionSpec, type ConnectionInput } from './options.js'
import { findOpenSlots, type OpenSlot } from './open-slots.js'
import { connectTargetSpec, type ConnectedTarget } from './target.js'
import type { Topology, TopologyNode } from './topology.js'

/** How a connection the server closed fails a command sent on it. */
const DROPPED = new Set(['ECONNRESET', 'EPIPE'])

/**
 * A connected deployment: its spec, topology and (optionally) capabilities. Its metadata commands
 * (INFO, CLUSTER NODES, SCAN, DUMP of a probe key) go over kvtop's own connections, one per node,
 * opened on demand and kept until `close`; an ioredis client per node is there for the callers that
 * need one, loaded only then: a one-shot operation that never asks for one (migrate run) does not
 * pay to load ioredis.
 */
export class Deployment implements ConnectedTarget {
  private readonly clients = new Map<string, Redis>()
  private readonly links = new Map<string, RawRespConnection>()
  private readonly opening = new Map<string, Promise<RawRespConnection>>()

  private constructor(
    readonly spec: ConnectionSpec,
    readonly topology: Topology,
    readonly capabilities: Capabilities | undefined,
  ) {}

  static async connect(input: ConnectionInput, options: { probe?: boolean } = {}): Promise<Deployment> {
    const spec = resolveConnectionSpec(input, process.env)
    return Deployment.connectSpec(spec, options)
  }

  /** Discovery on a seed connection, and (with `probe`) the capability probe beside it. */
  static async connectSpec(spec: ConnectionSpec, options: { probe?: boolean } = {}): Promise<Deployment> {
    const target = await connectTargetSpec(spec, options)
    return new Deployment(spec, target.topology, target.capabilities)
  }

  get primaries(): TopologyNode[] {
    return this.topology.nodes.filter((n) => n.role === 'primary')
  }

  /**
   * One command on one node, over this deployment's own connection to it: an error reply is thrown
   * (a RespError), bulk strings come back as Buffers, each call bounded by the spec's timeout. A
   * kept connection the server closed meanwhile (its idle `timeout`, a restart) is opened again and
   * the command sent once more: these are metadata commands, safe to repeat. A node that cannot be
   * reached, or stops answering, fails with a ConnectError (exit 3) naming it.
   */
  async command(node: TopologyNode, args: readonly CommandArg[]): Promise<Reply> {
    let reply: Reply
    try {
      const kept = this.links.get(node.address)
      const conn = await this.link(node)
      try {
        reply = await conn.call(args)
      } catch (err) {
        if (conn !== kept || !DROPPED.has((err as NodeJS.ErrnoException)?.code ?? '')) throw err
        reply = await (await this.link(node)).call(args)
      }
    } catch (err) {
      if (err instanceof KvtopError || !(err as NodeJS.ErrnoException)?.code) throw err
      throw mapConnectError(err, nodeDialOptions(this.spec, node).context)
    }
    if (reply instanceof RespError) throw reply
    return reply
  }

  /** INFO (of one section, or the default ones) of one node, as text. */
  async info(node: TopologyNode, section?: string): Promise<string> {
    return String(await this.command(node, section ? ['INFO', section] : ['INFO']))
  }

  /** Connections to these nodes opened now, side by side (the reads that follow share them). */
  async open(nodes: TopologyNode[]): Promise<void> {
    await Promise.all(nodes.map((node) => this.link(node)))
  }

  /** This deployment's own connection to a node: opened once, again after it closed. */
  private link(node: TopologyNode): Promise<RawRespConnection> {
    const open = this.links.get(node.address)
    if (open && !open.closed) return Promise.resolve(open)
    let opening = this.opening.get(node.address)
    if (!opening) {
      opening = openRawNode(this.spec, node)
        .then((conn) => {
          this.links.set(node.address, conn)
          return conn
        })
        .finally(() => this.opening.delete(node.address))
      this.opening.set(node.address, opening)
    }
    return opening
  }

  /** An ioredis connection to one node (cached), or a new dedicated one with `dedicated`. */
  async client(node: TopologyNode, options: OpenOptions & { dedicated?: boolean } = {}): Promise<Redis> {
    const { openNode } = await import('./client.js')
    if (options.dedicated) return openNode(this.spec, node, options)
    const cached = this.clients.get(node.address)
    if (cached && cached.status === 'ready') return cached
    const client = await openNode(this.spec, node, options)
    this.clients.set(node.address, client)
    return client
  }

  /** Slots being moved (MIGRATING / IMPORTING): see findOpenSlots. */
  async openSlots(): Promise<OpenSlot[]> {
    return findOpenSlots(this.topology, async (node) =>
      String(await this.command(node, ['CLUSTER', 'NODES'])),
    )
  }

  async close(): Promise<void> {
    // A connection still being opened joins `links` once it is, and is closed with them.
    await Promise.allSettled(this.opening.values())
    for (const conn of this.links.values()) conn.close()
    this.links.clear()
    if (this.clients.size) {
      const { closeQuietly } = await import('./client.js')
      await Promise.all([...this.clients.values()].map((c) => closeQuietly(c)))
      this.clients.clear()
    }
  }
}

/**
 * refuseSameServer on the deployments' own connections (the ones their later reads use); a
 * command that never makes a Deployment (verify) calls same-server.ts directly.
 */
export function refuseSameDeployment(source: Deployment, target: Deployment): Promise<void> {
  return refuseSameServer(source, target, (d, node) => d.info(node, 'server'))
}
