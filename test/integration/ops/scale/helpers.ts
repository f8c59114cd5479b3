import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { Cluster } from 'ioredis'
import { workloadKey } from '../../../../src/sandbox/load.js'

/** A cluster client as an application would use one: follows MOVED/ASK, retries TRYAGAIN. */
export async function clusterClient(port: number, password?: string, username?: string): Promise<Cluster> {
  const client = new Cluster([{ host: '127.0.0.1', port }], {
    redisOptions: { protocol: 2, ...(password ? { password } : {}), ...(username ? { username } : {}) },
    maxRedirections: 64,
    retryDelayOnTryAgain: 50,
    retryDelayOnClusterDown: 100,
    retryDelayOnMoved: 0,
    slotsRefreshTimeout: 2000,
    enableOfflineQueue: true,
    lazyConnect: true,
  })
  client.on('error', () => {})
  await client.connect()
  return client
}

export interface ClusterCheck {
  clean: boolean
  output: string
}

/** `redis-cli --cluster check`: clean when it exits 0 with no warnings or errors. */
export function redisCliCheck(port: number, password?: string): ClusterCheck {
  const auth = password ? ['-a', password, '--no-auth-warning'] : []
  const out = spawnSync('redis-cli', [...auth, '--cluster', 'check', `127.0.0.1:${port}`], {
    encoding: 'utf8',
    timeout: 30_000,
  })
  const output = (out.stdout + out.stderr).replace(/\x1b\[[0-9;]*m/g, '')
  return { clean: out.status === 0 && !/\[WARNING\]|\[ERR\]/.test(output), output }
}

/** A logical digest of one key's value (type + content, order-insensitive where the type is). */
export async function valueDigest(client: Cluster, key: Buffer): Promise<string | null> {
  const type = await client.type(key)
  const h = createHash('sha1').update(type)
  const add = (parts: Buffer[]) => parts.forEach((p) => h.update(p).update('\0'))
  switch (type) {
    case 'none':
      return null
    case 'string':
      add([(await client.getBuffer(key))!])
      break
    case 'hash': {
      const flat = await client.hgetallBuffer(key)
      add(
        Object.entries(flat)
          .map(([k, v]) => Buffer.concat([Buffer.from(k), Buffer.from('='), v]))
          .sort(Buffer.compare),
      )
      break
    }
    case 'list':
      add(await client.lrangeBuffer(key, 0, -1))
      break
    case 'set':
      add((await client.smembersBuffer(key)).sort(Buffer.compare))
      break
    case 'zset':
      add(await client.zrangeBuffer(key, '0', '-1', 'WITHSCORES'))
      break
    case 'stream': {
      const entries = (await client.call('XRANGE', key, '-', '+')) as [string, string[]][]
      add(entries.map(([id, fields]) => Buffer.from(`${id}:${fields.join(',')}`)))
      break
    }
    default:
      add([Buffer.from(String(await client.callBuffer('DUMP', key)))])
  }
  return h.digest('hex')
}

/** Digests of the keys `sandbox load` seeds (0..count-1), with whether each has a TTL. */
export async function seededDigests(
  client: Cluster,
  count: number,
): Promise<Map<number, { digest: string | null; ttl: boolean }>> {
  const out = new Map<number, { digest: string | null; ttl: boolean }>()
  for (let i = 0; i < count; i += 200) {
    const ns = Array.from({ length: Math.min(200, count - i) }, (_, j) => i + j)
    const rows = await Promise.all(
      ns.map(async (n) => {
        const { key } = workloadKey(n)
        const [digest, pttl] = await Promise.all([valueDigest(client, key), client.pttl(key)])
        return [n, { digest, ttl: pttl > 0 }] as const
      }),
    )
    for (const [n, row] of rows) out.set(n, row)
  }
  return out
}

/** Keys whose value changed or vanished (a key with a TTL may expire; that is not a loss). */
export function digestDifferences(
  before: Map<number, { digest: string | null; ttl: boolean }>,
  after: Map<number, { digest: string | null; ttl: boolean }>,
): number[] {
  const diffs: number[] = []
  for (const [n, b] of before) {
    const a = after.get(n)
    if (!a || a.digest === b.digest) continue
    if (a.digest === null && b.ttl) continue
    diffs.push(n)
  }
  return diffs
}
