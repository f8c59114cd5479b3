import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { closeQuietly, openNode, type ConnectionSpec } from '../../../src/connect/client.js'
import type { TokenAuth } from '../../../src/connect/iam.js'
import { openRawNode } from '../../../src/wire/node.js'
import { runCli } from '../../helpers/cli.js'
import { startFakeAws, type FakeAws } from '../../helpers/fake-aws/index.js'
import { acceptIamTokens, makeLoopbackCert, startTlsRedis, type TlsRedis } from '../../helpers/tls-redis.js'

/**
 * --iam against a real redis-server: one process with a plain port and a TLS port (self-signed
 * certificate made with openssl), ACL users standing in for IAM-enabled ElastiCache users.
 */
let dir: string
let server: TlsRedis
let plainPort: number
let tlsPort: number
let admin: Redis
let fake: FakeAws

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kvtop-iam-'))
  makeLoopbackCert(dir)
  server = await startTlsRedis(dir, 'data')
  ;({ plainPort, tlsPort, admin } = server)
  fake = await startFakeAws()
  fake.state.addReplicationGroup({
    id: 'tlsrg',
    clusterMode: false,
    replicas: 0,
    tls: true,
    engine: 'valkey',
    endpoint: { host: '127.0.0.1', port: tlsPort },
    nodeEndpoints: [{ host: '127.0.0.1', port: tlsPort }],
  })
  fake.state.addReplicationGroup({
    id: 'plainrg',
    clusterMode: false,
    replicas: 0,
    tls: false,
    endpoint: { host: '127.0.0.1', port: plainPort },
  })
}, 60_000)

afterAll(async () => {
  await server?.stop()
  await fake?.close()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

async function authCalls(): Promise<number> {
  const stats = String(await admin.info('commandstats'))
  return Number(/cmdstat_auth:calls=(\d+)/.exec(stats)?.[1] ?? 0)
}

describe('IAM token authentication in the connection layer', () => {
  it('re-authenticates open connections with the current token, and reconnects with the current token', async () => {
    await admin.call('ACL', 'SETUSER', 'rotating', 'on', '>tok-1', '~*', '&*', '+@all')
    const auth: TokenAuth & { token: string } = {
      username: 'rotating',
      reauthIntervalMs: 150,
      token: 'tok-1',
      current() {
        return this.token
      },
    }
    const spec: ConnectionSpec = {
      endpoint: { host: '127.0.0.1', port: plainPort, tls: false, db: 0 },
      insecure: false,
      timeoutMs: 3000,
      natMap: new Map(),
      iam: auth,
    }
    const client = await openNode(spec, undefined, { reconnect: true })
    try {
      expect(await client.call('ACL', 'WHOAMI')).toBe('rotating')
      // The service now takes only the new token (a token lives 15 minutes).
      await admin.call('ACL', 'SETUSER', 'rotating', 'resetpass', '>tok-2')
      auth.token = 'tok-2'
      const before = await authCalls()
      await new Promise((r) => setTimeout(r, 500))
      // AUTH was re-sent on the open connection (the 12-hour limit is pushed back each time).
      expect((await authCalls()) - before).toBeGreaterThanOrEqual(2)
      expect(await client.call('ACL', 'WHOAMI')).toBe('rotating')
      // The service drops the connection; the reconnect must not reuse the stale token.
      await admin.call('CLIENT', 'KILL', 'USER', 'rotating')
      expect(await client.ping()).toBe('PONG')
      expect(await client.call('ACL', 'WHOAMI')).toBe('rotating')
      expect(client.options.password).toBe('tok-2')
    } finally {
      await closeQuietly(client)
    }
  })

  it('raw pipelined connections (scans, probes) opened later use the current token', async () => {
    await admin.call('ACL', 'SETUSER', 'raw-user', 'on', '>tok-now', '~*', '&*', '+@all')
    const spec: ConnectionSpec = {
      // The password the spec was resolved with has expired since.
      endpoint: {
        host: '127.0.0.1',
        port: plainPort,
        tls: false,
        db: 0,
        username: 'raw-user',
        password: 'tok-old',
      },
      insecure: false,
      timeoutMs: 3000,
      natMap: new Map(),
      iam: { username: 'raw-user', reauthIntervalMs: 60_000, current: () => 'tok-now' },
    }
    const conn = await openRawNode(spec, { host: '127.0.0.1', port: plainPort })
    try {
      expect((await conn.call(['ACL', 'WHOAMI'])) as Buffer).toEqual(Buffer.from('raw-user'))
    } finally {
      conn.close()
    }
  })
})

describe('kvtop discover --elasticache RG --iam', () => {
  it(
    'connects over TLS with a token the server accepts as the password, and refuses IAM without TLS',
    { timeout: 150_000 },
    async () => {
      // The user accepts exactly the tokens an independent SigV4 signer makes for the next minutes:
      // the CLI gets in only if its token is right to the byte.
      await acceptIamTokens(admin, {
        user: 'iam-user',
        resource: 'tlsrg',
        service: 'elasticache',
        region: 'us-east-1',
        accessKeyId: fake.accessKeyId,
        secretAccessKey: fake.secretAccessKey,
        seconds: 300,
      })
      const env = fake.env()
      const [ok, plain] = await Promise.all([
        runCli(
          [
            'discover',
            '--elasticache',
            'tlsrg',
            '--iam',
            '--user',
            'iam-user',
            '--tls-ca',
            join(dir, 'cert.pem'),
            '--json',
          ],
          { env, timeoutMs: 120_000 },
        ),
        runCli(['discover', '--elasticache', 'plainrg', '--iam', '--user', 'iam-user'], {
          env,
          timeoutMs: 120_000,
        }),
      ])
      expect(ok.stderr).toBe('')
      expect(ok.code).toBe(0)
      const report = JSON.parse(ok.stdout)
      expect(report.endpoint).toBe(`rediss://iam-user@127.0.0.1:${tlsPort}`)
      expect(report.aws).toMatchObject({ name: 'tlsrg', tls: true })
      expect(report.topology.nodes).toEqual([
        expect.objectContaining({ port: tlsPort, role: 'primary', up: true }),
      ])
      expect(report.capabilities.version).toMatch(/^\d+\.\d+\.\d+$/)
      // Nothing secret in the output: the token is never printed.
      expect(ok.stdout).not.toContain('X-Amz-Signature')

      expect(plain.code).toBe(2)
      expect(plain.stderr).toContain(
        "Error: ElastiCache replication group 'plainrg' has in-transit encryption disabled: IAM authentication requires TLS",
      )

      // The bulk data path (raw pipelined connections, the capability probe) authenticates with the
      // token too: once the default user has a password, a connection made without it is refused.
      await admin.set(Buffer.from('k\r\n\x00\xff', 'latin1'), 'v')
      await admin.call('ACL', 'SETUSER', 'default', 'resetpass', '>not-for-kvtop')
      const out = join(dir, 'iam.rdb')
      const snap = await runCli(
        [
          'snapshot',
          'create',
          '--elasticache',
          'tlsrg',
          '--iam',
          '--user',
          'iam-user',
          '--tls-ca',
          join(dir, 'cert.pem'),
          '--out',
          out,
          '--json',
        ],
        { env, timeoutMs: 120_000 },
      )
      expect(snap.code, snap.stderr).toBe(0)
      expect(JSON.parse(snap.stdout)).toMatchObject({ keys: 1 })
      expect(snap.stdout + snap.stderr).not.toContain('X-Amz-Signature')
    },
  )
})
