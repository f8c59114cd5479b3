import type { NodeAddress } from '../../wire/spec.js'
import type { CommandArg } from '../../wire/encode.js'
import type { NodePool } from '../../wire/node-pool.js'
import { RespError, type Reply } from '../../wire/reply-parser.js'

// The few single commands a snapshot sends besides its reads (INFO, CLUSTER NODES, the version
// probe, FUNCTION DUMP), over the run's pool of kvtop's own connections: no ioredis is loaded.

/** One command on `node` (database `db`); an error reply is thrown as the RespError it is. */
export async function callNode(
  nodes: NodePool,
  node: NodeAddress,
  args: readonly CommandArg[],
  db = 0,
): Promise<Reply> {
  const reply = await (await nodes.get(node, db)).call(args)
  if (reply instanceof RespError) throw reply
  return reply
}

/** callNode for a command answered with text (INFO, CLUSTER NODES). */
export async function nodeText(
  nodes: NodePool,
  node: NodeAddress,
  args: readonly CommandArg[],
): Promise<string> {
  const reply = await callNode(nodes, node, args)
  return Buffer.isBuffer(reply) ? reply.toString('utf8') : String(reply)
}
