import net from 'node:net'
import { Redis as RedisClient, type Redis, type RedisOptions } from 'ioredis'
import { ConnectError } from '../errors.js'
import { mapConnectError } from '../wire/connect-errors.js'
import { explainIamFailure, keepTokenAuthenticated } from './iam.js'
import { nodeLogin, tlsOptions, type ConnectionSpec, type NodeAddress } from '../wire/spec.js'
import { formatAddress } from './endpoint.js'

export type { ConnectionSpec, NodeAddress }

export interface OpenOptions {
  db?: number
  /** Per-command timeout; undefined for long or blocking commands. */
  commandTimeoutMs?: number
  /** Reconnect on failure (pollers); one-shot commands fail fast instead. */
  reconnect?: boolean
  name?: string
}

export function redisOptions(
  spec: ConnectionSpec,
  node: NodeAddress | undefined,
  opts: OpenOptions = {},
): RedisOptions {
  const login = nodeLogin(spec, node)
  return {
    host: login.host,
    port: login.port,
    username: login.username,
    password: login.password,
    db: opts.db ?? 0,
    tls: tlsOptions(spec, login.host),
    protocol: 2,
    lazyConnect: true,
    connectTimeout: spec.timeoutMs,
    commandTimeout: opts.commandTimeoutMs,
    connectionName: opts.name ?? spec.clientName ?? 'kvtop',
    disableClientInfo: true,
    enableOfflineQueue: Boolean(opts.reconnect),
    maxRetriesPerRequest: opts.reconnect ? 1 : 0,
    retryStrategy: opts.reconnect ? (times) => Math.min(200 * 2 ** Math.min(times, 6), 5000) : () => null,
    // Replies stay Buffers where callers use *Buffer commands; names are plain strings.
  }
}

/**
 * Open one connection to one node, ready to use, or throw a ConnectError (exit 3) that names the
 * node. The whole handshake (TCP, TLS, AUTH, ready check) is bounded by the spec's timeout.
 */
export async function openNode(
  spec: ConnectionSpec,
  node?: NodeAddress,
  opts: OpenOptions = {},
): Promise<Redis> {
  const options = redisOptions(spec, node, opts)
  const client = new RedisClient(options)
  // ioredis reports the root cause (ECONNREFUSED, TLS alert, WRONGPASS) as an 'error' event and
  // then rejects connect() with a generic "Connection is closed": keep the first real cause.
  let cause: unknown
  client.on('error', (err) => {
    cause ??= err
  })
  const ctx = {
    host: options.host!,
    port: options.port!,
    tls: spec.endpoint.tls,
    username: spec.endpoint.username,
    timeoutMs: spec.timeoutMs,
  }
  let timer: NodeJS.Timeout | undefined
  try {
    await Promise.race([
      client.connect(),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(Object.assign(new Error('connect timed out'), { code: 'ETIMEDOUT' })),
          spec.timeoutMs,
        )
      }),
    ])
    if (opts.db) {
      await client.select(opts.db)
    }
    if (spec.iam) keepTokenAuthenticated(client, spec.iam)
    return client
  } catch (err) {
    client.disconnect()
    const generic = /Connection is closed|timed out/i.test((err as Error)?.message ?? '')
    const root = generic && cause ? cause : err
    if (
      spec.endpoint.tls &&
      (root as NodeJS.ErrnoException)?.code === 'ETIMEDOUT' &&
      (await tcpReachable(ctx.host, ctx.port, 1000))
    ) {
      // TCP connects but the handshake never completes: a plain port answering a TLS client.
      throw new ConnectError(
        `TLS negotiation with ${formatAddress(ctx.host, ctx.port)} did not complete within ${spec.timeoutMs / 1000}s`,
        {
          code: 'tls',
          hint: 'The port accepts connections but does not speak TLS: use redis:// for a plain port.',
        },
      )
    }
    throw spec.iam ? explainIamFailure(mapConnectError(root, ctx)) : mapConnectError(root, ctx)
  } finally {
    if (timer) clearTimeout(timer)
  }
}

function tcpReachable(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port })
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(timeoutMs, () => done(false))
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
  })
}

export async function closeQuietly(client: Redis | undefined): Promise<void> {
  if (!client) return
  try {
    await Promise.race([client.quit(), new Promise((r) => setTimeout(r, 500))])
  } catch {
    // already closed
  }
  client.disconnect()
}
