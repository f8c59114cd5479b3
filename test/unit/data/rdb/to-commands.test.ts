import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { RdbReader, RdbEntry } from '../../../../src/data/rdb/reader.js'
import { RDB_TYPE } from '../../../../src/data/rdb/constants.js'
import { escapeBytes } from '../../../../src/data/escape.js'
import { streamEntries } from '../../../../src/data/rdb/stream-entries.js'
import {
  RebuildError,
  formatScore,
  rebuildCommands,
  recordToCommands,
} from '../../../../src/data/rdb/to-commands.js'
import { len, listpack, str } from '../../../helpers/rdb-craft.js'

const FIXTURE = fileURLToPath(new URL('../../../fixtures/rdb/redis7-types.rdb', import.meta.url))
const EXPECTED = JSON.parse(
  readFileSync(fileURLToPath(new URL('../../../fixtures/rdb/redis7-types.json', import.meta.url)), 'utf8'),
) as { dbs: Record<string, { keys: Record<string, { type: string; expireAt?: number; value: unknown }> }> }

const text = (cmd: Buffer[]) => cmd.map((a) => escapeBytes(a))
const K = Buffer.from('k')

async function fixtureEntries(): Promise<RdbEntry[]> {
  const out: RdbEntry[] = []
  for await (const rec of RdbReader.fromFile(FIXTURE).records()) if (rec instanceof RdbEntry) out.push(rec)
  return out
}

/** Apply rebuilt commands to a tiny in-memory model: what a client would read back. */
function apply(commands: Buffer[][]): Map<string, { type: string; value: unknown; expireAt?: number }> {
  const db = new Map<string, { type: string; value: unknown; expireAt?: number }>()
  for (const [name, key, ...args] of commands) {
    const k = escapeBytes(key)
    const cmd = name.toString()
    const cur = db.get(k)
    if (cmd === 'SET') db.set(k, { type: 'string', value: Buffer.from(args[0]) })
    else if (cmd === 'APPEND') cur!.value = Buffer.concat([cur!.value as Buffer, args[0]])
    else if (cmd === 'RPUSH') {
      if (!cur) db.set(k, { type: 'list', value: [...args] })
      else (cur.value as Buffer[]).push(...args)
    } else if (cmd === 'SADD') {
      if (!cur) db.set(k, { type: 'set', value: [...args] })
      else (cur.value as Buffer[]).push(...args)
    } else if (cmd === 'HSET') {
      const pairs: [Buffer, Buffer][] = []
      for (let i = 0; i < args.length; i += 2) pairs.push([args[i], args[i + 1]])
      if (!cur) db.set(k, { type: 'hash', value: pairs })
      else (cur.value as [Buffer, Buffer][]).push(...pairs)
    } else if (cmd === 'ZADD') {
      const pairs: [Buffer, number][] = []
      for (let i = 0; i < args.length; i += 2)
        pairs.push([args[i + 1], Number(args[i].toString().replace('inf', 'Infinity'))])
      if (!cur) db.set(k, { type: 'zset', value: pairs })
      else (cur.value as [Buffer, number][]).push(...pairs)
    } else if (cmd === 'PEXPIREAT') cur!.expireAt = Number(args[0].toString())
    else if (cmd.startsWith('X')) {
      // Streams: their commands are checked one by one below.
      if (cmd === 'XADD' && !cur) db.set(k, { type: 'stream', value: undefined })
    } else if (cmd === 'DEL') db.delete(k)
    else throw new Error(`unexpected ${cmd}`)
  }
  return db
}

