import { describe, expect, it } from 'vitest'
import { RespReplyParser } from '../../../src/wire/reply-parser.js'
import { scriptedConnection } from './scripted-socket.js'

const PAYLOAD = Buffer.from([0x00, 0x0d, 0x0a, 0xff, 0xfe, 0x24, 0x2a, 0x0d, 0x0a, 0x80])
const bulk = (v: Buffer) => Buffer.concat([Buffer.from(`$${v.length}\r\n`), v, Buffer.from('\r\n')])
const LONG = Buffer.alloc(70_000, 0xc3)

describe('bulk replies as views of the bytes received', () => {
  it('share the read they came in, byte for byte (binary, CRLF and NUL inside)', () => {
    const chunk = Buffer.concat([bulk(PAYLOAD), bulk(Buffer.alloc(0)), Buffer.from('$-1\r\n')])
    const parser = new RespReplyParser()
    parser.push(chunk)
    const value = parser.next(true) as Buffer
    expect(value).toEqual(PAYLOAD)
    expect(value.buffer).toBe(chunk.buffer)
    expect(parser.next(true)).toEqual(Buffer.alloc(0))
    expect(parser.next(true)).toBeNull()
  })

  it('without views, a reply is a copy: the read can go (or change) without touching it', () => {
    const chunk = bulk(PAYLOAD)
    const parser = new RespReplyParser()
    parser.push(chunk)
    const value = parser.next() as Buffer
    chunk.fill(0)
    expect(value).toEqual(PAYLOAD)
  })

  it('a batch read with views gets each value whole, however the reads cut the stream', async () => {
    const values = [PAYLOAD, LONG, Buffer.from('v')]
    const stream = Buffer.concat([...values.map(bulk), Buffer.from('*2\r\n'), bulk(PAYLOAD), bulk(LONG)])
    for (const step of [1, 7, 4096, 65536, stream.length]) {
      const { socket, conn } = scriptedConnection()
      const batch = conn.sendEncoded(Buffer.alloc(0), 4, { views: true })
      // A fresh buffer per read, as a socket gives them.
      for (let at = 0; at < stream.length; at += step)
        socket.emit('data', Buffer.from(stream.subarray(at, at + step)))
      expect(await batch, `reads of ${step} bytes`).toEqual([...values, [PAYLOAD, LONG]])
      conn.close()
    }
  })
})
