import { describe, expect, it } from 'vitest'
import {
  APPLIED,
  INCOMPLETE,
  RespError,
  RespReplyParser,
  type Reply,
} from '../../../src/wire/reply-parser.js'

/** Replies of every kind a bulk write meets, binary bulk strings with CR LF and NUL among them. */
const REPLIES: [string | Buffer, 'applied' | 'notable'][] = [
  ['+OK\r\n', 'applied'],
  [':1\r\n', 'applied'],
  [':-42\r\n', 'applied'],
  ['+QUEUED\r\n', 'applied'],
  [
    Buffer.concat([
      Buffer.from('$6\r\n'),
      Buffer.from([0x0d, 0x0a, 0x00, 0xff, 0x0d, 0x0a]),
      Buffer.from('\r\n'),
    ]),
    'applied',
  ],
  ['$0\r\n\r\n', 'applied'],
  ['$-1\r\n', 'notable'],
  ['-WRONGTYPE Operation against a key holding the wrong kind of value\r\n', 'notable'],
  ['*2\r\n:1\r\n-ERR inner\r\n', 'notable'],
  ['*-1\r\n', 'notable'],
  ['-MOVED 3999 127.0.0.1:6381\r\n', 'notable'],
  [',1.5\r\n', 'applied'],
  ['_\r\n', 'notable'],
  [`$${70_000}\r\n${'x'.repeat(70_000)}\r\n`, 'applied'],
  ['-ERR last\r\n', 'notable'],
]
const stream = Buffer.concat(REPLIES.map(([r]) => (Buffer.isBuffer(r) ? r : Buffer.from(r))))

/**
 * Everything nextCounted gives for the stream pushed in the given pieces; with `skipLimit`,
 * skipApplied(skipLimit) steps over successes before each nextCounted (each one an APPLIED here).
 */
function counted(cuts: number[], skipLimit?: number): (Reply | typeof APPLIED)[] {
  const parser = new RespReplyParser()
  const out: (Reply | typeof APPLIED)[] = []
  let at = 0
  for (const cut of [...cuts, stream.length]) {
    if (cut > at) parser.push(Buffer.from(stream.subarray(at, cut)))
    at = cut
    for (;;) {
      if (skipLimit !== undefined) {
        const stepped = parser.skipApplied(skipLimit)
        expect(stepped).toBeLessThanOrEqual(skipLimit)
        for (let i = 0; i < stepped; i++) out.push(APPLIED)
      }
      const r = parser.nextCounted()
      if (r === INCOMPLETE) break
      out.push(r)
    }
  }
  expect(parser.buffered).toBe(0)
  return out
}

describe('RespReplyParser.nextCounted: replies counted, only the notable ones made', () => {
  const full = (() => {
    const parser = new RespReplyParser()
    parser.push(stream)
    return REPLIES.map(() => parser.next())
  })()
  const expected = full.map((r, i) => (REPLIES[i][1] === 'applied' ? APPLIED : r))

  it('gives APPLIED for successes and the parsed reply (as next() gives it) for errors, arrays and nulls', () => {
    const got = counted([])
    expect(got).toEqual(expected)
    expect(got[7]).toBeInstanceOf(RespError)
    expect((got[8] as Reply[])[1]).toBeInstanceOf(RespError)
    expect(got[6]).toBeNull()
  })

  it('the same with the replies cut at every byte', () => {
    for (let cut = 1; cut < stream.length; cut += cut > 300 && cut < stream.length - 300 ? 997 : 1)
      expect(counted([cut]), `cut at ${cut}`).toEqual(expected)
  })

  it('and fed a byte at a time', () => {
    const head = REPLIES.slice(0, 13).reduce((n, [r]) => n + Buffer.byteLength(r as string | Buffer), 0)
    expect(counted(Array.from({ length: head }, (_, i) => i + 1))).toEqual(expected)
  })
})

describe('RespReplyParser.skipApplied: successes in a row stepped over at once', () => {
  const expected = counted([])

  it('gives what nextCounted gives, reply for reply, whatever the limit and wherever the bytes are cut', () => {
    for (const limit of [0, 1, 2, 3, 100]) {
      expect(counted([], limit), `limit ${limit}`).toEqual(expected)
      for (let cut = 1; cut < stream.length; cut += cut > 300 && cut < stream.length - 300 ? 997 : 1)
        expect(counted([cut], limit), `limit ${limit}, cut at ${cut}`).toEqual(expected)
    }
  })

  it('stops before a reply that is not a success: an error, an array, a null', () => {
    const parser = new RespReplyParser()
    parser.push(Buffer.from('+OK\r\n:1\r\n$1\r\nx\r\n-ERR no\r\n+OK\r\n$-1\r\n'))
    expect(parser.skipApplied(10)).toBe(3)
    expect(parser.nextCounted()).toBeInstanceOf(RespError)
    expect(parser.skipApplied(10)).toBe(1)
    expect(parser.skipApplied(10)).toBe(0)
    expect(parser.nextCounted()).toBeNull()
  })
})
