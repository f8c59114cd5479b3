import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { CommandBatch, keySlot, keySlotOf, parseRedirect } from '../../../src/wire/routed-pipeline.js'
import { frameArgsAt } from '../../../src/data/resp/frame-scanner.js'
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

describe('command batches', () => {
  it('hold every argument of every command byte for byte where frameArgsAt finds it (how a writer reads back a key it left out of its tag)', () => {
    const key = Buffer.from([0x24, 0x31, 0x0d, 0x0a, 0x00, 0x2a, 0xff])
    const batch = new CommandBatch<string>(16)
    batch.command(['SET', Buffer.from('a'), 'b'])
    batch.end('first')
    batch.restore(key, 0, randomBytes(300), { replace: true, absolute: false })
    batch.end('second')
    batch.command(['DEL', Buffer.alloc(0)])
    batch.end('third')
    const args = (i: number) => frameArgsAt(batch.buf, batch.starts[i])
    const kept = Buffer.from(args(1)[1])
    expect(kept).toEqual(key)
    expect(args(1)[0].toString()).toBe('RESTORE')
    expect(args(1)[4].toString()).toBe('REPLACE')
    expect(args(0)[2].toString()).toBe('b')
    expect(args(2)[1]).toEqual(Buffer.alloc(0))
    expect(args(1)).toHaveLength(5)
    batch.buf.fill(0)
    expect(kept).toEqual(key)
  })

  it('make room for a whole RESTORE at once: a payload that fills the batch grows it once', () => {
    const payload = randomBytes(100_000)
    const batch = new CommandBatch<string>(64)
    batch.restore(Buffer.from('k'), 1_900_000_000_000, payload, { replace: true, absolute: true })
    batch.end('big')
    expect(batch.buf.length).toBeLessThan(2 * payload.length)
    const args = frameArgsAt(batch.buf, batch.starts[0])
    expect(args[3]).toEqual(payload)
    expect([4, 5].map((n) => args[n].toString())).toEqual(['REPLACE', 'ABSTTL'])
  })

  it('finish ranges left for later once, before their bytes are read to be sent, after any growth', () => {
    const calls: number[][] = []
    const upper = (buf: Buffer, ranges: readonly number[]) => {
      calls.push([...ranges])
      for (let k = 0; k < ranges.length; k += 2)
        for (let i = ranges[k]; i < ranges[k + 1]; i++) buf[i] = buf[i] - 0x20
    }
    const batch = new CommandBatch<string>(16)
    for (const [key, value] of [
      ['a', 'xy'],
      ['b', 'z'.repeat(100)],
    ]) {
      batch.begin()
      batch.header(0x2a, 3)
      batch.text('SET')
      batch.text(key)
      batch.header(0x24, value.length)
      batch.ensure(value.length + 2)
      const start = batch.used
      batch.used += batch.buf.write(value, start, 'latin1')
      batch.finishLater(upper, start, batch.used)
      batch.raw(Buffer.from('\r\n'))
      batch.end(key)
    }
    expect(calls).toEqual([])
    expect(batch.commandBytes(1).toString()).toBe(
      `*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$100\r\n${'Z'.repeat(100)}\r\n`,
    )
    expect(batch.bytes().toString()).toContain('$2\r\nXY\r\n')
    expect(calls).toHaveLength(1)
    batch.bytes()
    expect(calls).toHaveLength(1)
    expect(() => batch.finishLater(() => {}, 0, 1)).toThrow(/one finisher per batch/)
  })
})
