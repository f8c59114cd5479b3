import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { escapeBytes } from '../../../../src/data/escape.js'
import { RdbReader, type RdbEntry, type RdbRecord } from '../../../../src/data/rdb/reader.js'
import { decodeValue, type DecodedValue } from '../../../../src/data/rdb/value.js'

const dir = fileURLToPath(new URL('../../../fixtures/rdb/', import.meta.url))
const FIXTURES = ['redis7-types', 'redis7-lfu', 'redis7-lru', 'redis7-nocompress-nochecksum', 'legacy-v9']

interface Expected {
  dbs: Record<
    string,
    {
      digest: string
      keys: Record<string, { type: string; encoding: string; expireAt?: number; value: unknown }>
    }
  >
}

async function* chunked(buf: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size)
}

async function readAll(source: AsyncIterable<Buffer>, countElements = true): Promise<RdbRecord[]> {
  const out: RdbRecord[] = []
  for await (const batch of new RdbReader(source, { countElements }).batches()) out.push(...batch)
  return out
}

const e = (b: Buffer) => escapeBytes(b)

function bytesValue(b: Buffer): unknown {
  return b.length > 1024 ? { length: b.length, sha256: createHash('sha256').update(b).digest('hex') } : e(b)
}

/** A decoded value in the shape the generator recorded from the server. */
function asServerSees(d: DecodedValue): { type: string; value: unknown } {
  switch (d.kind) {
    case 'string':
      return { type: 'string', value: bytesValue(d.value) }
    case 'list':
      return { type: 'list', value: d.items.map(e) }
    case 'set':
      return { type: 'set', value: d.members.map(e).sort() }
    case 'zset': {
      const sorted = [...d.entries].sort((a, b) => a.score - b.score || Buffer.compare(a.member, b.member))
      return { type: 'zset', value: sorted.map((x) => [e(x.member), formatScore(x.score)]) }
    }
    case 'hash':
      return {
        type: 'hash',
        value: d.fields
          .map((f) => [e(f.field), e(f.value)])
          .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)),
      }
    case 'stream':
      return {
        type: 'stream',
        value: {
          length: d.length,
          lastId: d.lastId,
          groups: d.groups.map((g) => ({
            name: g.name.toString(),
            consumers: g.consumers.length,
            pending: g.pending.length,
            lastId: g.lastId,
          })),
        },
      }
    case 'module':
      return { type: 'module', value: d.module }
  }
}

/** A score as ZRANGE WITHSCORES prints it (17 significant digits in 7.0; inf/-inf). */
function parseScore(text: string): number {
  return text === 'inf' ? Infinity : text === '-inf' ? -Infinity : Number(text)
}

/** Scores compared as numbers, printed one way. */
function formatScore(n: number): string {
  if (n === Infinity) return 'inf'
  if (n === -Infinity) return '-inf'
  return String(n)
}

describe.each(FIXTURES)('RDB written by redis-server: %s', (name) => {
  const file = readFileSync(`${dir}${name}.rdb`)
  const expected = JSON.parse(readFileSync(`${dir}${name}.json`, 'utf8')) as Expected

  it('reads every key with the value, type and expiry the server reported', async () => {
    const records = await readAll(chunked(file, 64 * 1024))
    const entries = records.filter((r): r is RdbEntry => r.kind === 'entry')
    const expectedKeys = Object.entries(expected.dbs).flatMap(([db, d]) =>
      Object.entries(d.keys).map(([k, v]) => ({ db: Number(db), key: k, ...v })),
    )
    expect(entries.map((x) => `${x.db}:${e(x.key)}`).sort()).toEqual(
      expectedKeys.map((x) => `${x.db}:${x.key}`).sort(),
    )
    for (const want of expectedKeys) {
      const got = entries.find((x) => x.db === want.db && e(x.key) === want.key)!
      const decoded = decodeValue(got.rdbType, got.value, 'oss')
      const wantValue =
        want.type === 'zset'
          ? (want.value as [string, string][]).map(([m, sc]) => [m, formatScore(parseScore(sc))])
          : want.value
      expect({ key: want.key, ...asServerSees(decoded) }).toEqual({
        key: want.key,
        type: want.type,
        value: wantValue,
      })
      expect(got.type.kind).toBe(want.type)
      expect(got.expireAt).toBe(want.expireAt)
      // The element count read while walking equals the decoded one.
      const n =
        decoded.kind === 'string' || decoded.kind === 'module'
          ? 1
          : decoded.kind === 'list'
            ? decoded.items.length
            : decoded.kind === 'set'
              ? decoded.members.length
              : decoded.kind === 'zset'
                ? decoded.entries.length
                : decoded.kind === 'hash'
                  ? decoded.fields.length
                  : decoded.length
      expect(got.elements, want.key).toBe(n)
    }
  })

  it('verifies the CRC-64 (or reports it disabled) and yields the same records whatever the chunking', async () => {
    const whole = await readAll(chunked(file, file.length))
    const eof = whole.at(-1)!
    expect(eof.kind).toBe('eof')
    if (eof.kind === 'eof') {
      expect(eof.checksum).toBe(name === 'redis7-nocompress-nochecksum' ? 'disabled' : 'ok')
      expect(eof.size).toBe(file.length)
    }
    const shape = (rs: RdbRecord[]) =>
      rs.map((r) =>
        r.kind === 'entry'
          ? `${r.db}:${e(r.key)}:${r.rdbType}:${r.value.toString('hex')}:${r.expireAt}:${r.offset}:${r.size}`
          : r.kind,
      )
    for (const size of [1, 7, 300]) expect(shape(await readAll(chunked(file, size)))).toEqual(shape(whole))
  })
})

