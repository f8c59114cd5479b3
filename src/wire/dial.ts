/**
 * The one dialer: every raw socket kvtop opens to a node (pipelined connections, SCAN readers,
 * MONITOR, SYNC) is opened here. TCP or TLS (CA file, --insecure, SNI), bounded by the connect
 * timeout; the AUTH arguments for a password, an ACL user or an IAM token; and the options for one
 * node of a deployment (NAT map, the current IAM token, TLS settings) with the context that
 * connect errors are explained with.
 */
import net from 'node:net'
import { readFileSync } from 'node:fs'
import { nodeLogin, tlsOptions, type ConnectionSpec, type NodeAddress } from './spec.js'
import type { ConnectContext } from './connect-errors.js'
import { formatAddress } from './address.js'
import { UsageError } from '../errors.js'
import type { CommandArg } from './encode.js'

interface TlsDialOptions {
  /** A CA bundle: a file path, or its contents. */
  ca?: string | Buffer
  /** Skip certificate verification (--insecure). */
  insecure?: boolean
  /** SNI and the name checked against the certificate; default: the host, unless it is an IP address. */
  servername?: string
}

interface DialOptions {
  host: string
  port: number
  tls?: TlsDialOptions
  /** Bound on TCP connect plus the TLS handshake; past it the socket is destroyed (ETIMEDOUT). */
  timeoutMs: number
}

interface DialCredentials {
  /** ACL user; with a password only, the default user. */
  username?: string
  password?: string
}

/** How to reach and log in to one node. */
export interface RawConnectOptions extends DialOptions, DialCredentials {}

/** A socket error or timeout while connecting, with the errno-style code the error mapping reads. */
function timeoutError(message: string): Error {
  return Object.assign(new Error(message), { code: 'ETIMEDOUT' })
}

function readCa(ca: string | Buffer | undefined): Buffer | undefined {
  if (ca === undefined || Buffer.isBuffer(ca)) return ca
  try {
    return readFileSync(ca)
  } catch (err) {
    throw new UsageError(`cannot read --tls-ca file ${ca}: ${(err as Error).message}`)
  }
}

/**
 * Open a TCP or TLS socket to host:port. Resolves once it is connected (TLS: once the handshake is
 * done); rejects with the socket's error, or with ETIMEDOUT after `timeoutMs` — for TLS, saying
 * whether the handshake never completed on a port that accepted the connection (a plain port).
 */
export async function openSocket(options: DialOptions): Promise<net.Socket> {
  const ca = options.tls ? readCa(options.tls.ca) : undefined
  // node:tls, and the crypto it loads, only for a TLS endpoint: 5-10 ms of start-up that a plain
  // redis:// command does not pay.
  const tlsConnect = options.tls ? (await import('node:tls')).connect : undefined
  return new Promise((resolve, reject) => {
    let tcpConnected = false
    let settled = false
    const socket =
      options.tls && tlsConnect
        ? tlsConnect({
            host: options.host,
            port: options.port,
            ca,
            rejectUnauthorized: !options.tls.insecure,
            servername: options.tls.servername ?? (net.isIP(options.host) ? undefined : options.host),
          })
        : net.connect({ host: options.host, port: options.port })
    const finish = (err?: Error) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.off('error', finish)
      if (err) {
        socket.destroy()
        reject(err)
        return
      }
      socket.setNoDelay(true)
      resolve(socket)
    }
    const timer = setTimeout(
      () =>
        finish(
          options.tls && tcpConnected
            ? timeoutError(
                `TLS negotiation did not complete within ${options.timeoutMs / 1000}s (the port accepted the connection: does it speak TLS?)`,
              )
            : timeoutError(`connect timed out after ${options.timeoutMs / 1000}s`),
        ),
      options.timeoutMs,
    )
    socket.once('connect', () => {
      tcpConnected = true
      if (!options.tls) finish()
    })
    if (options.tls) socket.once('secureConnect', () => finish())
    socket.on('error', finish)
  })
}

/** AUTH for these credentials (ACL user and password, or the default user's password); none without a password. */
export function authCommand(credentials: DialCredentials): CommandArg[] | undefined {
  if (credentials.password === undefined) return undefined
  return credentials.username
    ? ['AUTH', credentials.username, credentials.password]
    : ['AUTH', credentials.password]
}

/**
 * How to dial one node of a deployment: its address through the NAT map, the spec's TLS settings
 * (the CA file read once here, with a clear error), the user, and the password — the current IAM
 * token when the spec authenticates with one. `context` names the node in connect errors.
 */
export function nodeDialOptions(
  spec: ConnectionSpec,
  node: NodeAddress | undefined,
): { options: RawConnectOptions; context: ConnectContext; address: string } {
  const o = nodeLogin(spec, node)
  const host = o.host
  const port = o.port
  const t = tlsOptions(spec, host)
  return {
    options: {
      host,
      port,
      timeoutMs: spec.timeoutMs,
      username: o.username,
      password: o.password,
      tls: t
        ? {
            ca: t.ca as Buffer | undefined,
            insecure: t.rejectUnauthorized === false,
            servername: t.servername,
          }
        : undefined,
    },
    context: { host, port, tls: spec.endpoint.tls, username: o.username, timeoutMs: spec.timeoutMs },
    address: formatAddress(host, port),
  }
}
