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

/** `*2\r\n$len\r\nNAME\r\n` (or `*1` ... for a command without the key), encoded once per name. */
const commandHeads = new Map<string, Buffer>()
function commandHead(name: string, args: number): Buffer {
  const id = `${args} ${name}`
  let head = commandHeads.get(id)
  if (!head)
    commandHeads.set(id, (head = Buffer.from(`*${args}\r\n$${name.length}\r\n${name}\r\n`, 'latin1')))
  return head
}

/**
 * `NAME key` for every key and each name in turn (PEXPIRETIME k, DUMP k, PEXPIRETIME k2 ...), each
 * preceded by the argument-less command `before` when given (ASKING): one buffer sized first, no
 * argument arrays. The read side of a bulk copy sends thousands of these per page.
 */
export function encodeKeyCommands(
  names: readonly string[],
  keys: readonly Buffer[],
  before?: string,
): Buffer {
  const heads = names.map((n) => commandHead(n, 2))
  const prefix = before === undefined ? undefined : commandHead(before, 1)
  let size = 0
  for (const key of keys) size += 5 + digits(key.length) + key.length
  size *= names.length
  for (const head of heads) size += head.length * keys.length
  if (prefix) size += prefix.length * keys.length * names.length
  const out = Buffer.allocUnsafe(size)
  let pos = 0
  for (const key of keys) {
    for (const head of heads) {
      if (prefix) pos += copyBytes(prefix, 0, prefix.length, out, pos)
      pos += copyBytes(head, 0, head.length, out, pos)
      out[pos++] = 0x24
      pos += writeDecimal(out, pos, key.length)
      out[pos++] = 0x0d
      out[pos++] = 0x0a
      pos += copyBytes(key, 0, key.length, out, pos)
      out[pos++] = 0x0d
      out[pos++] = 0x0a
    }
  }
  return out
}