describe('fixture details', () => {
  it('redis7-types: AUX fields, both dbs with RESIZEDB hints, the function library, LZF and int-encoded keys', async () => {
    const records = await readAll(chunked(readFileSync(`${dir}redis7-types.rdb`), 4096))
    const aux = Object.fromEntries(
      records.flatMap((r) => (r.kind === 'aux' ? [[r.key.toString(), r.value.toString()]] : [])),
    )
    expect(aux['redis-ver']).toBe('7.0.15')
    expect(records.filter((r) => r.kind === 'selectdb').map((r) => (r as { db: number }).db)).toEqual([0, 3])
    expect(records.some((r) => r.kind === 'resizedb' && r.db === 3 && r.keys === 2)).toBe(true)
    const fn = records.find((r) => r.kind === 'function')
    expect(fn && fn.kind === 'function' && fn.code.toString()).toMatch(/^#!lua name=kvtoplib/)
    const header = records[0]
    expect(header.kind === 'header' && header.header).toEqual({ magic: 'REDIS', version: 10, dialect: 'oss' })
    // "12345" and "-7" are stored as integer-encoded keys; they still come out as their bytes.
    const keys = records.flatMap((r) => (r.kind === 'entry' ? [r] : []))
    const intKey = keys.find((k) => k.key.toString() === '12345')!
    expect(intKey.keyIsPlain).toBe(false)
    expect(keys.find((k) => k.key.toString() === '-7')).toBeDefined()
    // The encodings the config forced.
    const enc = (k: string) => keys.find((x) => x.key.toString() === k)!.type.encoding
    expect(enc('list:nodes')).toBe('quicklist-v2')
    expect(enc('set:intset')).toBe('intset')
    expect(enc('zset:big')).toBe('skiplist')
    expect(enc('zset:small')).toBe('listpack')
    expect(enc('hash:small')).toBe('listpack')
    expect(enc('hash:big')).toBe('hashtable')
    expect(enc('stream')).toBe('listpacks-v2')
  })

  it('redis7-lfu carries FREQ and redis7-lru IDLE for their keys', async () => {
    const lfu = (await readAll(chunked(readFileSync(`${dir}redis7-lfu.rdb`), 50))).filter(
      (r): r is RdbEntry => r.kind === 'entry',
    )
    expect(lfu.every((k) => typeof k.freq === 'number')).toBe(true)
    expect(lfu.find((k) => k.key.toString() === 'a')!.freq).toBeGreaterThan(
      lfu.find((k) => k.key.toString() === 'b')!.freq!,
    )
    const lru = (await readAll(chunked(readFileSync(`${dir}redis7-lru.rdb`), 50))).filter(
      (r): r is RdbEntry => r.kind === 'entry',
    )
    expect(lru.every((k) => typeof k.idle === 'number' && k.freq === undefined)).toBe(true)
  })

  it('legacy-v9: zipmap, ziplists, intsets, quicklist v1, string-scored zsets and seconds expiries', async () => {
    const keys = (await readAll(chunked(readFileSync(`${dir}legacy-v9.rdb`), 100))).filter(
      (r): r is RdbEntry => r.kind === 'entry',
    )
    const byKey = new Map(keys.map((k) => [k.key.toString('latin1'), k]))
    expect(byKey.get('legacy:zipmap')!.type).toEqual({ kind: 'hash', encoding: 'zipmap' })
    expect(byKey.get('legacy:quicklist')!.type).toEqual({ kind: 'list', encoding: 'quicklist' })
    expect(byKey.get('legacy:expire-s')!.expireAt).toBe(2000000000 * 1000)
    const zl = decodeValue(10, byKey.get('legacy:ziplist-list')!.value)
    expect(zl.kind === 'list' && zl.items.slice(0, 8).map(String)).toEqual([
      'first',
      '0',
      '12',
      '-100',
      '30000',
      '8000000',
      '-2000000000',
      '5000000000',
    ])
  })
})
