import { PassThrough, Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { encodeCommand } from '../../../../src/wire/encode.js'
import {
  frameArgs,
  NEED_MORE,
  readCommands,
  RespCommandParser,
  RespProtocolError,
  splitInlineArgs,
  type CommandRecord,
} from '../../../../src/data/resp/command-parser.js'
import { RespCommandWriter } from '../../../../src/wire/command-writer.js'

const BIN = Buffer.from([0xff, 0xfe, 0x0d, 0x0a, 0x00, 0x2a, 0x24])

async function* chunks(buf: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size)
}

async function collect(source: AsyncIterable<Buffer>, options = {}): Promise<CommandRecord[]> {
  const out: CommandRecord[] = []
  for await (const batch of readCommands(source, options)) out.push(...batch)
  return out
}

const args = (r: CommandRecord) =>
  r.kind === 'command'
    ? r.args.map((a) => a.toString('latin1'))
    : r.kind === 'frame'
      ? frameArgs(r).map((a) => a.toString('latin1'))
      : [`#${r.text}`]

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
  })
})

describe('RESP command writer', () => {
  it('encodes commands binary-safe; the parser reads back the same arguments', async () => {
    const sink = new PassThrough()
    const out: Buffer[] = []
    sink.on('data', (d: Buffer) => out.push(d))
    const w = new RespCommandWriter(sink, 64)
    const cmds = [
      ['SET', BIN, Buffer.alloc(300, 1)],
      ['DEL', 'x'],
      [Buffer.from('ECHO'), 12345],
    ] as const
    for (const c of cmds) await w.write(c)
    await w.end()
    const parsed = await collect(chunks(Buffer.concat(out), 13))
    expect(parsed.map((r) => (r.kind === 'command' ? r.args.map((a) => a.toString('hex')) : []))).toEqual(
      cmds.map((c) => c.map((a) => (Buffer.isBuffer(a) ? a : Buffer.from(String(a))).toString('hex'))),
    )
    expect(w.stats.commands).toBe(3)
  })

  it('waits for drain when the sink is full', async () => {
    let release: () => void = () => {}
    const slow = new Writable({
      highWaterMark: 16,
      write(_chunk, _enc, cb) {
        release = cb
      },
    })
    const w = new RespCommandWriter(slow, 32)
    const pending = w.write(['SET', 'k', 'x'.repeat(100)])
    expect(pending).toBeInstanceOf(Promise)
    let done = false
    void (pending as Promise<void>).then(() => (done = true))
    await new Promise((r) => setTimeout(r, 20))
    expect(done).toBe(false)
    release()
    await pending
    expect(done).toBe(true)
  })
})
