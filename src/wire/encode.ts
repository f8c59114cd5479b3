/** RESP command encoding: `*N\r\n$len\r\nbytes\r\n...`, binary-safe. */
import { copyBytes, writeDecimal } from './bytes.js'
export type CommandArg = Buffer | string | number

const digits = (n: number) => (n < 10 ? 1 : n < 100 ? 2 : n < 1000 ? 3 : String(n).length)

function byteLength(arg: CommandArg): number {
  if (Buffer.isBuffer(arg)) return arg.length
  return typeof arg === 'number' ? String(arg).length : Buffer.byteLength(arg, 'utf8')
}

/**
 * Many commands into one buffer, sized first and written in place: a pipeline of thousands of
 * commands costs one allocation instead of four per argument (the allocations and the copies of
 * Buffer.concat were the top of the profile of verify and migrate).
 */
export function encodeCommands(commands: readonly (readonly CommandArg[])[]): Buffer {
  let size = 0
  for (const args of commands) {
    size += 3 + digits(args.length)
    for (const arg of args) {
      const n = byteLength(arg)
      size += 5 + digits(n) + n
    }
  }
  const out = Buffer.allocUnsafe(size)
  let pos = 0
  const header = (type: number, n: number) => {
    out[pos++] = type
    pos += writeDecimal(out, pos, n)
    out[pos++] = 0x0d
    out[pos++] = 0x0a
  }
  for (const args of commands) {
    header(0x2a, args.length)
    for (const arg of args) {
      if (Buffer.isBuffer(arg)) {
        header(0x24, arg.length)
        pos += copyBytes(arg, 0, arg.length, out, pos)
      } else {
        const text = typeof arg === 'number' ? String(arg) : arg
        const n = typeof arg === 'number' ? text.length : Buffer.byteLength(text, 'utf8')
        header(0x24, n)
        if (n === text.length) for (let i = 0; i < n; i++) out[pos++] = text.charCodeAt(i)
        else pos += out.write(text, pos, 'utf8')
      }
      out[pos++] = 0x0d
      out[pos++] = 0x0a
    }
  }
  return out
}

export function encodeCommand(args: readonly CommandArg[]): Buffer {
  return encodeCommands([args])
}
