/**
 * Corrupt RESP logs: `*0`, negative or huge declared lengths, truncated bulks are bad input
 * (RespProtocolError, a UsageError: exit 2) naming the byte offset; declared lengths are never
 * allocated before their bytes are there; long lines and runs of blank lines cost linear time.
 */
import { describe, expect, it, vi } from 'vitest'
import { ExitCode, KvtopError, UsageError } from '../../../../src/errors.js'
import {
  NEED_MORE,
  readCommands,
  RespCommandParser,
  RespProtocolError,
  type CommandRecord,
} from '../../../../src/data/resp/command-parser.js'
import { encodeCommand } from '../../../../src/wire/encode.js'

async function* chunks(buf: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size)
}

async function collect(buf: Buffer, size = 7): Promise<CommandRecord[]> {
  const out: CommandRecord[] = []
  for await (const batch of readCommands(chunks(buf, size))) out.push(...batch)
  return out
}

async function failure(p: Promise<unknown>): Promise<RespProtocolError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(RespProtocolError)
  expect(err).toBeInstanceOf(UsageError)
  expect((err as KvtopError).exitCode).toBe(ExitCode.usage)
  return err as RespProtocolError
}

const PING = encodeCommand(['PING']) // 14 bytes

describe('RESP logs: bad declared lengths are exit 2 with the byte offset', () => {
  it.each([
    [
      '*0',
      '*0\r\n',
      /empty command \(argument count 0\) at byte offset 14: expected an argument count of at least 1/,
    ],
    ['*-1', '*-1\r\n', /invalid argument count -1 at byte offset 14/],
    ['*-', '*-\r\n', /argument count .*at byte offset 14/],
    ['a huge array', '*99999999999\r\n$1\r\na\r\n', /argument count 99999999999 too large at byte offset 14/],
    ['an absurd array', `*${'9'.repeat(400)}\r\n`, /argument count .* too large at byte offset 14/],
    ['a negative bulk', '*1\r\n$-5\r\n', /invalid bulk length -5 at byte offset 18/],
    ['a huge bulk', '*1\r\n$99999999999\r\n', /invalid bulk length 99999999999 at byte offset 18/],
    ['a bulk without its CRLF', '*1\r\n$3\r\nGETX\r\n', /not terminated at byte offset 25: expected CRLF/],
    ['a non-numeric length', '*1\r\n$x\r\nab\r\n', /invalid bulk length 'x' at byte offset 19/],
  ])('%s', async (_name, text, message) => {
    const err = await failure(collect(Buffer.concat([PING, Buffer.from(text, 'latin1')])))
    expect(err.message).toMatch(message)
  })

  it('a truncated bulk: the offset where the log ends and what was missing', async () => {
    const err = await failure(collect(Buffer.concat([PING, Buffer.from('*2\r\n$3\r\nGET\r\n$100\r\nabc')])))
    expect(err.message).toMatch(
      /the input ends inside a command .* at byte offset 36: expected 100 bytes of argument 2 of 2 and CRLF/,
    )
    expect(err.offset).toBe(36)
  })

  it('declared sizes are not allocated before the bytes are there', async () => {
    let largest = 0
    const alloc = Buffer.allocUnsafe
    const spy = vi.spyOn(Buffer, 'allocUnsafe').mockImplementation((size: number) => {
      largest = Math.max(largest, size)
      return alloc(size)
    })
    const heap = process.memoryUsage().heapUsed
    try {
      // 60 million arguments declared, one there; a 4 GB bulk declared, 3 bytes there.
      await failure(collect(Buffer.from('*60000000\r\n$1\r\na\r\n'), 4096))
      await failure(collect(Buffer.from('*1\r\n$4000000000\r\nabc'), 4096))
      const p = new RespCommandParser()
      p.push(Buffer.from('*60000000\r\n$1\r\na\r\n'))
      expect(p.next()).toBe(NEED_MORE)
    } finally {
      spy.mockRestore()
    }
    expect(largest).toBeLessThan(1 << 20)
    expect(process.memoryUsage().heapUsed - heap).toBeLessThan(64 << 20)
  })

  it('any number of blank or space-only lines in a row (no recursion)', async () => {
    const text = Buffer.from(' \n'.repeat(200_000) + '\r\n'.repeat(1000) + 'PING\r\n')
    const records = await collect(text, 65536)
    expect(records).toHaveLength(1)
    expect(records[0].kind === 'command' && records[0].args[0].toString()).toBe('PING')
  })

  it('a long inline line costs linear time, not a join and a scan per chunk', async () => {
    const lines = new Map(
      [2, 16].map((mb) => [
        mb,
        Buffer.concat([Buffer.from('SET k '), Buffer.alloc(mb << 20, 0x78), Buffer.from('\r\n')]),
      ]),
    )
    /** CPU time of one parse (other processes on the machine do not count). */
    const cpuTime = async (mb: number) => {
      const cpu = process.cpuUsage()
      const records = await collect(lines.get(mb)!, 16 * 1024)
      const used = process.cpuUsage(cpu)
      expect(records[0].kind === 'command' && records[0].args[2].length).toBe(mb << 20)
      return (used.user + used.system) / 1000
    }
    await collect(Buffer.from(`SET k ${'x'.repeat(1 << 20)}\r\n`), 16 * 1024) // warm up
    const best = new Map([
      [2, Infinity],
      [16, Infinity],
    ])
    for (let round = 0; round < 3; round++)
      for (const mb of [2, 16]) best.set(mb, Math.min(best.get(mb)!, await cpuTime(mb)))
    const timings = `2 MB: ${best.get(2)!.toFixed(0)} ms, 16 MB: ${best.get(16)!.toFixed(0)} ms of CPU`
    // 8x the bytes: linear is ~8x (a GC pause in the big run can push it past 10x); a join and a
    // scan per 16 KiB chunk is ~64x. The gap between them is wide enough for a loaded machine.
    expect(best.get(16)! / best.get(2)!, timings).toBeLessThan(24)
  })
})
