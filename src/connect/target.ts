import { KvtopError } from '../errors.js'
import { mapConnectError } from '../wire/connect-errors.js'
import type { RawRespConnection } from '../wire/connection.js'
import { nodeDialOptions } from '../wire/dial.js'
import { openRawNode } from '../wire/node.js'
import { RespError, type Reply } from '../wire/reply-parser.js'
import type { ConnectionSpec } from '../wire/spec.js'
import { probeCapabilities, type Capabilities } from './capabilities.js'
import { resolveConnectionSpec, type ConnectionInput } from './options.js'
import { discoverVia, type DiscoveryLink, type Topology, type TopologyNode } from './topology.js'

/**
 * What an operation that writes through kvtop's own wire layer needs of a deployment: its spec,
 * topology and capabilities. A `Deployment` is one; `connectTarget` gives one without loading
 * ioredis (a one-shot command that never uses an ioredis client does not pay ~40 ms to load it).
 */
export interface ConnectedTarget {
  readonly spec: ConnectionSpec
  readonly topology: Topology
  readonly capabilities: Capabilities | undefined
  readonly primaries: TopologyNode[]
}

/**
 * A ConnectedTarget with the connection its discovery ran on, kept open for an operation's own
 * metadata commands (COMMAND, INFO, DBSIZE): the caller closes it.
 */
export interface SeededTarget extends ConnectedTarget {
  readonly seed: RawRespConnection
}

/**
 * Connect to a deployment through kvtop's wire layer: discovery on a seed connection and (with
 * `probe`) the capability probe on its own, side by side, as `Deployment.connect` does. Nothing
 * stays open: the operation opens its own connections.
 */
export async function connectTarget(
  input: ConnectionInput,
  options: { probe?: boolean } = {},
): Promise<ConnectedTarget> {
  return connectTargetSpec(resolveConnectionSpec(input, process.env), options)
}

/** connectTarget for a resolved spec (a topology read again, at the end of an operation). */
export async function connectTargetSpec(
  spec: ConnectionSpec,
  options: { probe?: boolean } = {},
): Promise<ConnectedTarget> {
  const { seed, ...target } = await connectSeeded(spec, options)
  seed.close()
  return target
}

/** connectTarget, the seed connection kept open (closed only when connecting fails). */
export async function connectSeededTarget(
  input: ConnectionInput,
  options: { probe?: boolean } = {},
): Promise<SeededTarget> {
  return connectSeeded(resolveConnectionSpec(input, process.env), options)
}

async function connectSeeded(spec: ConnectionSpec, options: { probe?: boolean }): Promise<SeededTarget> {
  const seed = await openRawNode(spec, spec.endpoint)
  const link = rawLink(spec, seed)
  try {
    // A failure of the discovery is the one reported when both fail.
    const [topology, capabilities] = await Promise.allSettled([
      discoverVia(spec, link),
      options.probe ? probeCapabilities(spec) : undefined,
    ])
    if (topology.status === 'rejected') throw topology.reason
    if (capabilities.status === 'rejected') throw capabilities.reason
    const nodes = topology.value.nodes
    return {
      spec,
      topology: topology.value,
      capabilities: capabilities.value,
      primaries: nodes.filter((n) => n.role === 'primary'),
      seed,
    }
  } catch (err) {
    await link.close()
    // A transport failure of the seed (a node that stopped answering, a reset): exit 3 naming it.
    if (!(err instanceof KvtopError) && (err as NodeJS.ErrnoException)?.code)
      throw mapConnectError(err, nodeDialOptions(spec, spec.endpoint).context)
    throw err
  }
}

/** A raw connection as a DiscoveryLink: bulk strings as text, error replies thrown. */
function rawLink(spec: ConnectionSpec, conn: RawRespConnection): DiscoveryLink {
  return {
    call: async (...args) => {
      const reply = await conn.call(args)
      if (reply instanceof RespError) throw reply
      return asText(reply)
    },
    openPeer: async (node) => rawLink(spec, await openRawNode(spec, node)),
    close: async () => conn.close(),
  }
}

/** A reply with every bulk string as UTF-8 text (how ioredis gives replies to discovery). */
function asText(reply: Reply): unknown {
  if (Buffer.isBuffer(reply)) return reply.toString('utf8')
  if (Array.isArray(reply)) return reply.map(asText)
  return reply
}
