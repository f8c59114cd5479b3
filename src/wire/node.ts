import type { ConnectionSpec, NodeAddress } from './spec.js'
import { mapConnectError } from './connect-errors.js'
import { explainIamFailure } from './connect-errors.js'
import type { TokenAuth } from './spec.js'
import { UsageError } from '../errors.js'
import { RawRespConnection } from './connection.js'
import { nodeDialOptions } from './dial.js'
import type { CommandArg } from './encode.js'
import { RespError } from './reply-parser.js'

/**
 * A lean pipelined connection (RawRespConnection) to one node of a deployment: the spec's TLS,
 * credentials (the current IAM token) and NAT map applied, the connection named, a database
 * selected when asked. The whole handshake — TCP, TLS, AUTH, CLIENT SETNAME, SELECT — is bounded by
 * the spec's timeout: a node that accepts the connection and never answers fails like one that
 * refuses it, with a ConnectError (exit 3) naming it. Single calls on the connection are bounded by
 * the same timeout (RawRespConnection.call); IAM connections re-send AUTH with a fresh token
 * before the services' 12-hour limit.
 */
export async function openRawNode(
  spec: ConnectionSpec,
  node: NodeAddress,
  options: { db?: number; name?: string } = {},
): Promise<RawRespConnection> {
  const { options: dial, context, address } = nodeDialOptions(spec, node)
  const deadline = Date.now() + spec.timeoutMs
  const setup: CommandArg[][] = [['CLIENT', 'SETNAME', options.name ?? spec.clientName ?? 'kvtop']]
  if (options.db) setup.push(['SELECT', options.db])
  let conn: RawRespConnection | undefined
  let replies
  try {
    conn = await RawRespConnection.connect({ ...dial, deadline })
    replies = await conn.withDeadline(deadline, 'CLIENT SETNAME', conn.pipeline(setup))
  } catch (err) {
    conn?.close()
    const mapped = mapConnectError(err, context)
    throw spec.iam ? explainIamFailure(mapped) : mapped
  }
  // CLIENT SETNAME may be refused by an ACL; SELECT may not.
  const select = options.db ? replies[1] : undefined
  if (select instanceof RespError) {
    conn.close()
    throw new UsageError(`cannot select database ${options.db} on ${address}: ${select.message}`)
  }
  if (spec.iam) keepTokenAuthenticatedRaw(conn, spec.iam)
  return conn
}

/**
 * Re-send AUTH with the current token on an open raw connection every `reauthIntervalMs` (the
 * services drop IAM connections 12 hours after their last AUTH). The reply is one more in the
 * connection's ordered stream, so pipelined traffic is undisturbed; a refused re-AUTH leaves the
 * connection to be dropped at the limit. Stops when the connection closes or is detached.
 */
function keepTokenAuthenticatedRaw(conn: RawRespConnection, auth: TokenAuth): void {
  const timer = setInterval(() => {
    if (conn.closed) {
      clearInterval(timer)
      return
    }
    conn.call(['AUTH', auth.username, auth.current()]).catch(() => clearInterval(timer))
  }, auth.reauthIntervalMs)
  timer.unref()
}
