/**
 * Builders for hand-made RDB files and encodings (ziplist, zipmap, intset, listpack), for the legacy
 * and future formats the installed redis-server does not write. Files built here are checked against
 * the real server where it can read them (test/fixtures/rdb/generate.ts).
 */
import { Crc64 } from '../../src/data/crc64.js'
import { lzfCompress } from '../../src/data/lzf.js'

export function len(n: number): Buffer {
  if (n < 64) return Buffer.from([n])
  if (n < 16384) return Buffer.from([0x40 | (n >> 8), n & 0xff])
  const b = Buffer.alloc(5)
  b[0] = 0x80
  b.writeUInt32BE(n, 1)
  return b
}

export type Bytes = Buffer | string

const buf = (s: Bytes) => (typeof s === 'string' ? Buffer.from(s, 'latin1') : s)

/** A plain RDB string. */
export function str(s: Bytes): Buffer {
  const b = buf(s)
  return Buffer.concat([len(b.length), b])
}

/** An integer-encoded RDB string (INT8/16/32). */
export function intStr(n: number): Buffer {
  if (n >= -128 && n <= 127) return Buffer.from([0xc0, n & 0xff])
  if (n >= -32768 && n <= 32767) {
    const b = Buffer.alloc(3)
    b[0] = 0xc1
    b.writeInt16LE(n, 1)
    return b
  }
  const b = Buffer.alloc(5)
  b[0] = 0xc2
  b.writeInt32LE(n, 1)
  return b
}

/** An LZF-compressed RDB string (throws if the data does not compress). */
export function lzfStr(s: Bytes): Buffer {
  const b = buf(s)
  const c = lzfCompress(b)
  if (!c) throw new Error('data does not compress')
  return Buffer.concat([Buffer.from([0xc3]), len(c.length), len(b.length), c])
}

export type ZlEntry = Bytes | number

/** A ziplist; numbers use the integer encodings Redis picks for them. */
export function ziplist(entries: ZlEntry[]): Buffer {
  const parts: Buffer[] = []
  let prevLen = 0
  let tail = 10
  let offset = 10
  for (const e of entries) {
    const prev = prevLen < 254 ? Buffer.from([prevLen]) : Buffer.concat([Buffer.from([0xfe]), u32le(prevLen)])
    let body: Buffer
    if (typeof e === 'number') {
      if (e >= 0 && e <= 12) body = Buffer.from([0xf1 + e])
      else if (e >= -128 && e <= 127) body = Buffer.from([0xfe, e & 0xff])
      else if (e >= -32768 && e <= 32767) {
        body = Buffer.alloc(3)
        body[0] = 0xc0
        body.writeInt16LE(e, 1)
      } else if (e >= -8388608 && e <= 8388607) {
        body = Buffer.alloc(4)
        body[0] = 0xf0
        body.writeIntLE(e, 1, 3)
      } else if (e >= -2147483648 && e <= 2147483647) {
        body = Buffer.alloc(5)
        body[0] = 0xd0
        body.writeInt32LE(e, 1)
      } else {
        body = Buffer.alloc(9)
        body[0] = 0xe0
        body.writeBigInt64LE(BigInt(e), 1)
      }
    } else {
      const s = buf(e)
      let head: Buffer
      if (s.length < 64) head = Buffer.from([s.length])
      else if (s.length < 16384) head = Buffer.from([0x40 | (s.length >> 8), s.length & 0xff])
      else {
        head = Buffer.alloc(5)
        head[0] = 0x80
        head.writeUInt32BE(s.length, 1)
      }
      body = Buffer.concat([head, s])
    }
    const entry = Buffer.concat([prev, body])
    tail = offset
    offset += entry.length
    prevLen = entry.length
    parts.push(entry)
  }
  const total = offset + 1
  const header = Buffer.alloc(10)
  header.writeUInt32LE(total, 0)
  header.writeUInt32LE(entries.length ? tail : 10, 4)
  header.writeUInt16LE(Math.min(entries.length, 0xffff), 8)
  return Buffer.concat([header, ...parts, Buffer.from([0xff])])
}

function u32le(n: number): Buffer {
  const b = Buffer.alloc(4)
  b.writeUInt32LE(n, 0)
  return b
}

/** A zipmap of field/value pairs. */
export function zipmap(pairs: [Bytes, Bytes][]): Buffer {
  const lenByte = (n: number) => (n < 254 ? Buffer.from([n]) : Buffer.concat([Buffer.from([254]), u32le(n)]))
  const parts: Buffer[] = [Buffer.from([pairs.length < 254 ? pairs.length : 254])]
  for (const [k, v] of pairs) {
    const kb = buf(k)
    const vb = buf(v)
    parts.push(lenByte(kb.length), kb, lenByte(vb.length), Buffer.from([0]), vb)
  }
  parts.push(Buffer.from([0xff]))
  return Buffer.concat(parts)
}

