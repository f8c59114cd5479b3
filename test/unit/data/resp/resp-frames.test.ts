import { describe, expect, it } from 'vitest'
import { encodeCommand } from '../../../../src/wire/encode.js'
import { frameArgs, readCommands, type CommandRecord } from '../../../../src/data/resp/command-parser.js'

const BIN = Buffer.from([0xff, 0xfe, 0x0d, 0x0a, 0x00, 0x2a, 0x24])

async function* chunks(buf: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size)
}

async function collect(source: AsyncIterable<Buffer>, frames: boolean): Promise<CommandRecord[]> {
  const out: CommandRecord[] = []
  for await (const batch of readCommands(source, { frames })) out.push(...batch)
  return out
}

describe('RESP command frames (bytes left in place)', () => {
  const commands: Buffer[][] = [
    [Buffer.from('SET'), Buffer.concat([Buffer.from('k\r\n'), BIN]), BIN],
    [Buffer.from('PING')],
    [Buffer.from('HSET'), Buffer.from('h'), Buffer.alloc(0), Buffer.alloc(70_000, 0x0d)],
    [Buffer.from('del'), Buffer.from([0x00])],
  ]
  const stream = Buffer.concat([
    ...commands.slice(0, 2).map((c) => encodeCommand(c)),
    Buffer.from('#TS:1700000000\r\n'),
    ...commands.slice(2).map((c) => encodeCommand(c)),
    Buffer.from('GET inline\r\n'),
  ])

  for (const size of [1, 7, 4096, stream.length])
    it(`gives the log's own bytes, offsets and arguments, in chunks of ${size}`, async () => {
      const framed = await collect(chunks(stream, size), true)
      const listed = await collect(chunks(stream, size), false)
      expect(framed.map((r) => r.kind)).toEqual(['frame', 'frame', 'annotation', 'frame', 'frame', 'command'])
      expect(framed.map((r) => [r.offset, r.size])).toEqual(listed.map((r) => [r.offset, r.size]))
      const frames = framed.filter((r) => r.kind === 'frame')
      frames.forEach((f, i) => {
        // The frame is exactly the encoded command, byte for byte, and its arguments round-trip.
        expect(Buffer.compare(f.buf.subarray(f.start, f.end), encodeCommand(commands[i]))).toBe(0)
        expect(f.size).toBe(f.end - f.start)
        expect(f.argc).toBe(commands[i].length)
        expect(frameArgs(f).map((a) => a.toString('hex'))).toEqual(commands[i].map((a) => a.toString('hex')))
        expect(f.buf.subarray(f.nameStart, f.nameEnd).toString('latin1')).toBe(
          commands[i][0].toString('latin1'),
        )
        const arg1 = f.arg1Start < 0 ? undefined : f.buf.subarray(f.arg1Start, f.arg1End).toString('hex')
        expect(arg1).toBe(commands[i][1]?.toString('hex'))
      })
      // Inline commands still come as argument lists.
      const last = framed[framed.length - 1]
      expect(last.kind === 'command' && last.args.map(String)).toEqual(['GET', 'inline'])
    })
})
