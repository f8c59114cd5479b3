import { refuseSameServer } from './same-server.js'
import type { Redis } from 'ioredis'
import { KvtopError } from '../errors.js'
import { mapConnectError } from '../wire/connect-errors.js'
import { nodeDialOptions } from '../wire/dial.js'
import { closeQuietly, openNode, type ConnectionSpec, type OpenOptions } from './client.js'
import { probeCapabilities, type Capabilities } from './capabilities.js'
import { resolveConnectionSpec, type ConnectionInput } from './options.js'
import { findOpenSlots, type OpenSlot } from './open-slots.js'
import { discoverTopology, type Topology, type TopologyNode } from './topology.js'

/**
 * A connected deployment: its spec, topology and (optionally) capabilities, with one connection
 * per node opened on demand. Close it when done.
 */
export class Deployment {
  private readonly clients = new Map<string, Redis>()

  private constructor(
    readonly spec: ConnectionSpec,
    readonly seed: Redis,
    readonly topology: Topology,
    readonly capabilities: Capabilities | undefined,
  ) {}

  static async connect(input: ConnectionInput, options: { probe?: boolean } = {}): Promise<Deployment> {
    const spec = resolveConnectionSpec(input, process.env)
    return Deployment.connectSpec(spec, options)
  }

  static async connectSpec(spec: ConnectionSpec, options: { probe?: boolean } = {}): Promise<Deployment> {
    // The seed only carries short metadata commands (INFO, CLUSTER NODES, COMMAND): each is bounded
    // by --timeout, so a node that completes the handshake and then stops answering fails (exit 3).
    const seed = await openNode(spec, undefined, { commandTimeoutMs: spec.timeoutMs })
    try {
      // The probe has its own connection: it runs beside the discovery, not after it. A failure
      // of the discovery is still the one reported when both fail.
      const [topology, capabilities] = await Promise.allSettled([
        discoverTopology(spec, seed),
        options.probe ? probeCapabilities(spec, seed) : undefined,
      ])
      if (topology.status === 'rejected') throw topology.reason
      if (capabilities.status === 'rejected') throw capabilities.reason
      return new Deployment(spec, seed, topology.value, capabilities.value)
    } catch (err) {
      await closeQuietly(seed)
      if (
        err instanceof Error &&
        !(err instanceof KvtopError) &&
        /timed out|Connection is closed/i.test(err.message)
      )
        throw mapConnectError(err, nodeDialOptions(spec, undefined).context)
      throw err
    }
  }

  get primaries(): TopologyNode[] {
    return this.topology.nodes.filter((n) => n.role === 'primary')
  }

  /** A connection to one node (cached), or a new dedicated one with `dedicated`. */
  async client(node: TopologyNode, options: OpenOptions & { dedicated?: boolean } = {}): Promise<Redis> {
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
      String(await (await this.client(node)).call('CLUSTER', 'NODES')),
    )
  }

  async close(): Promise<void> {
    await Promise.all([...this.clients.values()].map((c) => closeQuietly(c)))
    this.clients.clear()
    await closeQuietly(this.seed)
  }
}

/**
 * refuseSameServer on the deployments' own cached connections (the ones their later reads use);
 * a command that never opens an ioredis client (verify) calls same-server.ts directly.
 */
export function refuseSameDeployment(source: Deployment, target: Deployment): Promise<void> {
  return refuseSameServer(source, target, async (d, node) => (await d.client(node)).info('server'))
}