/** An intset (values sorted and de-duplicated here). */
export function intset(values: number[], width?: 2 | 4 | 8): Buffer {
  const sorted = [...new Set(values)].sort((a, b) => a - b)
  const w =
    width ??
    (sorted.every((v) => v >= -32768 && v <= 32767)
      ? 2
      : sorted.every((v) => v >= -2147483648 && v <= 2147483647)
        ? 4
        : 8)
  const b = Buffer.alloc(8 + w * sorted.length)
  b.writeUInt32LE(w, 0)
  b.writeUInt32LE(sorted.length, 4)
  sorted.forEach((v, i) => {
    if (w === 2) b.writeInt16LE(v, 8 + 2 * i)
    else if (w === 4) b.writeInt32LE(v, 8 + 4 * i)
    else b.writeBigInt64LE(BigInt(v), 8 + 8 * i)
  })
  return b
}

/** A listpack; numbers use the integer encodings. */
export function listpack(entries: ZlEntry[]): Buffer {
  const parts: Buffer[] = []
  for (const e of entries) {
    let body: Buffer
    if (typeof e === 'number') {
      if (e >= 0 && e <= 127) body = Buffer.from([e])
      else if (e >= -4096 && e <= 4095) {
        const v = e < 0 ? e + 8192 : e
        body = Buffer.from([0xc0 | (v >> 8), v & 0xff])
      } else if (e >= -32768 && e <= 32767) {
        body = Buffer.alloc(3)
        body[0] = 0xf1
        body.writeInt16LE(e, 1)
      } else if (e >= -8388608 && e <= 8388607) {
        body = Buffer.alloc(4)
        body[0] = 0xf2
        body.writeIntLE(e, 1, 3)
      } else if (e >= -2147483648 && e <= 2147483647) {
        body = Buffer.alloc(5)
        body[0] = 0xf3
        body.writeInt32LE(e, 1)
      } else {
        body = Buffer.alloc(9)
        body[0] = 0xf4
        body.writeBigInt64LE(BigInt(e), 1)
      }
    } else {
      const s = buf(e)
      if (s.length < 64) body = Buffer.concat([Buffer.from([0x80 | s.length]), s])
      else if (s.length < 4096)
        body = Buffer.concat([Buffer.from([0xe0 | (s.length >> 8), s.length & 0xff]), s])
      else {
        const h = Buffer.alloc(5)
        h[0] = 0xf0
        h.writeUInt32LE(s.length, 1)
        body = Buffer.concat([h, s])
      }
    }
    parts.push(body, backlen(body.length))
  }
  const total = 6 + parts.reduce((n, p) => n + p.length, 0) + 1
  const header = Buffer.alloc(6)
  header.writeUInt32LE(total, 0)
  header.writeUInt16LE(Math.min(entries.length, 0xffff), 4)
  return Buffer.concat([header, ...parts, Buffer.from([0xff])])
}

function backlen(l: number): Buffer {
  if (l <= 127) return Buffer.from([l])
  if (l < 16383) return Buffer.from([l >> 7, (l & 127) | 128])
  if (l < 2097151) return Buffer.from([l >> 14, ((l >> 7) & 127) | 128, (l & 127) | 128])
  if (l < 268435455)
    return Buffer.from([l >> 21, ((l >> 14) & 127) | 128, ((l >> 7) & 127) | 128, (l & 127) | 128])
  return Buffer.from([
    l >> 28,
    ((l >> 21) & 127) | 128,
    ((l >> 14) & 127) | 128,
    ((l >> 7) & 127) | 128,
    (l & 127) | 128,
  ])
}

export interface CraftEntry {
  type: number
  key: Buffer
  value: Buffer
  expireMs?: number
  expireSeconds?: number
}

/** A whole RDB file: header, AUX fields, dbs with their entries, EOF and CRC-64. */
export function rdbFile(
  version: number,
  dbs: { db: number; entries: CraftEntry[] }[],
  options: { aux?: [string, string][]; magic?: 'REDIS' | 'VALKEY'; checksum?: boolean; tail?: Buffer[] } = {},
): Buffer {
  const magic = options.magic ?? (version >= 80 ? 'VALKEY' : 'REDIS')
  const parts: Buffer[] = [
    Buffer.from(
      magic === 'VALKEY'
        ? `VALKEY${String(version).padStart(3, '0')}`
        : `REDIS${String(version).padStart(4, '0')}`,
      'latin1',
    ),
  ]
  for (const [k, v] of options.aux ?? []) parts.push(Buffer.from([0xfa]), str(k), str(v))
  for (const { db, entries } of dbs) {
    parts.push(
      Buffer.from([0xfe]),
      len(db),
      Buffer.from([0xfb]),
      len(entries.length),
      len(entries.filter((e) => e.expireMs !== undefined || e.expireSeconds !== undefined).length),
    )
    for (const e of entries) {
      if (e.expireMs !== undefined) {
        const b = Buffer.alloc(9)
        b[0] = 0xfc
        b.writeBigInt64LE(BigInt(e.expireMs), 1)
        parts.push(b)
      }
      if (e.expireSeconds !== undefined) {
        const b = Buffer.alloc(5)
        b[0] = 0xfd
        b.writeInt32LE(e.expireSeconds, 1)
        parts.push(b)
      }
      parts.push(Buffer.from([e.type]), str(e.key), e.value)
    }
  }
  parts.push(...(options.tail ?? []))
  parts.push(Buffer.from([0xff]))
  const body = Buffer.concat(parts)
  if (version < 5) return body
  const crc = options.checksum === false ? Buffer.alloc(8) : new Crc64().update(body).toBufferLE()
  return Buffer.concat([body, crc])
}
