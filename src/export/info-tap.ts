import type { ConnectionFactory, NodeConnection, PollCommand, PollReply } from '../metrics/connection.js'
import type { InfoLineCache } from '../redis/info.js'
import { parseNodeInfo, type NodeInfo } from '../metrics/node-info.js'

/** A node's latest INFO reply, typed, and when it arrived. */
interface TappedInfo {
  info: NodeInfo
  at: number
}

/**
 * The raw INFO counters of every node, as the monitor engine reads them. The engine's snapshot
 * carries rates over its interval; Prometheus wants the counters themselves (it takes its own
 * rates), so the export reads the same replies on their way to the engine instead of asking
 * every node a second time.
 */
export class InfoTap {
  private readonly byAddress = new Map<string, TappedInfo>()
  private readonly caches = new Map<string, InfoLineCache>()

  /** The factory the engine gets: the same connections, each INFO reply also kept here. */
  wrap(factory: ConnectionFactory): ConnectionFactory {
    return async (node) => {
      const conn = await factory(node)
      return this.tapped(conn, node.address, node.host)
    }
  }

  /** The node's latest INFO, by its address (host:port). */
  latest(address: string): TappedInfo | undefined {
    return this.byAddress.get(address)
  }

  /** Forget nodes that left the topology. */
  retain(addresses: Set<string>): void {
    for (const address of [...this.byAddress.keys()]) {
      if (addresses.has(address)) continue
      this.byAddress.delete(address)
      this.caches.delete(address)
    }
  }

  private record(address: string, host: string, text: string): void {
    let cache = this.caches.get(address)
    if (!cache) this.caches.set(address, (cache = new Map()))
    this.byAddress.set(address, { info: parseNodeInfo(text, host, cache), at: Date.now() })
  }

  private tapped(conn: NodeConnection, address: string, host: string): NodeConnection {
    const record = (text: string) => this.record(address, host, text)
    return {
      get ready() {
        return conn.ready
      },
      get lastError() {
        return conn.lastError
      },
      get handshakeCommands() {
        return conn.handshakeCommands
      },
      async pipeline(commands: PollCommand[]): Promise<PollReply[]> {
        const replies = await conn.pipeline(commands)
        const first = replies[0]
        if (commands[0]?.args[0] === 'INFO' && first?.ok) record(String(first.value))
        return replies
      },
      close: () => conn.close(),
    }
  }
}
