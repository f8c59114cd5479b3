import { createHash, createHmac } from 'node:crypto'

/**
 * An independent SigV4 query-string signer, written from the AWS specification with node:crypto
 * only (no code shared with src/): the reference the token is checked against.
 */
export function rfc3986(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
}
export const sha256hex = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex')
const hmac = (key: Buffer | string, s: string) => createHmac('sha256', key).update(s, 'utf8').digest()

export function referencePresign(opts: {
  host: string
  path: string
  query: Record<string, string>
  service: string
  region: string
  accessKeyId: string
  secretAccessKey: string
  sessionToken?: string
  date: string // YYYYMMDDTHHMMSSZ
  expires: number
  payloadHash: string
}): { query: Record<string, string>; signature: string } {
  const day = opts.date.slice(0, 8)
  const scope = `${day}/${opts.region}/${opts.service}/aws4_request`
  const query: Record<string, string> = {
    ...opts.query,
    'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
    'X-Amz-Credential': `${opts.accessKeyId}/${scope}`,
    'X-Amz-Date': opts.date,
    'X-Amz-Expires': String(opts.expires),
    'X-Amz-SignedHeaders': 'host',
    ...(opts.sessionToken ? { 'X-Amz-Security-Token': opts.sessionToken } : {}),
  }
  const canonicalQuery = Object.keys(query)
    .sort()
    .map((k) => `${rfc3986(k)}=${rfc3986(query[k])}`)
    .join('&')
  const canonicalRequest = [
    'GET',
    opts.path,
    canonicalQuery,
    `host:${opts.host}`,
    '',
    'host',
    opts.payloadHash,
  ].join('\n')
  const stringToSign = ['AWS4-HMAC-SHA256', opts.date, scope, sha256hex(canonicalRequest)].join('\n')
  const kDate = hmac(`AWS4${opts.secretAccessKey}`, day)
  const kRegion = hmac(kDate, opts.region)
  const kService = hmac(kRegion, opts.service)
  const kSigning = hmac(kService, 'aws4_request')
  const signature = createHmac('sha256', kSigning).update(stringToSign, 'utf8').digest('hex')
  return { query, signature }
}

export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'

/** Split a token `host/path?query` back into its parts. */
export function parseToken(token: string): { host: string; path: string; query: Record<string, string> } {
  const q = token.indexOf('?')
  const hostPath = token.slice(0, q)
  const slash = hostPath.indexOf('/')
  return {
    host: hostPath.slice(0, slash),
    path: hostPath.slice(slash),
    query: Object.fromEntries(new URLSearchParams(token.slice(q + 1))),
  }
}
