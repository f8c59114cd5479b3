import { UsageError } from '../errors.js'
import { redact } from '../redact.js'

export interface Endpoint {
  host: string
  port: number
  tls: boolean
  username?: string
  password?: string
  db: number
}

export const DEFAULT_PORT = 6379

/** `host:port` with IPv6 hosts bracketed, for messages and ids. */
export function formatAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
}

/** The URL without its password, safe to print. */
export function describeEndpoint(endpoint: Endpoint): string {
  const scheme = endpoint.tls ? 'rediss' : 'redis'
  const user = endpoint.username ? `${encodeURIComponent(endpoint.username)}@` : ''
  const db = endpoint.db ? `/${endpoint.db}` : ''
  return `${scheme}://${user}${formatAddress(endpoint.host, endpoint.port)}${db}`
}

/**
 * Parse `redis://[user[:pass]@]host[:port][/db]` or `rediss://...` (IPv6 hosts in brackets).
 * A bare `host:port` is accepted as redis://host:port. Errors name the problem, never the password.
 */
export function parseEndpointUrl(input: string): Endpoint {
  const text = input.trim()
  const shown = redact(text)
  if (!text) throw new UsageError('empty endpoint URL', { hint: 'Give a URL such as redis://host:6379.' })
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `redis://${text}`
  // The port is checked before URL parsing so that the error can name it.
  const portMatch = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/]*@)?(?:\[[^\]]*\]|[^:/?#[]*)(?::([^/?#]*))?/i.exec(
    withScheme,
  )
  const rawPort = portMatch?.[1]
  if (
    rawPort !== undefined &&
    rawPort !== '' &&
    (!/^\d+$/.test(rawPort) || Number(rawPort) < 1 || Number(rawPort) > 65535)
  ) {
    throw new UsageError(`invalid port '${rawPort}' in '${shown}': expected a number from 1 to 65535`)
  }
  let url: URL
  try {
    url = new URL(withScheme)
  } catch {
    throw new UsageError(`malformed endpoint URL '${shown}'`, {
      hint: 'Expected redis://[user[:password]@]host[:port][/db] or rediss://... for TLS.',
    })
  }
  const scheme = url.protocol.replace(/:$/, '').toLowerCase()
  if (scheme !== 'redis' && scheme !== 'rediss') {
    throw new UsageError(`unsupported URL scheme '${scheme}' in '${shown}'`, {
      hint: 'Use redis:// for plain TCP or rediss:// for TLS.',
    })
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase()
  if (!host) throw new UsageError(`no host in endpoint URL '${shown}'`)
  const port = rawPort ? Number(rawPort) : DEFAULT_PORT
  const path = url.pathname.replace(/^\/+/, '').replace(/\/+$/, '')
  let db = 0
  if (path) {
    if (!/^\d+$/.test(path))
      throw new UsageError(`invalid database '${path}' in '${shown}': expected a number such as /0`)
    db = Number(path)
  }
  if (url.search && url.search !== '?') {
    throw new UsageError(`unexpected query string in '${shown}'`, {
      hint: 'Pass options as flags (--tls-ca, --timeout ...).',
    })
  }
  const username = url.username ? decodeURIComponent(url.username) : undefined
  const password = url.password ? decodeURIComponent(url.password) : undefined
  return {
    host,
    port,
    tls: scheme === 'rediss',
    ...(username ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
    db,
  }
}

/** Parse `host:port` (IPv6 as [::1]:port) as used by --add-node and NAT maps. */
export function parseHostPort(input: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(input) ?? /^([^:[\]]+):(\d+)$/.exec(input)
  if (!m) throw new UsageError(`expected host:port, got '${redact(input)}'`)
  const port = Number(m[2])
  if (port < 1 || port > 65535) throw new UsageError(`invalid port in '${input}': expected 1 to 65535`)
  return { host: m[1], port }
}
