import { redisOptions, type ConnectionSpec, type NodeAddress } from '../connect/client.js'
import { mapConnectError } from '../connect/connect-errors.js'
import { formatAddress } from '../connect/endpoint.js'
import { UsageError } from '../errors.js'
import { RawRespConnection } from './connection.js'
import { RespError } from './reply-parser.js'

/**
 * A lean pipelined connection (RawRespConnection) to one node of a deployment: the spec's TLS,
 * credentials and NAT map applied, connect errors mapped to ConnectError (exit 3), and a database
 * selected when asked.
 */
export async function openRawNode(
  spec: ConnectionSpec,
  node: NodeAddress,
  options: { db?: number; name?: string } = {},
): Promise<RawRespConnection> {
  const o = redisOptions(spec, node)
  const ctx = {
    host: o.host!,
    port: o.port!,
    tls: spec.endpoint.tls,
    username: spec.endpoint.username,
    timeoutMs: spec.timeoutMs,
  }
  let conn: RawRespConnection
  try {
    conn = await RawRespConnection.connect({
      host: ctx.host,
      port: ctx.port,
      timeoutMs: spec.timeoutMs,
      // From redisOptions: an IAM token when the spec authenticates with one.
      username: o.username,
      password: o.password,
      tls: spec.endpoint.tls
        ? {
            ca: spec.tlsCaFile,
            insecure: spec.insecure,
            servername: /^[\d.:]+$/.test(ctx.host) ? undefined : ctx.host,
          }
        : undefined,
    })
  } catch (err) {
    throw mapConnectError(err, ctx)
  }
  const setup: string[][] = [['CLIENT', 'SETNAME', options.name ?? spec.clientName ?? 'kvtop']]
  if (options.db) setup.push(['SELECT', String(options.db)])
  const replies = await conn.pipeline(setup)
  // CLIENT SETNAME may be refused by an ACL; SELECT may not.
  const select = options.db ? replies[1] : undefined
  if (select instanceof RespError) {
    conn.close()
    throw new UsageError(
      `cannot select database ${options.db} on ${formatAddress(ctx.host, ctx.port)}: ${select.message}`,
    )
  }
  return conn
}
