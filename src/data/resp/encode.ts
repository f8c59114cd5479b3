/** RESP command encoding: `*N\r\n$len\r\nbytes\r\n...`, binary-safe. */
export type CommandArg = Buffer | string | number

const CRLF = Buffer.from('\r\n')

function argBuffer(arg: CommandArg): Buffer {
  if (Buffer.isBuffer(arg)) return arg
  return Buffer.from(typeof arg === 'number' ? String(arg) : arg, 'utf8')
}

export function encodeCommand(args: readonly CommandArg[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)]
  for (const arg of args) {
    const b = argBuffer(arg)
    parts.push(Buffer.from(`$${b.length}\r\n`), b, CRLF)
  }
  return Buffer.concat(parts)
}

export function encodeCommands(commands: readonly (readonly CommandArg[])[]): Buffer {
  return Buffer.concat(commands.map(encodeCommand))
}
