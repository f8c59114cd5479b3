import { createHmac } from 'node:crypto'
import { SignatureV4 } from '@smithy/signature-v4'
import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  IamTokenProvider,
  NodeSha256,
  generateIamAuthToken,
  inferResourceFromHost,
} from '../../../src/aws/iam-token.js'
import { EMPTY_SHA256, parseToken, referencePresign, sha256hex } from '../../helpers/sigv4-reference.js'

// AWS's published example ("Authenticating Requests: Using Query Parameters", Amazon S3 API
// reference): a presigned GET of examplebucket/test.txt on 2013-05-24, valid 86400 s.
const AWS_EXAMPLE = {
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  signature: 'aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404',
}

const CREDS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' }
const SIGNED_AT = new Date('2024-03-01T12:34:56.789Z')
const AMZ_DATE = '20240301T123456Z'

describe('SigV4 reference and hashing', () => {
  it('the reference signer reproduces the signature AWS publishes', () => {
    const { signature } = referencePresign({
      host: 'examplebucket.s3.amazonaws.com',
      path: '/test.txt',
      query: {},
      service: 's3',
      region: 'us-east-1',
      accessKeyId: AWS_EXAMPLE.accessKeyId,
      secretAccessKey: AWS_EXAMPLE.secretAccessKey,
      date: '20130524T000000Z',
      expires: 86400,
      payloadHash: 'UNSIGNED-PAYLOAD',
    })
    expect(signature).toBe(AWS_EXAMPLE.signature)
  })

  it("kvtop's node:crypto SHA-256 in the SDK signer reproduces it too", async () => {
    const signer = new SignatureV4({
      service: 's3',
      region: 'us-east-1',
      credentials: { accessKeyId: AWS_EXAMPLE.accessKeyId, secretAccessKey: AWS_EXAMPLE.secretAccessKey },
      sha256: NodeSha256,
      uriEscapePath: false,
    })
    const signed = await signer.presign(
      {
        method: 'GET',
        protocol: 'https:',
        hostname: 'examplebucket.s3.amazonaws.com',
        path: '/test.txt',
        query: {},
        headers: { host: 'examplebucket.s3.amazonaws.com', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
      } as never,
      {
        signingDate: new Date('2013-05-24T00:00:00Z'),
        expiresIn: 86400,
        unsignableHeaders: new Set(['x-amz-content-sha256']),
        unhoistableHeaders: new Set(['x-amz-content-sha256']),
      },
    )
    expect(signed.query!['X-Amz-Signature']).toBe(AWS_EXAMPLE.signature)
  })

  it('NodeSha256 hashes and HMACs as node:crypto does, across update() calls and reset()', async () => {
    const h = new NodeSha256()
    h.update('ab')
    h.update(new Uint8Array([0x63]))
    expect(Buffer.from(await h.digest()).toString('hex')).toBe(sha256hex('abc'))
    h.reset()
    expect(Buffer.from(await h.digest()).toString('hex')).toBe(EMPTY_SHA256)
    const m = new NodeSha256('key')
    m.update('data')
    expect(Buffer.from(await m.digest()).toString('hex')).toBe(
      createHmac('sha256', 'key').update('data').digest('hex'),
    )
  })
})

describe('IAM auth token', () => {
  const cases = [
    {
      name: 'ElastiCache replication group',
      service: 'elasticache' as const,
      resource: 'orders',
      serverless: false,
      extra: {} as Record<string, string>,
    },
    {
      name: 'ElastiCache serverless cache',
      service: 'elasticache' as const,
      resource: 'sless',
      serverless: true,
      extra: { ResourceType: 'ServerlessCache' },
    },
    {
      name: 'MemoryDB cluster',
      service: 'memorydb' as const,
      resource: 'sessions',
      serverless: false,
      extra: {},
    },
  ]
  for (const c of cases) {
    it(`${c.name}: equals the reference presigned GET http://${c.resource}/?Action=connect&User=...`, async () => {
      const token = await generateIamAuthToken({
        service: c.service,
        resourceName: c.resource,
        user: 'app-user',
        region: 'eu-west-1',
        credentials: CREDS,
        serverless: c.serverless,
        signingDate: SIGNED_AT,
      })
      expect(token.startsWith(`${c.resource}/?`)).toBe(true)
      expect(token).not.toMatch(/^https?:/)
      const parsed = parseToken(token)
      const ref = referencePresign({
        host: c.resource,
        path: '/',
        query: { Action: 'connect', User: 'app-user', ...c.extra },
        service: c.service,
        region: 'eu-west-1',
        ...CREDS,
        date: AMZ_DATE,
        expires: 900,
        payloadHash: EMPTY_SHA256,
      })
      expect(parsed.host).toBe(c.resource)
      expect(parsed.path).toBe('/')
      expect(parsed.query).toEqual({ ...ref.query, 'X-Amz-Signature': ref.signature })
      expect(parsed.query['X-Amz-Credential']).toBe(
        `AKIDEXAMPLE/20240301/eu-west-1/${c.service}/aws4_request`,
      )
      expect(parsed.query['X-Amz-Expires']).toBe('900')
      expect(parsed.query['X-Amz-SignedHeaders']).toBe('host')
      if (!c.serverless) expect(parsed.query.ResourceType).toBeUndefined()
    })
  }

  it('a session token is signed into the query (temporary credentials)', async () => {
    const sessionToken = 'FwoGZXIvYXdzEJr//////////wEaDGV4YW1wbGUrdG9rZW4='
    const token = await generateIamAuthToken({
      service: 'elasticache',
      resourceName: 'orders',
      user: 'app',
      region: 'us-east-1',
      credentials: { ...CREDS, sessionToken },
      signingDate: SIGNED_AT,
    })
    const parsed = parseToken(token)
    const ref = referencePresign({
      host: 'orders',
      path: '/',
      query: { Action: 'connect', User: 'app' },
      service: 'elasticache',
      region: 'us-east-1',
      ...CREDS,
      sessionToken,
      date: AMZ_DATE,
      expires: 900,
      payloadHash: EMPTY_SHA256,
    })
    expect(parsed.query['X-Amz-Security-Token']).toBe(sessionToken)
    expect(parsed.query['X-Amz-Signature']).toBe(ref.signature)
    // '/' and '+' and '=' of the session token are percent-encoded in the token text.
    expect(token).toContain('X-Amz-Security-Token=FwoGZXIvYXdzEJr%2F%2F%2F')
  })

  it('pinned: the exact token for fixed clock and credentials', async () => {
    const token = await generateIamAuthToken({
      service: 'elasticache',
      resourceName: 'Orders',
      user: 'app user',
      region: 'us-east-1',
      credentials: CREDS,
      signingDate: SIGNED_AT,
    })
    const ref = referencePresign({
      host: 'orders',
      path: '/',
      query: { Action: 'connect', User: 'app user' },
      service: 'elasticache',
      region: 'us-east-1',
      ...CREDS,
      date: AMZ_DATE,
      expires: 900,
      payloadHash: EMPTY_SHA256,
    })
    // ElastiCache names are lowercase at AWS; the user name is percent-encoded (space -> %20).
    expect(token).toBe(
      'orders/?Action=connect&User=app%20user&X-Amz-Algorithm=AWS4-HMAC-SHA256' +
        '&X-Amz-Credential=AKIDEXAMPLE%2F20240301%2Fus-east-1%2Felasticache%2Faws4_request' +
        `&X-Amz-Date=20240301T123456Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Signature=${ref.signature}`,
    )
  })

  it('a different clock, user, region or secret changes the signature', async () => {
    const base = {
      service: 'memorydb' as const,
      resourceName: 'c',
      user: 'u',
      region: 'us-east-1',
      credentials: CREDS,
      signingDate: SIGNED_AT,
    }
    const sig = async (o: Partial<typeof base>) =>
      parseToken(await generateIamAuthToken({ ...base, ...o })).query['X-Amz-Signature']
    const s0 = await sig({})
    expect(await sig({ signingDate: new Date(SIGNED_AT.getTime() + 1000) })).not.toBe(s0)
    expect(await sig({ user: 'v' })).not.toBe(s0)
    expect(await sig({ region: 'us-east-2' })).not.toBe(s0)
    expect(await sig({ credentials: { ...CREDS, secretAccessKey: 'other' } })).not.toBe(s0)
  })
})

describe('IamTokenProvider', () => {
  afterEach(() => vi.useRealTimers())

  it('signs at start, refreshes in the background, and reads credentials each time', async () => {
    vi.useFakeTimers({ now: SIGNED_AT })
    const credentials = vi.fn(async () => CREDS)
    const p = await new IamTokenProvider({
      service: 'elasticache',
      resourceName: 'orders',
      user: 'app',
      region: 'us-east-1',
      credentials,
      refreshMs: 60_000,
    }).start()
    const first = p.current()
    expect(parseToken(first).query['X-Amz-Date']).toBe(AMZ_DATE)
    await vi.advanceTimersByTimeAsync(60_000)
    const second = p.current()
    expect(second).not.toBe(first)
    expect(parseToken(second).query['X-Amz-Date']).toBe('20240301T123556Z')
    expect(credentials).toHaveBeenCalledTimes(2)
    expect(p.username).toBe('app')
    expect(p.reauthIntervalMs).toBeLessThan(12 * 3600_000)
    p.close()
    await vi.advanceTimersByTimeAsync(600_000)
    expect(credentials).toHaveBeenCalledTimes(2)
  })

  it('start() fails when credentials cannot be loaded', async () => {
    const p = new IamTokenProvider({
      service: 'memorydb',
      resourceName: 'c',
      user: 'u',
      region: 'us-east-1',
      credentials: async () => {
        throw new Error('no creds')
      },
    })
    await expect(p.start()).rejects.toThrow('no creds')
    expect(() => p.current()).toThrow()
  })
})

describe('resource from an endpoint hostname', () => {
  it.each([
    [
      'master.orders.abc123.use1.cache.amazonaws.com',
      { service: 'elasticache', name: 'orders', serverless: false },
    ],
    [
      'clustercfg.orders.abc123.use1.cache.amazonaws.com',
      { service: 'elasticache', name: 'orders', serverless: false },
    ],
    [
      'replica.orders.abc123.use1.cache.amazonaws.com',
      { service: 'elasticache', name: 'orders', serverless: false },
    ],
    [
      'orders-0002-001.orders.abc123.use1.cache.amazonaws.com',
      { service: 'elasticache', name: 'orders', serverless: false },
    ],
    [
      'sless-abc123.serverless.use1.cache.amazonaws.com',
      { service: 'elasticache', name: 'sless', serverless: true },
    ],
    [
      'my-cache-x9y8z7.serverless.euw1.cache.amazonaws.com',
      { service: 'elasticache', name: 'my-cache', serverless: true },
    ],
    [
      'clustercfg.sessions.xyz789.memorydb.eu-west-1.amazonaws.com',
      { service: 'memorydb', name: 'sessions', serverless: false, region: 'eu-west-1' },
    ],
    [
      'sessions-0001-002.sessions.xyz789.memorydb.us-east-1.amazonaws.com',
      { service: 'memorydb', name: 'sessions', serverless: false, region: 'us-east-1' },
    ],
  ])('%s', (host, expected) => {
    expect(inferResourceFromHost(host)).toEqual(expected)
  })

  it.each(['10.0.0.12', 'redis.internal.example.com', 'legacy.abc123.0001.use1.cache.amazonaws.com'])(
    '%s: not known',
    (host) => {
      expect(inferResourceFromHost(host)).toBeUndefined()
    },
  )
})
