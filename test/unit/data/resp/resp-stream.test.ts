import { describe, expect, it } from 'vitest'
import { encodeCommand } from '../../../../src/wire/encode.js'
import {
  NEED_MORE,
  readCommands,
  RespCommandParser,
  RespProtocolError,
  splitInlineArgs,
} from '../../../../src/data/resp/command-parser.js'
import { args, BIN, chunks, collect } from './resp-records.js'

describe('RESP command stream parser', () => {
  const stream = Buffer.concat([
    encodeCommand(['SET', Buffer.concat([Buffer.from('k'), BIN]), BIN]),
    Buffer.from('#TS:1700000000\r\n'),
    encodeCommand(['MULTI']),
    encodeCommand(['HSET', 'h', '', 'v']),
    Buffer.from('\r\n'),
    Buffer.from('PING "a b" \'c\\\'d\' "\\x41\\n"\r\n'),
    encodeCommand(['EXEC']),
  ])

  it.each([1, 2, 5, 64, 100_000])(
    'parses arrays, annotations and inline commands, binary-safe, in %i-byte chunks',
    async (size) => {
      const records = await collect(chunks(stream, size))
      expect(records.map(args)).toEqual([
        ['SET', `k${BIN.toString('latin1')}`, BIN.toString('latin1')],
        ['#TS:1700000000'],
        ['MULTI'],
        ['HSET', 'h', '', 'v'],
        ['PING', 'a b', "c'd", 'A\n'],
        ['EXEC'],
      ])
      // offsets and sizes tile the stream (except skipped blank lines)
      expect(records[0].offset).toBe(0)
      expect(records[1].offset).toBe(records[0].size)
      const last = records.at(-1)!
      expect(last.offset + last.size).toBe(stream.length)
    },
  )

  it('collects a large argument across many chunks without re-copying it each time', async () => {
    const big = Buffer.alloc(8 * 1024 * 1024, 0x61)
    const encoded = encodeCommand(['SET', 'big', big])
    const started = Date.now()
    const records = await collect(chunks(encoded, 1024))
    expect(Date.now() - started).toBeLessThan(5000)
    expect(records).toHaveLength(1)
    expect(records[0].kind === 'command' && records[0].args[2].equals(big)).toBe(true)
  })

  it('names the byte offset and what was expected on bad input', () => {
    const p = new RespCommandParser()
    p.push(Buffer.concat([encodeCommand(['PING']), Buffer.from('*2\r\n$3\r\nGET\r\n:5\r\n')]))
    expect(p.next()).not.toBe(NEED_MORE)
    try {
      p.next()
      expect.unreachable()
    } catch (err) {
      expect(err).toBeInstanceOf(RespProtocolError)
      expect((err as RespProtocolError).offset).toBe(14 + 13)
      expect((err as Error).message).toMatch(/at byte offset 27: expected '\$' starting a bulk string/)
    }
    const q = new RespCommandParser()
    q.push(Buffer.from('*1\r\n$3\r\nGETX\r\n'))
    expect(() => q.next()).toThrow(/not terminated at byte offset 11: expected CRLF/)
  })

  it('reports a truncated last command at the end of the input, or hands it over when allowed', async () => {
    const full = Buffer.concat([encodeCommand(['SET', 'a', '1']), encodeCommand(['SET', 'b', 'two'])])
    const cut = full.subarray(0, full.length - 4)
    await expect(collect(chunks(cut, 7))).rejects.toThrow(
      /ends inside a command .* at byte offset \d+: expected 3 bytes of argument 3 of 3/,
    )
    let tail: { offset: number; bytes: Buffer } | undefined
    const got = await collect(chunks(cut, 7), {
      allowTruncatedTail: true,
      onTruncatedTail: (offset: number, bytes: Buffer) => (tail = { offset, bytes }),
    })
    expect(got.map(args)).toEqual([['SET', 'a', '1']])
    expect(tail!.offset).toBe(encodeCommand(['SET', 'a', '1']).length)
    expect(tail!.bytes.equals(cut.subarray(tail!.offset))).toBe(true)
  })

  it('pulls the source only as fast as batches are consumed (backpressure)', async () => {
    let pulled = 0
    async function* source(): AsyncGenerator<Buffer> {
      for (let i = 0; i < 100; i++) {
        pulled++
        yield encodeCommand(['INCR', `k${i}`])
      }
    }
    const gen = readCommands(source(), { batchSize: 1 })
    await gen.next()
    await gen.next()
    expect(pulled).toBeLessThanOrEqual(3)
    await gen.return(undefined)
  })

  it('splits inline commands like sdssplitargs', () => {
    expect(splitInlineArgs(Buffer.from('  SET  key   "va\\"l"  ')).map(String)).toEqual([
      'SET',
      'key',
      'va"l',
    ])
    expect(() => splitInlineArgs(Buffer.from('GET "open'))).toThrow(/unbalanced quotes/)
    expect(splitInlineArgs(Buffer.from(`SET 'it\\'s' "\\x41\\n"`)).map(String)).toEqual([
      'SET',
      "it's",
      'A\n',
    ])
    // A closing quote must end the argument, in either kind of quotes; the offset is the character after it.
    for (const line of ['SET "k"v', "SET 'k'v"])
      expect(() => splitInlineArgs(Buffer.from(line), 100)).toThrow(
        expect.objectContaining({
          message: expect.stringContaining('closing quote not followed by a space'),
          offset: 107,
        }),
      )
  })
})
