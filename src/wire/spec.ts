/**
 * What the wire layer needs to reach any node of one deployment. `src/connect` builds these from
 * URLs, flags, profiles and AWS names; the wire layer only reads them.
 */
import { readFileSync } from 'node:fs'
import { UsageError } from '../errors.js'
import { registerSecret } from '../redact.js'
import { formatAddress } from './address.js'

export interface Endpoint {
  host: string
  port: number
  tls: boolean
  username?: string
  password?: string
  db: number
}

export interface NodeAddress {
  host: string
  port: number
}

/**
 * Short-lived tokens used as passwords (ElastiCache / MemoryDB IAM authentication). The owner
 * (src/aws/iam-token.ts) keeps `current()` valid by refreshing it in the background; the
 * connection layer only reads it, so nothing here knows about AWS.
 */
export interface TokenAuth {
  /** The user the tokens authenticate (the ElastiCache user id / MemoryDB user name). */
  readonly username: string
  /** A token valid now (each is valid for 15 minutes; the owner refreshes well before that). */
  current(): string
  /** Send AUTH with a fresh token on open connections this often: the services drop IAM connections after 12 h. */
  readonly reauthIntervalMs: number
}

/** Announced address (as the cluster reports it) -> address reachable from here. */
export type NatMap = Map<string, { host: string; port: number }>

/** Everything needed to open a connection to any node of one deployment. */
export interface ConnectionSpec {
  endpoint: Endpoint
  tlsCaFile?: string
  insecure: boolean
  timeoutMs: number
  natMap: NatMap
  /** Connection name shown by CLIENT LIST, so kvtop's own traffic can be recognised. */
  clientName?: string
  /** IAM token authentication: every new connection takes the current token as its password. */
  iam?: TokenAuth
}

export function translateAddress(
  map: NatMap,
  address: { host: string; port: number },
): { host: string; port: number } {
  return map.get(formatAddress(address.host, address.port)) ?? { host: address.host, port: address.port }
}

/** Node's TLS options for the spec (the CA file read here, with a clear error); undefined without TLS. */
export function tlsOptions(
  spec: ConnectionSpec,
  host: string,
): { ca?: Buffer; rejectUnauthorized: boolean; servername?: string } | undefined {
  if (!spec.endpoint.tls) return undefined
  let ca: Buffer | undefined
  if (spec.tlsCaFile) {
    try {
      ca = readFileSync(spec.tlsCaFile)
    } catch (err) {
      throw new UsageError(`cannot read --tls-ca file ${spec.tlsCaFile}: ${(err as Error).message}`)
    }
  }
  return {
    ...(ca ? { ca } : {}),
    rejectUnauthorized: !spec.insecure,
    servername: /^[\d.:]+$/.test(host) ? undefined : host,
  }
}

/**
 * Where and as whom to log in to one node (the endpoint's node when none is given): the address
 * through the NAT map, the ACL user, and the password — the current IAM token when the spec
 * authenticates with one (registered for redaction).
 */
export function nodeLogin(
  spec: ConnectionSpec,
  node: NodeAddress | undefined,
): { host: string; port: number; username?: string; password?: string } {
  const target = translateAddress(spec.natMap, node ?? spec.endpoint)
  const password = spec.iam ? spec.iam.current() : spec.endpoint.password
  registerSecret(password)
  return {
    host: target.host,
    port: target.port,
    username: spec.iam ? spec.iam.username : spec.endpoint.username,
    password,
  }
}
