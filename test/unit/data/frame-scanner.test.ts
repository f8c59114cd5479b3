import { describe, expect, it } from 'vitest'
import { encodeCommand } from '../../../src/wire/encode.js'
import { FrameScanner, frameArgsAt } from '../../../src/data/resp/frame-scanner.js'
import {
  frameArgs,
  readCommandRuns,
  readCommands,
  RespProtocolError,
  type CommandRecord,
} from '../../../src/data/resp/command-parser.js'

/** Bytes no text decoder keeps: invalid UTF-8, CR LF, NUL, and the RESP markers '*' and '$'. */
const BIN = Buffer.from([0xff, 0xfe, 0x0d, 0x0a, 0x00, 0x2a, 0x24, 0x0d])

/** One command as the readers give it: where it is, how long, and its arguments byte for byte. */
interface Seen {
  kind: string
  offset: number
  size: number
  args: string[]
}

const hexArgs = (args: Buffer[]) => args.map((a) => a.toString('hex'))

/** Everything readCommandRuns yields, flattened: runs frame by frame, records as they are. */
async function viaRuns(source: AsyncIterable<Buffer>): Promise<Seen[]> {
  const out: Seen[] = []
  for await (const batch of readCommandRuns(source)) {
    if (Array.isArray(batch)) {
      out.push(...batch.map(seen))
      continue
    }
    const { frames, buf, base } = batch
    for (let k = 0; k < frames.count; k++) {
      const bytes = buf.subarray(frames.start[k], frames.end[k])
      const args = frameArgsAt(buf, frames.start[k])
      // The bounds the scanner records agree with the arguments.
      expect(frames.argc[k]).toBe(args.length)
      expect(buf.subarray(frames.nameStart[k], frames.nameEnd[k])).toEqual(args[0])
      if (args.length > 1) expect(buf.subarray(frames.arg1Start[k], frames.arg1End[k])).toEqual(args[1])
      else expect(frames.arg1Start[k]).toBe(-1)
      // A copy: the run's buffer may be reused once the next batch is asked for.
      out.push({ kind: 'command', offset: base + frames.start[k], size: bytes.length, args: hexArgs(args) })
    }
  }
  return out
}

function seen(r: CommandRecord): Seen {
  if (r.kind === 'annotation') return { kind: 'annotation', offset: r.offset, size: r.size, args: [r.text] }
  return {
    kind: 'command',
    offset: r.offset,
    size: r.size,
    args: hexArgs(r.kind === 'frame' ? frameArgs(r) : r.args),
  }
}

async function viaRecords(source: AsyncIterable<Buffer>): Promise<Seen[]> {
  const out: Seen[] = []
  for await (const batch of readCommands(source)) out.push(...batch.map(seen))
  return out
}

async function* pieces(buf: Buffer, cuts: number[]): AsyncGenerator<Buffer> {
  let at = 0
  for (const cut of [...cuts, buf.length]) {
    // Copies: a reader must not rely on two chunks being one buffer.
    if (cut > at) yield Buffer.from(buf.subarray(at, cut))
    at = cut
  }
}

