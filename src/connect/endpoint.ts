import { isIPv6 } from 'node:net'
import { UsageError } from '../errors.js'
import { redact, registerSecret } from '../redact.js'
import { formatAddress } from '../wire/address.js'
import type { Endpoint } from '../wire/spec.js'

export type { Endpoint }

const DEFAULT_PORT = 6379

export { formatAddress }

/** The URL without its password, safe to print. */
export function describeEndpoint(endpoint: Endpoint): string {
  const scheme = endpoint.tls ? 'rediss' : 'redis'
  const user = endpoint.username ? `${encodeURIComponent(endpoint.username)}@` : ''
  const db = endpoint.db ? `/${endpoint.db}` : ''
  return `${scheme}://${user}${formatAddress(endpoint.host, endpoint.port)}${db}`
}

const SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i
const MASK = '***'
const URL_HINT = 'Expected redis://[user:password@]host[:port][/db] (rediss:// for TLS).'

/**
 * How userinfo without a ':' reads: `password` as redis-cli reads `-u redis://SECRET@host` (URLs on
 * the command line and in KVTOP_URL), or `user` for URLs in profiles and sandboxes, which give the
 * password in a field of its own.
 */
type BareUserinfo = 'password' | 'user'

/**
 * A URL cut into its raw (still percent-encoded) parts, the way redis-cli reads it: the userinfo
 * ends at the last '@' (so '@' and '/' may appear unencoded in a password), `user:password` splits
 * at the first ':', and userinfo without a ':' is a password for the default user (see BareUserinfo).
 */
interface RawUrl {
  /** `redis://`, or '' when the input had no scheme (then it is read as redis://). */
  prefix: string
  scheme: string
  user?: string
  password?: string
  /** host[:port][/db][?query][#fragment] */
  rest: string
  /** The input with the password masked, for messages. */
  shown: string
}

function splitUrl(text: string, bareUserinfo: BareUserinfo = 'password'): RawUrl {
  const m = SCHEME.exec(text)
  const prefix = m ? m[0] : ''
  const scheme = m ? m[1].toLowerCase() : 'redis'
  let rest = text.slice(prefix.length)
  let user: string | undefined
  let password: string | undefined
  let shownUserinfo = ''
  const at = rest.lastIndexOf('@')
  if (at >= 0) {
    const userinfo = rest.slice(0, at)
    rest = rest.slice(at + 1)
    const colon = userinfo.indexOf(':')
    if (colon >= 0) {
      user = userinfo.slice(0, colon)
      password = userinfo.slice(colon + 1)
      shownUserinfo = `${user}:${password ? MASK : ''}@`
    } else if (bareUserinfo === 'user') {
      user = userinfo
      shownUserinfo = `${user}@`
    } else {
      password = userinfo
      shownUserinfo = password ? `${MASK}@` : '@'
    }
  }
  return { prefix, scheme, user, password, rest, shown: redact(`${prefix}${shownUserinfo}${rest}`) }
}

/**
 * The URL with its password masked (everything before the last '@' but the user name), for messages.
 * Profile URLs read a bare `name@` as the user (`bareUserinfo: 'user'`).
 */
export function maskUrl(text: string, bareUserinfo: BareUserinfo = 'password'): string {
  return splitUrl(text.trim(), bareUserinfo).shown
}

/**
 * The passwords written into redis:// and rediss:// URLs among command-line arguments (also inside
 * `--flag=URL`), decoded where the percent escapes allow. Nothing is validated: this is for
 * registering secrets and warning before any parsing.
 */