describe('rebuilding RDB values with commands', () => {
  it('recreates every non-stream key of the Redis 7.0 fixture as the server read it back', async () => {
    const keys = EXPECTED.dbs['0'].keys
    let checked = 0
    for (const e of await fixtureEntries()) {
      if (e.db !== 0 || e.type.kind === 'module') continue
      const want = keys[escapeBytes(e.key)]
      expect(want, escapeBytes(e.key)).toBeDefined()
      const model = apply(recordToCommands(e, 'oss', { maxElements: 7 }))
      const got = model.get(escapeBytes(e.key))!
      expect(got.type).toBe(want.type)
      expect(got.expireAt).toBe(want.expireAt)
      if (want.type === 'string') {
        const v = got.value as Buffer
        if (typeof want.value === 'string') expect(escapeBytes(v)).toBe(want.value)
        else expect(v.length).toBe((want.value as { length: number }).length)
      } else if (want.type === 'list') {
        expect((got.value as Buffer[]).map((b) => escapeBytes(b))).toEqual(want.value)
      } else if (want.type === 'set') {
        expect((got.value as Buffer[]).map((b) => escapeBytes(b)).sort()).toEqual(want.value)
      } else if (want.type === 'hash') {
        const pairs = (got.value as [Buffer, Buffer][]).map(([f, v]) => [escapeBytes(f), escapeBytes(v)])
        expect(pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))).toEqual(want.value)
      } else if (want.type === 'zset') {
        // The server reads them back ordered by score (a skiplist is stored the other way round).
        const pairs = (got.value as [Buffer, number][])
          .slice()
          .sort((a, b) => a[1] - b[1] || Buffer.compare(a[0], b[0]))
          .map(([m, s]) => [escapeBytes(m), s])
        const expected = (want.value as [string, string][]).map(([m, s]) => [
          m,
          Number(s.replace('inf', 'Infinity')),
        ])
        expect(pairs).toEqual(expected)
      } else if (want.type === 'stream') {
        // checked below
      }
      checked++
    }
    expect(checked).toBeGreaterThan(20)
  })

  it("reads a stream's live entries (deleted ones left out) and rebuilds its groups, consumers and pending entries", async () => {
    const e = (await fixtureEntries()).find((r) => r.key.toString() === 'stream')!
    expect(streamEntries(e.rdbType, e.value).map((x) => x.id)).toEqual(['1-1', '1-2', '1-4', '1-5', '1-6'])
    expect(streamEntries(e.rdbType, e.value)[2].fields.map(String)).toEqual(['n', '4', 'payload', 'p4'])
    const cmds = recordToCommands(e).map((c) => text(c).join(' '))
    expect(cmds.slice(0, 5)).toEqual([
      'XADD stream 1-1 n 1 payload p1',
      'XADD stream 1-2 n 2 payload p2',
      'XADD stream 1-4 n 4 payload p4',
      'XADD stream 1-5 n 5 payload p5',
      'XADD stream 1-6 n 6 payload p6',
    ])
    expect(cmds[5]).toMatch(/^XGROUP CREATE stream g1 1-4( ENTRIESREAD \d+)?$/)
    expect(cmds[cmds.length - 1]).toBe('XSETID stream 1-6 ENTRIESADDED 6 MAXDELETEDID 1-3')
    expect(cmds).toContain('XGROUP CREATECONSUMER stream g1 alice')
    expect(cmds).toContain('XGROUP CREATECONSUMER stream g1 bob')
    expect(cmds).toContain('XGROUP CREATECONSUMER stream g2 carol')
    const claims = cmds.filter((c) => c.startsWith('XCLAIM'))
    expect(claims).toHaveLength(2)
    expect(claims[0]).toMatch(/^XCLAIM stream g1 alice 0 1-2 TIME \d+ RETRYCOUNT 1 FORCE JUSTID$/)
    expect(claims[1]).toMatch(/^XCLAIM stream g1 bob 0 1-4 TIME \d+ RETRYCOUNT 1 FORCE JUSTID$/)
    // Redis 6.2 targets: no 7.0 counters.
    const legacy = recordToCommands(e, 'oss', { legacyStreams: true }).map((c) => text(c).join(' '))
    expect(legacy).toContain('XSETID stream 1-6')
    expect(legacy.some((c) => c.includes('ENTRIESREAD'))).toBe(false)
  })

  it('decodes a hand-made stream node with SAMEFIELDS, own-field and deleted entries', () => {
    const master = Buffer.alloc(16)
    master.writeBigUInt64BE(1000n, 0)
    master.writeBigUInt64BE(0n, 8)
    const lp = listpack([
      2, // valid entries
      1, // deleted entries
      1, // master fields
      'f',
      0,
      // entry 1000-0: same fields as the master
      2,
      0,
      0,
      'v0',
      4,
      // entry 1000-1: deleted
      3,
      0,
      1,
      'gone',
      4,
      // entry 1005-7: its own fields
      0,
      5,
      7,
      2,
      'a',
      'x',
      'b',
      '',
      7,
    ])
    const value = Buffer.concat([len(1), str(master), str(lp)])
    const entries = streamEntries(
      RDB_TYPE.STREAM_LISTPACKS,
      Buffer.concat([value, len(0), len(0), len(0), len(0)]),
    )
    expect(entries.map((e) => [e.id, e.fields.map(String)])).toEqual([
      ['1000-0', ['f', 'v0']],
      ['1005-7', ['a', 'x', 'b', '']],
    ])
  })

  it('chunks by elements and by bytes, never splitting a pair', () => {
    const items = Array.from({ length: 2500 }, (_, i) => Buffer.from(`m${i}`))
    const sadd = rebuildCommands(K, { kind: 'set', members: items })
    expect(sadd.map((c) => c.length - 2)).toEqual([1000, 1000, 500])
    const big = Buffer.alloc(400 * 1024, 1)
    const list = rebuildCommands(K, { kind: 'list', items: [big, big, big, big, Buffer.from('x')] })
    // About 1 MiB per command: two 400 KiB items, then two more and the small one.
    expect(list.map((c) => c.length - 2)).toEqual([2, 3])
    for (const c of list) expect(c.reduce((n, a) => n + a.length, 0)).toBeLessThanOrEqual(1024 * 1024 + 16)
    const hash = rebuildCommands(K, {
      kind: 'hash',
      fields: Array.from({ length: 1001 }, (_, i) => ({
        field: Buffer.from(`f${i}`),
        value: Buffer.from('v'),
      })),
    })
    expect(hash.map((c) => (c.length - 2) / 2)).toEqual([1000, 1])
    // A string past the chunk size: SET, then APPEND.
    const s = rebuildCommands(K, { kind: 'string', value: Buffer.alloc(10, 7) }, undefined, { maxBytes: 4 })
    expect(s.map((c) => [c[0].toString(), c[2].length])).toEqual([
      ['SET', 4],
      ['APPEND', 4],
      ['APPEND', 2],
    ])
  })

  it('writes scores as the shortest text that reads back as the same double', () => {
    for (const v of [1.1, 1e300, -1e-300, 0.1 + 0.2, 1 / 3, 2 ** 53 + 2, 5e-324, 1.7976931348623157e308]) {
      expect(Number(formatScore(v))).toBe(v)
      expect(formatScore(v).length).toBeLessThanOrEqual(String(v).length)
    }
    expect(formatScore(1.1)).toBe('1.1')
    expect(formatScore(1e300)).toBe('1e+300')
    expect(formatScore(Infinity)).toBe('inf')
    expect(formatScore(-Infinity)).toBe('-inf')
    expect(formatScore(-0)).toBe('-0')
    const z = rebuildCommands(K, {
      kind: 'zset',
      entries: [
        { member: Buffer.from('a'), score: 1.1 },
        { member: Buffer.from('b'), score: 1e300 },
      ],
    })
    expect(z.map(text)).toEqual([['ZADD', 'k', '1.1', 'a', '1e+300', 'b']])
  })

  it('replace starts with DEL; an expiring key ends with PEXPIREAT; field TTLs use HPEXPIREAT', () => {
    const cmds = rebuildCommands(
      K,
      {
        kind: 'hash',
        fields: [
          { field: Buffer.from('a'), value: Buffer.from('1'), expireAt: 5000 },
          { field: Buffer.from('b'), value: Buffer.from('2') },
          { field: Buffer.from('c'), value: Buffer.from('3'), expireAt: 5000 },
        ],
      },
      1234,
      { replace: true },
    )
    expect(cmds.map((c) => text(c).join(' '))).toEqual([
      'DEL k',
      'HSET k a 1 b 2 c 3',
      'HPEXPIREAT k 5000 FIELDS 2 a c',
      'PEXPIREAT k 1234',
    ])
  })

  it('an empty stream is made empty (a scratch group made and dropped), then given its ids back', () => {
    const cmds = rebuildCommands(K, {
      kind: 'stream',
      length: 0,
      lastId: '7-0',
      firstId: '0-0',
      maxDeletedId: '7-0',
      entriesAdded: 3,
      groups: [{ name: Buffer.from('g'), lastId: '7-0', entriesRead: 3, pending: [], consumers: [] }],
      entries: [],
    })
    expect(cmds.map((c) => text(c).join(' '))).toEqual([
      'XGROUP CREATE k __kvtop_mkstream__ 0 MKSTREAM',
      'XGROUP DESTROY k __kvtop_mkstream__',
      'XGROUP CREATE k g 7-0 ENTRIESREAD 3',
      'XSETID k 7-0 ENTRIESADDED 3 MAXDELETEDID 7-0',
    ])
  })

  it('pending entries whose entry is gone are claimed through placeholders, trimmed or deleted after', () => {
    const pending = (id: string) => ({ id, deliveryTime: 1000, deliveryCount: 2 })
    const cmds = rebuildCommands(K, {
      kind: 'stream',
      length: 2,
      lastId: '9-0',
      firstId: '3-0',
      maxDeletedId: '6-0',
      entriesAdded: 9,
      groups: [
        {
          name: Buffer.from('g'),
          lastId: '9-0',
          entriesRead: 9,
          pending: [pending('1-0'), pending('3-0'), pending('6-0')],
          consumers: [{ name: Buffer.from('c'), seenTime: 1, pending: ['1-0', '3-0', '6-0'] }],
        },
      ],
      entries: [
        { id: '3-0', fields: [Buffer.from('a'), Buffer.from('1')] },
        { id: '8-0', fields: [Buffer.from('a'), Buffer.from('2')] },
      ],
    })
    expect(cmds.map((c) => text(c).join(' '))).toEqual([
      'XADD k 1-0 kvtop pending entry placeholder',
      'XADD k 3-0 a 1',
      'XADD k 6-0 kvtop pending entry placeholder',
      'XADD k 8-0 a 2',
      'XGROUP CREATE k g 9-0 ENTRIESREAD 9',
      'XGROUP CREATECONSUMER k g c',
      'XCLAIM k g c 0 1-0 3-0 6-0 TIME 1000 RETRYCOUNT 2 FORCE JUSTID',
      'XTRIM k MINID 3-0',
      'XDEL k 6-0',
      'XSETID k 9-0 ENTRIESADDED 9 MAXDELETEDID 6-0',
    ])
  })

  it('refuses module values', () => {
    expect(() => rebuildCommands(K, { kind: 'module', module: 'ReJSON-RL' })).toThrow(RebuildError)
  })
})
