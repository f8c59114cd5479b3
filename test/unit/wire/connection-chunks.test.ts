import { describe, expect, it } from 'vitest'
import type { RawReplies } from '../../../src/wire/raw-replies.js'
import { RespError, type Reply } from '../../../src/wire/reply-parser.js'
import { scriptedConnection } from './scripted-socket.js'

const BINARY = Buffer.from([0x0d, 0x0a, 0x00, 0xff, 0x24, 0x2a, 0x0d])
const bulk = (b: Buffer | string) => {
  const v = Buffer.isBuffer(b) ? b : Buffer.from(b, 'latin1')
  return Buffer.concat([Buffer.from(`$${v.length}\r\n`), v, Buffer.from('\r\n')])
}
const text = (s: string) => Buffer.from(s, 'latin1')

/**
 * What each waiter gets, in the order they were sent: ordinary calls and batches (replies made),
 * raw batches (their replies' bytes, which must come back exactly), a counting batch.
 */
function streamOf(long: Buffer) {
  const raws = [
    [bulk(BINARY), text('$-1\r\n'), text('-ERR not here\r\n'), text(':-12\r\n')],
    [bulk(long), text('*2\r\n$1\r\n\r\r\n$-1\r\n'), text('%1\r\n+k\r\n*1\r\n$1\r\n\x00\r\n')],
    [Buffer.concat([text('*2\r\n$1\r\n0\r\n*3\r\n'), bulk(BINARY), bulk(''), bulk('k')])],
  ]
  const parts = [
    text('+PONG\r\n'),
    ...raws[0],
    text(':5\r\n'),
    Buffer.concat([text('*2\r\n'), bulk(BINARY), text('$-1\r\n')]),
    ...raws[1],
    text('+OK\r\n-ERR x\r\n:1\r\n'),
    ...raws[2],
    bulk('end'),
  ]
  return { raws, stream: Buffer.concat(parts) }
}

/** Send every kind of request on one connection, deliver the replies in `pieces`, and check each. */
async function readBack(long: Buffer, cuts: number[]): Promise<void> {
  const { raws, stream } = streamOf(long)
  const { socket, conn } = scriptedConnection()
  const none = Buffer.alloc(0)
  const ping = conn.call(['PING'])
  const raw0 = conn.sendRaw(none, raws[0].length, 16)
  const batch = conn.sendEncoded(none, 2)
  const raw1 = conn.sendRaw(none, raws[1].length, 16)
  const counted = conn.sendCounted(none, 3)
  const raw2 = conn.sendRaw(none, 1)
  const last = conn.call(['GET', 'k'])
  let at = 0
  for (const cut of [...cuts, stream.length]) {
    // A fresh buffer per read, as a socket gives them.
    if (cut > at) socket.emit('data', Buffer.from(stream.subarray(at, cut)))
    at = cut
  }
  expect(await ping).toBe('PONG')
  const rawBytes = (r: RawReplies, i: number) => r.bytes.subarray(r.offsets[i], r.offsets[i + 1])
  for (const [r, expected] of [
    [await raw0, raws[0]],
    [await raw1, raws[1]],
    [await raw2, raws[2]],
  ] as const) {
    expected.forEach((bytes, i) => {
      if (!rawBytes(r, i).equals(bytes)) expect.fail(`cuts ${cuts}: raw reply ${i} is not its bytes`)
    })
  }
  const made: Reply[] = await batch
  expect(made).toEqual([5, [BINARY, null]])
  const c = await counted
  expect(c.indexes).toEqual([1])
  expect((c.replies[0] as RespError).message).toBe('ERR x')
  expect(await last).toEqual(Buffer.from('end'))
  expect(conn.pendingReplies).toBe(0)
  conn.close()
}

describe('RawRespConnection: raw batches among other replies, however the reads cut them', () => {
  const long = Buffer.alloc(300, 0x0d)

  it('in one read', async () => {
    await readBack(long, [])
  })

  it('cut at every byte offset', async () => {
    const { stream } = streamOf(long)
    for (let cut = 1; cut < stream.length; cut++) await readBack(long, [cut])
  })

  it('cut twice, at every pair of offsets around each raw batch boundary', async () => {
    const { stream } = streamOf(long)
    for (let a = 1; a < stream.length; a += 7)
      for (let b = a + 1; b < Math.min(stream.length, a + 40); b++) await readBack(long, [a, b])
  })

  it('a byte at a time', async () => {
    const { stream } = streamOf(long)
    await readBack(
      long,
      Array.from({ length: stream.length - 1 }, (_, i) => i + 1),
    )
  })

  it('a value of megabytes in reads of 64 KB (a raw batch reads it as it comes)', async () => {
    const big = Buffer.alloc(3 * 1024 * 1024 + 5, 0x0a)
    const { stream } = streamOf(big)
    const cuts = Array.from({ length: Math.floor(stream.length / 65536) }, (_, i) => (i + 1) * 65536 - 3)
    await readBack(big, cuts)
  })

  it('a released raw batch lends its buffer to the next one, which reads its own bytes', async () => {
    const { socket, conn } = scriptedConnection()
    const first = conn.sendRaw(Buffer.alloc(0), 1, 64)
    socket.emit('data', bulk('first'))
    const one = await first
    const buffer = one.bytes.buffer
    one.release()
    const second = conn.sendRaw(Buffer.alloc(0), 1, 64)
    socket.emit('data', bulk('second'))
    const two = await second
    expect(two.bytes.buffer).toBe(buffer)
    expect(two.bytes.subarray(two.offsets[0], two.offsets[1])).toEqual(bulk('second'))
    conn.close()
  })
})
