import type { Redis } from 'ioredis'
import { closeQuietly, openNode, type ConnectionSpec, type NodeAddress } from '../connect/client.js'
import { errorMessage } from '../errors.js'

/** One command of a poll: its arguments, and whether bulk replies should stay Buffers. */
export interface PollCommand {
  args: string[]
  buffers?: boolean
}

/** A reply slot of a pipeline: the value, or the error the server (or the connection) gave. */
export type PollReply = { ok: true; value: unknown } | { ok: false; error: string }

/**
 * The monitor's connection to one node. One per node, never through a cluster client: each node is
 * asked about itself. The ioredis implementation reconnects with back-off on its own.
 */
export interface NodeConnection {
  /** Ready to take commands now (not connecting or reconnecting). */
  readonly ready: boolean
  /** The last connection-level error, for display. */
  readonly lastError?: string
  /** Commands the connection sent on its own (handshake on each (re)connect), by command name. */
  readonly handshakeCommands: Record<string, number>
  pipeline(commands: PollCommand[]): Promise<PollReply[]>
  close(): Promise<void>
}

export type ConnectionFactory = (node: NodeAddress & { address: string }) => Promise<NodeConnection>

class IoredisConnection implements NodeConnection {
  lastError?: string
  readonly handshakeCommands: Record<string, number> = {}

  constructor(
    private readonly client: Redis,
    private readonly handshake: string[],
  ) {
    client.on('error', (err: Error) => {
      this.lastError = errorMessage(err)
    })
    client.on('ready', () => {
      this.lastError = undefined
      for (const c of handshake) this.handshakeCommands[c] = (this.handshakeCommands[c] ?? 0) + 1
    })
    client.on('close', () => {
      this.lastError ??= 'connection closed'
    })
  }

  get ready(): boolean {
    return this.client.status === 'ready'
  }

  async pipeline(commands: PollCommand[]): Promise<PollReply[]> {
    const pipe = this.client.pipeline()
    for (const c of commands) {
      const [name, ...rest] = c.args
      if (c.buffers) pipe.callBuffer(name, ...rest)
      else pipe.call(name, ...rest)
    }
    const results = (await pipe.exec()) ?? []
    return commands.map((_, i) => {
      const r = results[i]
      if (!r) return { ok: false, error: 'no reply' }
      const [err, value] = r
      return err ? { ok: false, error: errorMessage(err) } : { ok: true, value }
    })
  }

  async close(): Promise<void> {
    await closeQuietly(this.client)
  }
}

/** Connections through the project's connection layer (TLS, ACL user, NAT map), reconnecting with back-off. */
export function ioredisFactory(spec: ConnectionSpec): ConnectionFactory {
  const handshake = ['info']
  if (spec.endpoint.password) handshake.push('auth')
  handshake.push('client|setname')
  return async (node) => {
    const client = await openNode(spec, node, { reconnect: true, name: spec.clientName ?? 'kvtop-monitor' })
    // openNode's connect() made the first handshake before our listener existed: count it too.
    const conn = new IoredisConnection(client, handshake)
    for (const c of handshake) conn.handshakeCommands[c] = (conn.handshakeCommands[c] ?? 0) + 1
    return conn
  }
}
