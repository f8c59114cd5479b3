import type { Redis } from 'ioredis'

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
