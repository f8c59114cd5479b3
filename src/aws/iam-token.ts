import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto'
import { SignatureV4 } from '@smithy/signature-v4'
import { registerSecret } from '../redact.js'
import type { TokenAuth } from '../connect/iam.js'
import type { AwsCredentials } from './clients.js'
import type { AwsService } from './types.js'

/** Tokens are valid this long after signing (the services' limit). */
export const IAM_TOKEN_TTL_SECONDS = 900

type SourceData = string | ArrayBuffer | ArrayBufferView

function toBuffer(data: SourceData): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8')
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength)
  return Buffer.from(data)
}

/** SHA-256 (and HMAC-SHA-256 with a secret) over node:crypto, in the shape SignatureV4 expects. */
export class NodeSha256 {
  private hash!: Hash | Hmac

  constructor(private readonly secret?: SourceData) {
    this.reset()
  }

  update(data: SourceData): void {
    this.hash.update(toBuffer(data))
  }

  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest())
  }

  reset(): void {
    this.hash = this.secret === undefined ? createHash('sha256') : createHmac('sha256', toBuffer(this.secret))
  }
}

export interface IamTokenRequest {
  service: AwsService
  /** ElastiCache replication group id or serverless cache name; MemoryDB cluster name. */
  resourceName: string
  /** ElastiCache: the user id (IAM-enabled users have id = name); MemoryDB: the user name. */
  user: string
  region: string
  credentials: AwsCredentials
  /** ElastiCache serverless caches sign `ResourceType=ServerlessCache` as well. */
  serverless?: boolean
  expiresInSeconds?: number
  signingDate?: Date
}

/** RFC 3986 percent-encoding, as SigV4 canonicalises query strings. */
function rfc3986(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
}

/**
 * An IAM authentication token: the SigV4-presigned URL
 * `http://<resource>/?Action=connect&User=<user>[&ResourceType=ServerlessCache]` (service
 * `elasticache` or `memorydb`, GET, empty payload, 900 s expiry) without its `http://`.
 */
export async function generateIamAuthToken(req: IamTokenRequest): Promise<string> {
  if (req.serverless && req.service !== 'elasticache')
    throw new Error('serverless caches are ElastiCache resources')
  // ElastiCache stores names in lowercase and signs them so; MemoryDB names are taken as given.
  const host = req.service === 'elasticache' ? req.resourceName.toLowerCase() : req.resourceName
  const signer = new SignatureV4({
    service: req.service,
    region: req.region,
    credentials: {
      accessKeyId: req.credentials.accessKeyId,
      secretAccessKey: req.credentials.secretAccessKey,
      ...(req.credentials.sessionToken ? { sessionToken: req.credentials.sessionToken } : {}),
    },
    sha256: NodeSha256,
  })
  const query: Record<string, string> = { Action: 'connect', User: req.user }
  if (req.serverless) query.ResourceType = 'ServerlessCache'
  const request = { method: 'GET', protocol: 'http:', hostname: host, path: '/', query, headers: { host } }
  const signed = await signer.presign(request as Parameters<SignatureV4['presign']>[0], {
    expiresIn: req.expiresInSeconds ?? IAM_TOKEN_TTL_SECONDS,
    ...(req.signingDate ? { signingDate: req.signingDate } : {}),
  })
  const params = Object.entries(signed.query ?? {}).flatMap(([k, v]) =>
    (Array.isArray(v) ? v : [v])
      .filter((x): x is string => typeof x === 'string')
      .map((x) => `${rfc3986(k)}=${rfc3986(x)}`),
  )
  const token = `${host}/?${params.join('&')}`
  registerSecret(token)
  return token
}

export interface IamTokenProviderOptions extends Omit<IamTokenRequest, 'credentials' | 'signingDate'> {
  credentials: () => Promise<AwsCredentials>
  /** Mint a new token this often (tokens live 15 min). Default 5 min. */
  refreshMs?: number
  /** Re-AUTH open connections this often (the services drop IAM connections after 12 h). Default 10 h. */
  reauthIntervalMs?: number
  onRefreshError?: (err: unknown) => void
}

/**
 * Keeps a valid token at hand for the connection layer (TokenAuth): one is signed at start and a
 * new one every few minutes in the background, so `current()` is always usable by a reconnect.
 */
export class IamTokenProvider implements TokenAuth {
  readonly username: string
  readonly reauthIntervalMs: number
  private token: string | undefined
  private timer: NodeJS.Timeout | undefined

  constructor(private readonly options: IamTokenProviderOptions) {
    this.username = options.user
    this.reauthIntervalMs = options.reauthIntervalMs ?? 10 * 3600_000
  }

  /** Sign the first token (errors surface here, e.g. missing credentials) and start refreshing. */
  async start(): Promise<this> {
    await this.refresh()
    if (!this.timer) {
      this.timer = setInterval(
        () => {
          this.refresh().catch((err) => this.options.onRefreshError?.(err))
        },
        this.options.refreshMs ?? 5 * 60_000,
      )
      this.timer.unref()
    }
    return this
  }

  async refresh(): Promise<string> {
    const credentials = await this.options.credentials()
    this.token = await generateIamAuthToken({ ...this.options, credentials })
    return this.token
  }

  current(): string {
    if (!this.token) throw new Error('IamTokenProvider.current() before start()')
    return this.token
  }

  close(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
  }
}

export interface InferredResource {
  service: AwsService
  name: string
  serverless: boolean
  /** MemoryDB hostnames carry the full region name. */
  region?: string
}

/**
 * The resource an ElastiCache / MemoryDB endpoint hostname belongs to, for `--iam` with a URL:
 *   master.<rg>.<id>.<region>.cache.amazonaws.com, replica.<rg>..., clustercfg.<rg>...,
 *   <node>.<rg>.<id>.<region>.cache.amazonaws.com (cluster mode node endpoints),
 *   <name>-<id>.serverless.<region>.cache.amazonaws.com,
 *   clustercfg.<cluster>.<id>.memorydb.<region>.amazonaws.com and node endpoints alike.
 * Undefined when the hostname does not say (IP addresses, CNAMEs, cluster-mode-disabled node names).
 */
export function inferResourceFromHost(hostname: string): InferredResource | undefined {
  const host = hostname.toLowerCase()
  let m = /^clustercfg\.([a-z0-9-]+)\.[a-z0-9]+\.memorydb\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/.exec(host)
  if (m) return { service: 'memorydb', name: m[1], serverless: false, region: m[2] }
  m = /^[a-z0-9-]+\.([a-z0-9-]+)\.[a-z0-9]+\.memorydb\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/.exec(host)
  if (m) return { service: 'memorydb', name: m[1], serverless: false, region: m[2] }
  m = /^([a-z0-9-]+)-[a-z0-9]+\.serverless\.[a-z0-9]+\.cache\.amazonaws\.com(\.cn)?$/.exec(host)
  if (m) return { service: 'elasticache', name: m[1], serverless: true }
  m =
    /^(?:master|replica|clustercfg)\.([a-z0-9-]+)\.[a-z0-9]+\.[a-z0-9]+\.cache\.amazonaws\.com(\.cn)?$/.exec(
      host,
    )
  if (m) return { service: 'elasticache', name: m[1], serverless: false }
  m = /^([a-z0-9-]+)-\d{4}-\d{3}\.([a-z0-9-]+)\.[a-z0-9]+\.[a-z0-9]+\.cache\.amazonaws\.com(\.cn)?$/.exec(
    host,
  )
  if (m && m[1] === m[2]) return { service: 'elasticache', name: m[2], serverless: false }
  return undefined
}
