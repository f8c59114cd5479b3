import { describe, expect, it } from 'vitest'
import { RespReplyParser, type Reply } from '../../../src/wire/reply-parser.js'
import { RawReplies } from '../../../src/wire/raw-replies.js'

/** Replies of every kind, binary bulk strings with CR LF and NUL among them, aggregates nested. */
const REPLIES: (string | Buffer)[] = [
  '+OK\r\n',
  ':-42\r\n',
  Buffer.concat([
    Buffer.from('$6\r\n'),
    Buffer.from([0x0d, 0x0a, 0x00, 0xff, 0x0d, 0x0a]),
    Buffer.from('\r\n'),
  ]),
  '$0\r\n\r\n',
  '$-1\r\n',
  '-WRONGTYPE Operation against a key holding the wrong kind of value\r\n',
  '*3\r\n$2\r\n\r\n\r\n$-1\r\n*2\r\n:1\r\n-ERR inner\r\n',
  '*0\r\n',
  '*-1\r\n',
  '%1\r\n+k\r\n*1\r\n$1\r\n\x00\r\n',
  '~2\r\n,1.5\r\n#t\r\n',
  '_\r\n',
  `*2\r\n$${70_000}\r\n${'x'.repeat(70_000)}\r\n:7\r\n`,
  '(12345678901234567890\r\n',
  '-ERR last\r\n',
]
const bytesOf = (r: string | Buffer) => (Buffer.isBuffer(r) ? r : Buffer.from(r, 'latin1'))
const stream = Buffer.concat(REPLIES.map(bytesOf))

/** The stream fed to a RawReplies in pieces cut at `cuts`, as a connection feeds it. */
function readRaw(cuts: number[]): RawReplies {
  const raw = new RawReplies(REPLIES.length, 16)
  let at = 0
  let end = -1
  for (const cut of [...cuts, stream.length]) {
    expect(end, `the batch ended before byte ${at}`).toBe(-1)
    // A fresh buffer per piece, as a socket gives them.
    if (cut > at) end = raw.feed(Buffer.from(stream.subarray(at, cut)), 0, cut - at)
    at = cut
  }
  expect(end).toBeGreaterThanOrEqual(0)
  return raw
}

describe('RawReplies.feed: replies read raw, byte for byte', () => {
  const parsed: Reply[] = (() => {
    const parser = new RespReplyParser()
    parser.push(stream)
    return REPLIES.map(() => parser.next() as Reply)
  })()

  /** Every reply's bytes and what is made of them, checked (Buffer#equals: the long reply is 70 KB). */
  const check = (raw: RawReplies, label: string) => {
    const wrong = REPLIES.flatMap((r, i) => {
      const bytes = raw.bytes.subarray(raw.offsets[i], raw.offsets[i + 1])
      if (!bytes.equals(bytesOf(r))) return [`reply ${i}: bytes`]
      const made = raw.reply(i)
      const same = i === 12 ? JSON.stringify(made) === JSON.stringify(parsed[i]) : undefined
      if (same === false) return [`reply ${i}: made`]
      if (same === undefined) expect(made, `${label}: reply ${i} made`).toEqual(parsed[i])
      return []
    })
    expect(wrong, label).toEqual([])
  }

  it('each reply is its exact bytes, and made from them equals what next() makes', () => {
    check(readRaw([]), 'whole')
  })

  it('the same with the stream cut at every byte (a long reply read as it comes, never joined again)', () => {
    for (let cut = 1; cut < stream.length; cut += cut > 400 && cut < stream.length - 200 ? 4999 : 1)
      check(readRaw([cut]), `cut at ${cut}`)
  })

  it('and fed a byte at a time', () => {
    const head = REPLIES.slice(0, 12).reduce((n, r) => n + bytesOf(r).length, 0)
    check(readRaw(Array.from({ length: head }, (_, i) => i + 1)), 'bytewise')
  })

  it("bytes after the last reply are not the batch's: feed says where in the piece it ended", () => {
    const raw = new RawReplies(2)
    const piece = Buffer.from('xx+OK\r\n:1\r\n$3\r\nnext')
    expect(raw.feed(piece, 2, piece.length)).toBe(piece.indexOf('$3'))
    expect(raw.bytes.subarray(0, raw.offsets[2]).toString()).toBe('+OK\r\n:1\r\n')
  })

  it('a reply type RESP does not have is a protocol error', () => {
    const raw = new RawReplies(1)
    const bytes = Buffer.from('!oops\r\n')
    expect(() => raw.feed(bytes, 0, bytes.length)).toThrow('protocol error: unexpected reply type byte 0x21')
  })
})

describe('RawReplies: values read where they lie', () => {
  const raw = readRaw([])

  it('integer(): the number of an integer reply, undefined for any other', () => {
    expect(raw.integer(1)).toBe(-42)
    expect(raw.integer(0)).toBeUndefined()
    expect(raw.integer(5)).toBeUndefined()
    // Too many digits for a double's exact integers: left to the full parser.
    expect(raw.integer(13)).toBeUndefined()
  })

  it('bulkItems(): the ranges of an array of bulk strings; -1 for a nil or another item type', () => {
    const start = new Int32Array(3)
    const end = new Int32Array(3)
    expect(raw.bulkItems(6, 3, start, end)).toBe(true)
    expect(raw.bytes.subarray(start[0], end[0])).toEqual(Buffer.from('\r\n'))
    expect([start[1], start[2]]).toEqual([-1, -1])
    const two = new Int32Array(2)
    expect(raw.bulkItems(12, 2, two, new Int32Array(2))).toBe(true)
    expect(two[1]).toBe(-1)
  })

  it('bulkItems() of an error reply, a nil or an array of another length: false, every start -1', () => {
    for (const [i, n] of [
      [5, 1],
      [8, 1],
      [6, 2],
      [7, 1],
    ]) {
      const start = new Int32Array(n).fill(7)
      expect(raw.bulkItems(i, n, start, new Int32Array(n)), `reply ${i}`).toBe(false)
      expect([...start]).toEqual(new Array(n).fill(-1))
    }
  })
})

describe('RawReplies.page: a SCAN reply read raw', () => {
  const key = Buffer.from([0x6b, 0x0d, 0x0a, 0x00, 0xff])
  const scan = Buffer.concat([
    Buffer.from('*2\r\n$5\r\n17408\r\n*3\r\n$5\r\n', 'latin1'),
    key,
    Buffer.from('\r\n$0\r\n\r\n$2\r\n$*\r\n', 'latin1'),
  ])
  const read = (bytes: Buffer) => {
    const raw = new RawReplies(1)
    expect(raw.feed(bytes, 0, bytes.length)).toBe(bytes.length)
    return raw
  }

  it('the cursor, the keys as views, and their bytes as the arguments of a command', () => {
    const raw = read(scan)
    const page = raw.page(0)!
    expect(page).toMatchObject({ cursor: '17408', count: 3 })
    expect(raw.bulkViews(page.itemsStart, page.count)).toEqual([key, Buffer.alloc(0), Buffer.from('$*')])
    expect(raw.bytes.subarray(page.itemsStart, page.itemsEnd)).toEqual(scan.subarray(scan.indexOf('$5\r\nk')))
  })

  it('an error reply or another shape is no page', () => {
    expect(read(Buffer.from('-NOPERM scan\r\n')).page(0)).toBeUndefined()
    expect(read(Buffer.from('*1\r\n$1\r\n0\r\n')).page(0)).toBeUndefined()
  })
})
