import { randomBytes } from 'node:crypto'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RawRespConnection } from '../../../src/wire/connection.js'
import { openRawNode } from '../../../src/wire/node.js'
import { encodeCommands } from '../../../src/wire/encode.js'
import { RespError } from '../../../src/wire/reply-parser.js'
import { startSandbox, type TestSandbox } from '../../helpers/sandbox.js'

/** Values with every awkward byte, and one long enough to arrive in many socket reads. */
const BINARY = Buffer.from([0x0d, 0x0a, 0x00, 0xff, 0x24, 0x2a])
const LONG = Buffer.alloc(3 * 1024 * 1024 + 7, 0x0d)

let sb: TestSandbox
let admin: Redis
let conn: RawRespConnection

beforeAll(async () => {
  sb = await startSandbox({ shards: 0, replicas: 0 })
  admin = await sb.admin()
  await admin.set(Buffer.from([0x6b, 0x00]), BINARY)
  await admin.set('long', LONG)
  await admin.hset('hash', 'f', 'v')
  conn = await openRawNode(sb.spec, { host: '127.0.0.1', port: sb.summary.nodes[0].port })
}, 120_000)

afterAll(async () => {
  conn?.close()
  admin?.disconnect()
  await sb?.down()
})

describe('RawRespConnection.sendRaw against redis-server', () => {
  it('a raw batch between ordinary calls: each reply its exact bytes, the calls around it unaffected', async () => {
    const keys = [Buffer.from([0x6b, 0x00]), Buffer.from('long'), Buffer.from('hash'), Buffer.from('none')]
    const before = conn.call(['PING'])
    const raw = conn.sendRaw(
      encodeCommands([
        ['MGET', ...keys],
        ['PTTL', 'long'],
        ['GET', 'hash'],
        ['STRLEN', 'long'],
      ]),
      4,
    )
    const after = conn.call(['GET', Buffer.from([0x6b, 0x00])])
    expect(await before).toBe('PONG')
    const r = await raw
    expect(await after).toEqual(BINARY)
    const start = new Int32Array(4)
    const end = new Int32Array(4)
    expect(r.bulkItems(0, 4, start, end)).toBe(true)
    expect(r.bytes.subarray(start[0], end[0])).toEqual(BINARY)
    expect(r.bytes.subarray(start[1], end[1]).equals(LONG)).toBe(true)
    expect([start[2], start[3]]).toEqual([-1, -1])
    expect(r.integer(1)).toBe(-1)
    expect(r.integer(2)).toBeUndefined()
    expect(r.reply(2)).toBeInstanceOf(RespError)
    expect((r.reply(2) as RespError).prefix).toBe('WRONGTYPE')
    expect(r.integer(3)).toBe(LONG.length)
  })

  it('many raw batches in flight on one connection come back whole and in order', async () => {
    const batches = Array.from({ length: 20 }, (_, b) =>
      conn.sendRaw(
        encodeCommands([
          ['MGET', 'long', 'none'],
          ['ECHO', `batch ${b}`],
        ]),
        2,
      ),
    )
    const results = await Promise.all(batches)
    results.forEach((r, b) => {
      const start = new Int32Array(2)
      const end = new Int32Array(2)
      expect(r.bulkItems(0, 2, start, end)).toBe(true)
      expect(end[0] - start[0]).toBe(LONG.length)
      expect(r.reply(1)).toEqual(Buffer.from(`batch ${b}`))
    })
  })

  it('bulkStart: DUMP payloads found where they lie (binary, one of many socket reads); a nil, an error, an integer are not payloads', async () => {
    // Random bytes do not compress: a payload of 300 KB, read in many socket reads, CR LF inside.
    await admin.set('noise', randomBytes(300 * 1024))
    const keys = [Buffer.from([0x6b, 0x00]), Buffer.from('noise'), Buffer.from('none'), Buffer.from('hash')]
    const raw = await conn.sendRaw(
      encodeCommands([...keys.map((k) => ['DUMP', k]), ['DUMP'], ['STRLEN', 'long']]),
      6,
    )
    const payloads = await Promise.all(keys.map((k) => admin.dumpBuffer(k)))
    for (const i of [0, 1, 3]) {
      const start = raw.bulkStart(i)
      expect(start).toBeGreaterThan(0)
      expect(raw.bytes.subarray(start, raw.offsets[i + 1] - 2).equals(payloads[i]!)).toBe(true)
    }
    expect(payloads[1]!.length).toBeGreaterThan(300 * 1024)
    expect(raw.bulkStart(2)).toBe(-1)
    expect(raw.reply(2)).toBeNull()
    expect(raw.bulkStart(4)).toBe(-1)
    expect(raw.reply(4)).toBeInstanceOf(RespError)
    expect(raw.bulkStart(5)).toBe(-1)
    expect(raw.integer(5)).toBe(LONG.length)
  })
})
