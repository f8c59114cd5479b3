import type { Cluster, Redis } from 'ioredis'

/**
 * Every key of the given primaries (current db) with its logical digest (DEBUG DIGEST-VALUE,
 * independent of encodings) and whether it expires, keys as hex: a byte-exact picture of a dataset
 * to compare across deployments of any shape. The connections must be admin ones (DEBUG).
 */
export async function digestsByKey(primaries: Redis[]): Promise<Map<string, string>> {
  const out = new Map<string, string>()
  for (const conn of primaries) {
    let cursor: Buffer = Buffer.from('0')
    do {
      const [next, keys] = (await conn.callBuffer('SCAN', cursor, 'COUNT', '500')) as [Buffer, Buffer[]]
      cursor = next
      if (keys.length) {
        const digests = (await conn.callBuffer('DEBUG', 'DIGEST-VALUE', ...keys)) as Buffer[]
        const ttls = await Promise.all(keys.map((k) => conn.pttl(k)))
        keys.forEach((k, i) =>
          out.set(k.toString('hex'), `${digests[i].toString()}:${ttls[i] === -1 ? 'persist' : 'expires'}`),
        )
      }
    } while (cursor.toString() !== '0')
  }
  return out
}

/** A key name with NUL, CR LF and invalid UTF-8 in it: `PREFIX:I:` and those bytes. */
export const binaryKey = (prefix: string, i: number): Buffer =>
  Buffer.concat([Buffer.from(`${prefix}:${i}:`), Buffer.from([0x00, 0x0d, 0x0a, 0xff])])

type KeyWriter = (db: Redis | Cluster, key: Buffer, i: number) => Promise<unknown>

/** How seedKeys writes key number i of each kind: binary values, CR LF, invalid UTF-8, a TTL. */
export const KEY_KINDS = {
  bytes: (db, key, i) => db.set(key, Buffer.from([i & 0xff, 0x00, 0x80, 0x0a])),
  hash: (db, key, i) => db.hset(key, 'a', String(i), 'b\r\n', Buffer.from([0xfe])),
  list: (db, key, i) => db.rpush(key, 'x', String(i), Buffer.from([0xc3, 0x28])),
  zset: (db, key, i) => db.zadd(key, i, 'm', -1.5, Buffer.from([0xc3, 0x28])),
  expiring: (db, key, i) => db.set(key, `ttl ${i}`, 'EX', 3600),
} satisfies Record<string, KeyWriter>

export type KeyKind = keyof typeof KEY_KINDS

/**
 * `count` keys named binaryKey(prefix, i), key i of kind `kinds[i % kinds.length]`, sent 1000 at a
 * time: spread over every slot of a cluster client, or on one node.
 */
export async function seedKeys(
  db: Redis | Cluster,
  prefix: string,
  count: number,
  kinds: readonly KeyKind[] = ['bytes', 'hash', 'list', 'zset', 'expiring'],
): Promise<void> {
  for (let start = 0; start < count; start += 1000) {
    const sent: Promise<unknown>[] = []
    for (let i = start; i < Math.min(count, start + 1000); i++) {
      sent.push(KEY_KINDS[kinds[i % kinds.length]](db, binaryKey(prefix, i), i))
    }
    await Promise.all(sent)
  }
}
