import { OperationError, UsageError } from '../errors.js'
import { mapConnectError } from '../wire/connect-errors.js'
import { nodeDialOptions } from '../wire/dial.js'
import { openRawNode } from '../wire/node.js'
import { RespError, type Reply } from '../wire/reply-parser.js'
import type { ConnectedTarget } from './target.js'
import type { TopologyNode } from './topology.js'

/** INFO server of one primary of one side: the reply as it came (an error reply as a RespError). */
type InfoServer<T extends ConnectedTarget> = (side: T, node: TopologyNode) => Promise<Reply | string>

/** On a short connection of kvtop's own wire layer, closed at once (a side with no connections kept). */
async function infoOverRawConnection(d: ConnectedTarget, node: TopologyNode): Promise<Reply> {
  const conn = await openRawNode(d.spec, node)
  try {
    return await conn.call(['INFO', 'server'])
  } catch (err) {
    // No answer within --timeout: exit 3 naming the node, as for the handshake.
    throw mapConnectError(err, nodeDialOptions(d.spec, node).context)
  } finally {
    conn.close()
  }
}

/** run_id of every primary, by address. */
async function runIds<T extends ConnectedTarget>(
  d: T,
  infoServer: InfoServer<T>,
): Promise<Map<string, string>> {
  const out = new Map<string, string>()
  const replies = await Promise.all(d.primaries.map((node) => infoServer(d, node)))
  replies.forEach((reply, i) => {
    const address = d.primaries[i].address
    // Unknown is not "another server": the check cannot be skipped.
    if (reply instanceof RespError)
      throw new OperationError(`INFO server refused on ${address}: ${reply.message}`)
    const id = /^run_id:(\S+)/m.exec(String(reply))?.[1]
    if (id) out.set(id, address)
  })
  return out
}

/**
 * Two endpoints that reach the same server process (127.0.0.1 and localhost, a DNS alias, a NAT
 * map) must not be compared or copied onto each other: refused with exit 2, naming both addresses.
 */
export async function refuseSameServer<T extends ConnectedTarget>(
  source: T,
  target: T,
  infoServer: InfoServer<T> = infoOverRawConnection,
): Promise<void> {
  const [a, b] = await Promise.all([runIds(source, infoServer), runIds(target, infoServer)])
  for (const [id, address] of a) {
    const other = b.get(id)
    if (other === undefined) continue
    throw new UsageError(
      `the source and the target are the same server: ${address} and ${other} have the same run_id (${id.slice(0, 12)}...)`,
      {
        code: 'same-server',
        hint: 'Check --source and --target: two names (127.0.0.1 and localhost, an alias, a tunnel) can reach one server.',
      },
    )
  }
}
