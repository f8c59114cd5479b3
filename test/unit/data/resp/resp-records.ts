/** Reading RESP bytes into command records in the parser and writer tests: binary arguments, chunked input. */
import { frameArgs, readCommands, type CommandRecord } from '../../../../src/data/resp/command-parser.js'

export const BIN = Buffer.from([0xff, 0xfe, 0x0d, 0x0a, 0x00, 0x2a, 0x24])

export async function* chunks(buf: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size)
}

export async function collect(source: AsyncIterable<Buffer>, options = {}): Promise<CommandRecord[]> {
  const out: CommandRecord[] = []
  for await (const batch of readCommands(source, options)) out.push(...batch)
  return out
}

export const args = (r: CommandRecord) =>
  r.kind === 'command'
    ? r.args.map((a) => a.toString('latin1'))
    : r.kind === 'frame'
      ? frameArgs(r).map((a) => a.toString('latin1'))
      : [`#${r.text}`]
