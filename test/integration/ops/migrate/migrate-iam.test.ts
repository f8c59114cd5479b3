import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../../../helpers/cli.js'
import { startFakeAws, type FakeAws } from '../../../helpers/fake-aws/index.js'
import {
  acceptIamTokens,
  makeLoopbackCert,
  startTlsRedis,
  type TlsRedis,
} from '../../../helpers/tls-redis.js'

/**
 * ElastiCache -> MemoryDB with IAM auth on both sides, through `migrate run`: each side is named at
 * AWS (the fake endpoint answers the Describe calls with real redis-server TLS ports) and logs in
 * with IAM tokens, which the servers accept only when they are exactly what SigV4 makes.
 */
let dir: string
let cert: string
let source: TlsRedis
let target: TlsRedis
let fake: FakeAws

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kvtop-migrate-iam-'))
  cert = makeLoopbackCert(dir)
  ;[source, target] = await Promise.all([startTlsRedis(dir, 'ec'), startTlsRedis(dir, 'mdb')])
  fake = await startFakeAws()
  fake.state.addReplicationGroup({
    id: 'orders',
    clusterMode: false,
    replicas: 0,
    tls: true,
    endpoint: { host: '127.0.0.1', port: source.tlsPort },
    nodeEndpoints: [{ host: '127.0.0.1', port: source.tlsPort }],
  })
  fake.state.addMemoryDBCluster({
    name: 'orders-mdb',
    shards: 1,
    replicas: 0,
    tls: true,
    endpoint: { host: '127.0.0.1', port: target.tlsPort },
    nodeEndpoints: [{ host: '127.0.0.1', port: target.tlsPort }],
  })
}, 60_000)

afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop(), fake?.close()])
  if (dir) rmSync(dir, { recursive: true, force: true })
})

describe('migrate run: ElastiCache -> MemoryDB, IAM on both sides', () => {
  it(
    'copies every key (binary-safe), printing both endpoints masked and never a token',
    { timeout: 180_000 },
    async () => {
      const keys = {
        session: [Buffer.from('sess:\x00\xff\r\n', 'latin1'), Buffer.from('v\x00\x01\xfe', 'latin1')],
        plain: [Buffer.from('order:1'), Buffer.from('{"total":12}')],
      }
      for (const [k, v] of Object.values(keys)) await source.admin.set(k, v)
      const common = {
        region: fake.state.region,
        accessKeyId: fake.accessKeyId,
        secretAccessKey: fake.secretAccessKey,
      }
      await acceptIamTokens(source.admin, {
        ...common,
        user: 'ec-reader',
        resource: 'orders',
        service: 'elasticache',
        seconds: 170,
      })
      await acceptIamTokens(target.admin, {
        ...common,
        user: 'mdb-writer',
        resource: 'orders-mdb',
        service: 'memorydb',
        seconds: 170,
      })
      // Nothing gets in without a token: the default users are closed.
      await source.admin.call('ACL', 'SETUSER', 'default', 'resetpass', '>admin-only-src')
      await target.admin.call('ACL', 'SETUSER', 'default', 'resetpass', '>admin-only-dst')

      const r = await runCli(
        [
          'migrate',
          'run',
          '--source-elasticache',
          'orders',
          '--source-iam',
          '--source-user',
          'ec-reader',
          '--target-memorydb',
          'orders-mdb',
          '--target-iam',
          '--target-user',
          'mdb-writer',
          '--tls-ca',
          cert,
          '--json',
        ],
        { env: fake.env(), timeoutMs: 170_000 },
      )
      expect(r.code, r.stderr.slice(-2000)).toBe(0)
      const endpoints = r.stderr
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l))
        .find((e) => e.type === 'endpoints')
      expect(endpoints).toMatchObject({
        source: `rediss://ec-reader@127.0.0.1:${source.tlsPort} (ElastiCache orders, IAM auth)`,
        target: `rediss://mdb-writer@127.0.0.1:${target.tlsPort} (MemoryDB orders-mdb, IAM auth)`,
      })
      const report = JSON.parse(r.stdout)
      expect(report.verify.identical).toBe(true)
      for (const [k, v] of Object.values(keys)) expect(await target.admin.getBuffer(k)).toEqual(v)
      expect(await target.admin.dbsize()).toBe(2)
      expect(r.stdout + r.stderr).not.toContain('X-Amz-Signature')
      expect(r.stdout + r.stderr).not.toContain('admin-only')
    },
  )
})
