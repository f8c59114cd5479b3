import type { Cluster, Redis } from 'ioredis'

export const BIN = Buffer.from([0xff, 0xfe, 0x0d, 0x0a, 0x00, 0xc3, 0x28])
export const bin = (s: string) => Buffer.concat([Buffer.from(s), BIN])

/**
 * A dataset with every type and the encodings small and large values get, binary keys and values
 * (invalid UTF-8, CR LF, NUL), TTLs, a stream with consumer groups and pending entries, a
 * HyperLogLog and a bitmap. `n` scales the number of plain keys.
 */
export async function fillDataset(
  r: Redis | Cluster,
  options: { prefix?: string; n?: number } = {},
): Promise<number> {
  const p = options.prefix ?? ''
  const future = Date.now() + 24 * 3600 * 1000
  let keys = 0
  const k = (s: string) => `${p}${s}`
  await r.set(k('str'), 'hello')
  await r.set(k('str:int'), '123456')
  await r.set(k('str:empty'), '')
  await r.set(bin(k('str:bin:')), Buffer.concat([BIN, Buffer.from('\r\n'), BIN]))
  await r.set(k('str:long'), 'abcdefgh'.repeat(200))
  await r.set(k('str:ttl'), 'ttl', 'PXAT', future)
  await r.pfadd(k('hll'), 'a', 'b', 'c')
  await r.pfadd(k('hll:dense'), ...Array.from({ length: 3000 }, (_, i) => `e${i}`))
  await r.setbit(k('bitmap'), 20_000, 1)
  await r.rpush(k('list:small'), 'a', 'b', '3')
  await r.rpush(k('list:big'), ...Array.from({ length: 300 }, (_, i) => `item-${i}-${'x'.repeat(i % 50)}`))
  await r.rpush(bin(k('list:bin:')), BIN, Buffer.alloc(0), BIN)
  await r.pexpireat(k('list:big'), future)
  await r.sadd(k('set:int'), '1', '2', '-3', '70000')
  await r.sadd(k('set:str'), 'a', 'b', BIN)
  await r.sadd(k('set:big'), ...Array.from({ length: 600 }, (_, i) => `m${i}`))
  await r.zadd(k('zset:small'), '1', 'a', '2.5', 'b', 'inf', BIN)
  await r.zadd(k('zset:big'), ...Array.from({ length: 200 }, (_, i) => [String(i * 1.25), `z${i}`]).flat())
  await r.hset(k('hash:small'), 'f', 'v', 'bin', BIN)
  await r.hset(k('hash:big'), ...Array.from({ length: 300 }, (_, i) => [`f${i}`, `v${i}`]).flat())
  await r.hset(bin(k('hash:bin:')), BIN, BIN)
  await r.pexpireat(k('hash:small'), future)
  keys += 20
  const s = k('stream')
  for (let i = 1; i <= 20; i++) await r.xadd(s, `${i}-1`, 'n', String(i), 'bin', BIN)
  await r.xdel(s, '5-1')
  await r.xgroup('CREATE', s, 'g1', '0')
  await r.xreadgroup('GROUP', 'g1', 'alice', 'COUNT', '3', 'STREAMS', s, '>')
  await r.xreadgroup('GROUP', 'g1', 'bob', 'COUNT', '2', 'STREAMS', s, '>')
  await r.xack(s, 'g1', '1-1')
  await r.xgroup('CREATE', s, 'g2', '$')
  keys += 1
  const n = options.n ?? 200
  for (let i = 0; i < n; i += 100) {
    const sets: Promise<unknown>[] = []
    for (let j = i; j < Math.min(n, i + 100); j++) sets.push(r.set(k(`key:${j}`), `value-${j}`))
    await Promise.all(sets)
  }
  return keys + n
}

/** With --json, stdout holds NDJSON progress events and then the (pretty-printed) result document. */
export function finalJson(stdout: string): any {
  const lines = stdout.split('\n')
  const start = lines.lastIndexOf('{')
  return JSON.parse(lines.slice(start).join('\n'))
}