describe('FrameScanner: commands found in place', () => {
  const commands: Buffer[][] = [
    [Buffer.from('SET'), Buffer.concat([Buffer.from('k\r\n'), BIN]), BIN],
    [Buffer.from('PING')],
    [Buffer.from('HSET'), Buffer.from('h'), Buffer.alloc(0), Buffer.concat([BIN, Buffer.from('\r\n*1\r\n')])],
    [Buffer.from('del'), Buffer.from([0x00])],
    [Buffer.from('MSET'), BIN, Buffer.alloc(0), Buffer.from('k2'), Buffer.alloc(300, 0x0d)],
  ]
  const encoded = commands.map((c) => encodeCommand(c))
  const stream = Buffer.concat([
    ...encoded.slice(0, 2),
    Buffer.from('#TS:1700000000\r\n'),
    ...encoded.slice(2, 4),
    Buffer.from('GET "in\\r\\nline"\r\n\r\n'),
    encoded[4],
  ])

  it('records each complete frame of a buffer, byte for byte, and stops at the first byte it does not record', () => {
    const scanner = new FrameScanner()
    const frames = Buffer.concat(encoded)
    expect(scanner.scan(frames, 0)).toBe(frames.length)
    expect(scanner.count).toBe(commands.length)
    let at = 0
    commands.forEach((c, k) => {
      expect([scanner.start[k], scanner.end[k]]).toEqual([at, at + encoded[k].length])
      expect(hexArgs(frameArgsAt(frames, scanner.start[k]))).toEqual(hexArgs(c))
      at += encoded[k].length
    })
    // Cut at every byte: only the frames wholly before the cut are recorded, and the scan ends
    // where the cut frame starts.
    for (let cut = 0; cut <= frames.length; cut++) {
      let whole = 0
      let end = 0
      while (whole < encoded.length && end + encoded[whole].length <= cut) end += encoded[whole++].length
      expect(scanner.scan(frames, 0, cut), `cut at ${cut}`).toBe(end)
      expect(scanner.count, `cut at ${cut}`).toBe(whole)
    }
  })

  it('leaves what is not a well-formed frame to the parser (inline, annotations, bad counts and lengths)', () => {
    const scanner = new FrameScanner()
    for (const bad of [
      'GET k\r\n',
      '#TS:1\r\n',
      '\r\n',
      '*0\r\n',
      '*-1\r\n',
      '*1\r\n$-1\r\n',
      '*1\r\n$3\r\nGETX\r\n',
      '*1\r\n$3\r\nGET\n\n',
      '*2x\r\n',
      '*1\r\n:3\r\n',
      '*1\r\n$1234567890\r\n',
    ]) {
      expect(scanner.scan(Buffer.from(bad), 0), bad).toBe(0)
      expect(scanner.count, bad).toBe(0)
    }
  })

  it('grows past its first arrays and stops at its capacity, to go on from there', () => {
    const scanner = new FrameScanner(3000)
    const many = Buffer.concat(Array.from({ length: 5000 }, (_, i) => encodeCommand(['INCR', `k${i}`])))
    const first = scanner.scan(many, 0)
    expect(scanner.count).toBe(3000)
    expect(frameArgsAt(many, scanner.start[2999])[1].toString()).toBe('k2999')
    expect(scanner.scan(many, first)).toBe(many.length)
    expect(scanner.count).toBe(2000)
    expect(frameArgsAt(many, scanner.start[0])[1].toString()).toBe('k3000')
  })

  it('readCommandRuns gives the same commands, offsets and sizes as readCommands with the stream cut at every byte', async () => {
    const expected = await viaRecords(pieces(stream, []))
    expect(expected.map((s) => s.kind)).toEqual([
      'command',
      'command',
      'annotation',
      'command',
      'command',
      'command',
      'command',
    ])
    for (let cut = 1; cut < stream.length; cut++)
      expect(await viaRuns(pieces(stream, [cut])), `cut at ${cut}`).toEqual(expected)
    // Every chunk a single byte, and a few odd sizes.
    for (const size of [1, 2, 3, 7, 64])
      expect(
        await viaRuns(
          pieces(
            stream,
            Array.from({ length: Math.ceil(stream.length / size) }, (_, i) => i * size),
          ),
        ),
        `chunks of ${size}`,
      ).toEqual(expected)
  })

  it('a stream cut inside a command, or a malformed one, fails as readCommands fails: same message, same offset', async () => {
    const errorOf = async (read: (s: AsyncIterable<Buffer>) => Promise<unknown>, bytes: Buffer) => {
      try {
        await read(pieces(bytes, [Math.floor(bytes.length / 2)]))
        return undefined
      } catch (err) {
        expect(err).toBeInstanceOf(RespProtocolError)
        return [(err as RespProtocolError).message, (err as RespProtocolError).offset]
      }
    }
    for (const bad of [
      Buffer.concat([stream, encoded[0].subarray(0, 9)]),
      Buffer.concat([encoded[0], Buffer.from('*1\r\n$3\r\nGETX\r\n'), encoded[1]]),
      Buffer.concat([encoded[0], Buffer.from('*0\r\n'), encoded[1]]),
      Buffer.concat([encoded[0], Buffer.from('$3\r\nGET\r\n')]),
    ]) {
      const expected = await errorOf(viaRecords, bad)
      expect(expected).toBeDefined()
      expect(await errorOf(viaRuns, bad)).toEqual(expected)
    }
  })
})
