import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { Crc64, crc64, crc64Combine } from '../../../src/data/crc64.js'
import { escapeBytes, quoteBytes, replyText, unescapeBytes } from '../../../src/data/escape.js'
import { copyBytes, writeDecimal, writeSignedDecimal } from '../../../src/wire/bytes.js'
import { lzfCompress, lzfDecompress, LzfError } from '../../../src/data/lzf.js'
import { KeyFingerprintSet } from '../../../src/data/keyspace/fingerprints.js'
import { RateLimiter } from '../../../src/data/keyspace/rate-limiter.js'
import { keySlot, keySlotOf, parseRedirect } from '../../../src/wire/routed-pipeline.js'
import { RespError } from '../../../src/wire/reply-parser.js'
import calculateSlot from 'cluster-key-slot'

/** CRC16-XMODEM of the whole key, mod 16384 (no tag). */
function crcSlot(k: string): number {
  let crc = 0
  for (const b of Buffer.from(k)) {
    crc ^= b << 8
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff
  }
  return crc & 0x3fff
}

/** The definition, bit by bit: reflected, polynomial 0xad93d23594c935a9, init 0, no final xor. */
function crcReference(b: Uint8Array): bigint {
  let crc = 0n
  for (const x of b) {
    crc ^= BigInt(x)
    for (let k = 0; k < 8; k++) crc = crc & 1n ? (crc >> 1n) ^ 0x95ac9329ac4bc9b5n : crc >> 1n
  }
  return crc
}

describe('crc64 (Redis RDB / DUMP checksum)', () => {
  it('has the Jones check value', () => {
    expect(crc64(Buffer.from('123456789')).toString(16)).toBe('e9c6d914c4b8d9ca')
  })

  it.each([0, 1, 7, 8, 9, 47, 48, 63, 64, 65, 511, 512, 513, 4096, 200_000, 700_000])(
    'matches the bit-by-bit definition, JS and WebAssembly paths alike (%i bytes)',
    (n) => {
      const b = randomBytes(n)
      const want = n <= 4096 ? crcReference(b) : undefined
      const wasm = new Crc64().update(b).bigint
      const js = new Crc64().updateJs(b).bigint
      expect(js).toBe(wasm)
      if (want !== undefined) expect(wasm).toBe(want)
    },
  )

  it('is incremental over ranges and stores little-endian', () => {
    const b = randomBytes(10_000)
    const c = new Crc64()
    for (let i = 0; i < b.length; i += 333) c.update(b, i, Math.min(b.length, i + 333))
    expect(c.bigint).toBe(crc64(b))
    const le = c.toBufferLE()
    expect(le.readBigUInt64LE(0)).toBe(c.bigint)
    expect(c.matchesLE(le, 0)).toBe(true)
  })

  it('combines: crc(A||B) from crc(A), crc(B), |B|', () => {
    const a = randomBytes(1234)
    const b = randomBytes(98765)
    expect(crc64Combine(crc64(a), crc64(b), b.length)).toBe(crc64(Buffer.concat([a, b])))
    expect(crc64Combine(crc64(a), 0n, 0)).toBe(crc64(a))
  })
})

describe('lzf', () => {
  it('round-trips compressible data and refuses to grow incompressible data', () => {
    const text = Buffer.from('abcabcabcabc-hello-hello-hello-'.repeat(50))
    const c = lzfCompress(text)!
    expect(c.length).toBeLessThan(text.length)
    expect(lzfDecompress(c, text.length).equals(text)).toBe(true)
    expect(lzfCompress(randomBytes(100))).toBeUndefined()
    const runs = Buffer.alloc(5000, 7)
    expect(lzfDecompress(lzfCompress(runs)!, runs.length).equals(runs)).toBe(true)
  })

  it('names the offset of corrupt input', () => {
    const text = Buffer.from('zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz-abc-abc-abc-abc')
    const c = lzfCompress(text)!
    expect(() => lzfDecompress(c, text.length - 1)).toThrow(LzfError)
    expect(() => lzfDecompress(c.subarray(0, c.length - 2), text.length)).toThrow(/compressed data|expected/)
    // a back-reference before the start of the output
    expect(() => lzfDecompress(Buffer.from([0x20, 0x10]), 3)).toThrow(/before the start/)
  })
})

describe('escapeBytes (redis-cli style)', () => {
  it('escapes the way sdscatrepr does', () => {
    expect(
      escapeBytes(Buffer.from([0x61, 0x00, 0x0d, 0x0a, 0x09, 0x07, 0x08, 0x22, 0x5c, 0xff, 0x7f, 0x20])),
    ).toBe('a\\x00\\r\\n\\t\\a\\b\\"\\\\\\xff\\x7f ')
    expect(quoteBytes(Buffer.from('k\x00'))).toBe('"k\\x00"')
    expect(replyText('plain')).toBe('plain')
    expect(replyText(Buffer.from('k\r\n'))).toBe('k\\r\\n')
    expect(replyText(42)).toBe('42')
    expect(replyText(null)).toBe('')
    expect(escapeBytes(Buffer.from([0xc3, 0x28]))).toBe('\\xc3(')
  })

  it('unescapes back to the same bytes, for every byte value', () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i))
    expect(unescapeBytes(escapeBytes(all)).equals(all)).toBe(true)
    expect(unescapeBytes(quoteBytes(all)).equals(all)).toBe(true)
    expect(unescapeBytes('\\xZZ').toString('latin1')).toBe('\\xZZ')
  })
})