export function passwordsInArgs(args: readonly string[]): string[] {
  const out: string[] = []
  for (const arg of args) {
    const i = arg.search(/rediss?:\/\//i)
    if (i < 0) continue
    const { password } = splitUrl(arg.slice(i).trim())
    if (!password) continue
    out.push(password)
    try {
      const decoded = decodeURIComponent(password)
      if (decoded !== password) out.push(decoded)
    } catch {
      // a bad escape: the raw text is what could be printed
    }
  }
  return out
}

function decodeField(raw: string, field: string, shown: string): string {
  try {
    return decodeURIComponent(raw)
  } catch {
    throw new UsageError(`invalid percent-encoding in the ${field} of endpoint URL '${shown}'`, {
      hint: 'Write a literal % as %25; other characters may be escaped as %XX (%40 for @, %3A for :).',
    })
  }
}

/**
 * Parse `redis://[user:password@]host[:port][/db]` or `rediss://...` (IPv6 hosts in brackets),
 * reading the userinfo as redis-cli does: `redis://SECRET@host` is a password for the default user
 * (unless `bareUserinfo: 'user'`, for profile URLs).
 * A bare `host:port` is accepted as redis://host:port. Every error is a UsageError (exit 2) naming
 * the field, and shows the URL with its password masked.
 */
export function parseEndpointUrl(input: string, options: { bareUserinfo?: BareUserinfo } = {}): Endpoint {
  const text = input.trim()
  if (!text) throw new UsageError('empty endpoint URL', { hint: 'Give a URL such as redis://host:6379.' })
  const raw = splitUrl(text, options.bareUserinfo)
  const { shown } = raw
  if (raw.password) registerSecret(raw.password)
  if (raw.scheme !== 'redis' && raw.scheme !== 'rediss') {
    throw new UsageError(`unsupported URL scheme '${raw.scheme}' in '${shown}'`, {
      hint: 'Use redis:// for plain TCP or rediss:// for TLS.',
    })
  }
  if (!raw.prefix && /^rediss?:(?!\d)/i.test(text)) {
    throw new UsageError(`malformed endpoint URL '${shown}'`, { hint: URL_HINT })
  }
  const parts = /^(\[[^\]]*\]|[^:/?#[\]]*)(?::([^/?#]*))?(\/[^?#]*)?(\?[^#]*)?(#.*)?$/.exec(raw.rest)
  if (!parts) {
    const ipv6 = !raw.rest.startsWith('[') && /^[^/?#]*:[^/?#]*:/.test(raw.rest)
    throw new UsageError(`malformed endpoint URL '${shown}'`, {
      hint: ipv6 ? 'Put an IPv6 address in brackets: redis://[::1]:6379.' : URL_HINT,
    })
  }
  const [, rawHost, rawPort, path, query, fragment] = parts
  if (rawPort !== undefined && rawPort !== '') {
    if (!/^\d+$/.test(rawPort) || Number(rawPort) < 1 || Number(rawPort) > 65535) {
      const ipv6 = !rawHost.startsWith('[') && rawPort.includes(':')
      throw new UsageError(`invalid port '${rawPort}' in '${shown}': expected a number from 1 to 65535`, {
        ...(ipv6 ? { hint: 'Put an IPv6 address in brackets: redis://[::1]:6379.' } : {}),
      })
    }
  }
  let host: string
  if (rawHost.startsWith('[')) {
    host = rawHost.slice(1, -1).toLowerCase()
    if (!isIPv6(host)) throw new UsageError(`invalid IPv6 host '${rawHost}' in '${shown}'`)
  } else {
    host = decodeField(rawHost, 'host', shown).toLowerCase()
    if (!host) throw new UsageError(`no host in endpoint URL '${shown}'`, { hint: URL_HINT })
    if (!/^[a-z0-9_.-]+$/.test(host)) {
      throw new UsageError(`invalid host '${host}' in '${shown}'`, {
        hint: 'A host is a name or an IPv4 address; IPv6 addresses go in brackets: redis://[::1]:6379.',
      })
    }
  }
  const port = rawPort ? Number(rawPort) : DEFAULT_PORT
  const dbText = (path ?? '').replace(/^\/+/, '').replace(/\/+$/, '')
  let db = 0
  if (dbText) {
    if (!/^\d+$/.test(dbText))
      throw new UsageError(`invalid database '${dbText}' in '${shown}': expected a number such as /0`)
    db = Number(dbText)
  }
  if (query !== undefined && query !== '?') {
    throw new UsageError(`unexpected query string in '${shown}'`, {
      hint: 'Pass options as flags (--tls-ca, --timeout ...).',
    })
  }
  if (fragment !== undefined && fragment !== '#') {
    throw new UsageError(`unexpected fragment '${fragment}' in '${shown}'`, {
      hint: "Write a '#' in a password as %23.",
    })
  }
  const username = raw.user ? decodeField(raw.user, 'user name', shown) : undefined
  const password = raw.password ? decodeField(raw.password, 'password', shown) : undefined
  registerSecret(password)
  return {
    host,
    port,
    tls: raw.scheme === 'rediss',
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
