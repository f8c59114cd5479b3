import type { ConnectionSpec, NodeAddress } from './spec.js'
import { formatAddress } from './address.js'
import { OperationError } from '../errors.js'
import { parseAddress } from './classify.js'
import type { RawRespConnection } from './connection.js'
import { openRawNode } from './node.js'
import type { Watched } from './stall-watch.js'

/** Opens one connection to a node, with a database selected. */
type NodeOpener = (node: NodeAddress, db: number) => Promise<RawRespConnection>

interface Entry {
  address: string
  db: number
  pending: Promise<RawRespConnection>
  conn?: RawRespConnection
}

/**
 * One shared connection per node and database, opened on first use: the node pool every operation
 * that talks to many nodes asks instead of keeping its own map. A connection that failed (reset,
 * timed out, aborted) is replaced by the next `get`; a failed open is not cached. Addresses are
 * `host:port` as the cluster announces them (`[v6]:port` too), or NodeAddress objects.
 */
export class NodePool {
  private readonly entries = new Map<string, Entry>()
  private closing = false

  constructor(private readonly opener: NodeOpener) {}

  /** A pool of openRawNode connections for one deployment, named `name` in CLIENT LIST. */
  static forSpec(spec: ConnectionSpec, options: { name?: string } = {}): NodePool {
    return new NodePool((node, db) => openRawNode(spec, node, { db, name: options.name }))
  }

  /** The shared connection to `node` with `db` selected (opened, or re-opened, when needed). */
  get(node: string | NodeAddress, db = 0): Promise<RawRespConnection> {
    if (this.closing) return Promise.reject(new OperationError('the node pool is closed'))
    const target = toNode(node)
    const address = formatAddress(target.host, target.port)
    const key = `${address}/${db}`
    const entry = this.entries.get(key)
    if (entry && !entry.conn?.closed) return entry.pending
    if (entry?.conn) entry.conn.close()
    const pending = this.opener(target, db)
    const fresh: Entry = { address, db, pending }
    this.entries.set(key, fresh)
    pending.then(
      (conn) => {
        fresh.conn = conn
        // Closed while it was opening: nobody will close it later.
        if (this.closing) conn.close()
      },
      () => {
        if (this.entries.get(key) === fresh) this.entries.delete(key)
      },
    )
    return pending
  }

  /** Forget `node`'s connection(s) (closing them): after a transport error, or before the node goes. */
  discard(node: string | NodeAddress, db?: number): void {
    const target = toNode(node)
    const address = formatAddress(target.host, target.port)
    for (const [key, entry] of this.entries) {
      if (entry.address !== address || (db !== undefined && entry.db !== db)) continue
      this.entries.delete(key)
      entry.pending.then((c) => c.close()).catch(() => {})
    }
  }

  /** The open connections with their node's address: what a stall watch looks at. */
  watched(): Watched[] {
    const out: Watched[] = []
    for (const entry of this.entries.values())
      if (entry.conn && !entry.conn.closed) out.push({ address: entry.address, target: entry.conn })
    return out
  }

  /** Close every connection; later `get`s fail. */
  async closeAll(): Promise<void> {
    this.closing = true
    const all = [...this.entries.values()]
    this.entries.clear()
    await Promise.all(all.map((e) => e.pending.then((c) => c.close()).catch(() => {})))
  }
}

function toNode(node: string | NodeAddress): NodeAddress {
  if (typeof node !== 'string') return node
  const parsed = parseAddress(node)
  if (!parsed) throw new OperationError(`not a node address: '${node}' (expected host:port)`)
  return parsed
}