describe('byte helpers', () => {
  it('copy ranges and write decimals', () => {
    const src = randomBytes(300)
    const dst = Buffer.alloc(400)
    expect(copyBytes(src, 10, 40, dst, 5)).toBe(30)
    expect(dst.subarray(5, 35).equals(src.subarray(10, 40))).toBe(true)
    expect(copyBytes(src, 0, 300, dst, 100)).toBe(300)
    expect(dst.subarray(100).equals(src)).toBe(true)
    for (const n of [0, 9, 10, 99, 100, 12345, 4294967295, 4294967296, 1795334168123]) {
      const b = Buffer.alloc(20)
      expect(b.toString('latin1', 0, writeDecimal(b, 0, n))).toBe(String(n))
    }
    const b = Buffer.alloc(20)
    expect(b.toString('latin1', 0, writeSignedDecimal(b, 0, -1234))).toBe('-1234')
  })
})

describe('slots', () => {
  it("follow Redis's keyHashSlot for plain, hash-tagged and binary keys, on ranges", () => {
    // Tags as the Redis cluster specification describes them.
    const slot = (k: string) => keySlot(Buffer.from(k))
    expect(slot('foo')).toBe(12182)
    expect(slot('{user1000}.following')).toBe(slot('user1000'))
    expect(slot('foo{{bar}}zap')).toBe(slot('{bar'))
    expect(slot('foo{bar}{zap}')).toBe(slot('bar'))
    // An empty tag hashes the whole key (cluster-key-slot gets this one wrong).
    expect(slot('foo{}{bar}')).toBe(crcSlot('foo{}{bar}'))
    expect(slot('{}')).toBe(crcSlot('{}'))
    const keys = ['foo', '{a}b', 'x{y', '']
      .map((k) => Buffer.from(k))
      .concat([Buffer.from([0xff, 0x7b, 0x00, 0x7d, 0x0d, 0x0a]), randomBytes(40)])
    for (const k of keys) {
      const padded = Buffer.concat([Buffer.from('xx'), k, Buffer.from('yy')])
      expect(keySlotOf(padded, 2, 2 + k.length)).toBe(keySlot(k))
    }
    // Where there is no empty-tag subtlety, it agrees with cluster-key-slot (what ioredis uses).
    for (const k of ['foo', '{user1000}.following', 'foo{bar}{zap}', 'abc\r\n'])
      expect(slot(k)).toBe(calculateSlot(k))
  })

  it('parse MOVED and ASK redirections', () => {
    expect(parseRedirect(new RespError('MOVED 3999 127.0.0.1:6381'))).toEqual({
      kind: 'MOVED',
      slot: 3999,
      host: '127.0.0.1',
      port: 6381,
    })
    expect(parseRedirect(new RespError('ASK 1 [::1]:7000'))).toEqual({
      kind: 'ASK',
      slot: 1,
      host: '::1',
      port: 7000,
    })
    expect(parseRedirect(new RespError('ERR nope'))).toBeUndefined()
  })
})

describe('KeyFingerprintSet', () => {
  it('tells repeated keys from new ones, per db, across growth', () => {
    const set = new KeyFingerprintSet(16)
    const keys = Array.from({ length: 50_000 }, (_, i) => Buffer.from(`key:${i}`))
    for (const k of keys) expect(set.add(0, k)).toBe(true)
    for (const k of keys.slice(0, 1000)) expect(set.add(0, k)).toBe(false)
    expect(set.add(1, keys[0])).toBe(true)
    const framed = Buffer.concat([Buffer.from('..'), keys[5], Buffer.from('..')])
    expect(set.add(0, framed, 2, 2 + keys[5].length)).toBe(false)
    expect(set.add(0, Buffer.alloc(0))).toBe(true)
    expect(set.add(0, Buffer.alloc(0))).toBe(false)
    expect(set.size).toBe(50_002)
  })
})

describe('RateLimiter', () => {
  it('spaces operations to the rate and lets unlimited through', () => {
    let t = 0
    const r = new RateLimiter(1000, () => t)
    expect(r.delayFor(100)).toBe(0) // the burst
    expect(r.delayFor(100)).toBeGreaterThan(0)
    t += 100
    expect(r.delayFor(100)).toBe(0)
    t += 10
    expect(r.delayFor(100)).toBe(90)
    expect(new RateLimiter(undefined).delayFor(1e9)).toBe(0)
  })
})
