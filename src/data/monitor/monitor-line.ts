import { quoteBytes } from '../escape.js'

/**
 * MONITOR lines, byte-exact: `1700000000.123456 [0 127.0.0.1:5000] "SET" "k\x00" "v"`.
 * Redis prints arguments with sdscatrepr: printable ASCII as is, `\\ \" \n \r \t \a \b`, every other
 * byte as \xHH. Decoding reverses exactly that, so binary keys and values survive the round trip.
 */
export interface MonitorRecord {
  /** Seconds since the epoch as printed ("1700000000.123456"), kept as text to keep microseconds. */
  timestamp: string
  db: number
  /** `127.0.0.1:5000`, `lua`, `unix:/path`. */
  client: string
  args: Buffer[]
}

export class MonitorParseError extends Error {
  constructor(
    message: string,
    readonly column: number,
  ) {
    super(message)
    this.name = 'MonitorParseError'
  }
}

const ESCAPES: Record<string, number> = { n: 0x0a, r: 0x0d, t: 0x09, a: 0x07, b: 0x08, '"': 0x22, '\\': 0x5c }

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10
  return -1
}

/** Parse one line (without its line ending). Throws MonitorParseError naming the column. */
export function parseMonitorLine(line: Buffer): MonitorRecord {
  let i = 0
  // MONITOR replies are simple strings; a capture may keep the leading '+'.
  if (line[0] === 0x2b) i = 1
  const space = line.indexOf(0x20, i)
  if (space < 0) throw new MonitorParseError('expected a timestamp and a [db client] block', i)
  const timestamp = line.toString('latin1', i, space)
  if (!/^\d+\.\d+$/.test(timestamp))
    throw new MonitorParseError(`expected a timestamp like 1700000000.123456, got '${timestamp}'`, i)
  i = space + 1
  if (line[i] !== 0x5b) throw new MonitorParseError("expected '[' before the database number", i)
  const close = line.indexOf(0x5d, i)
  if (close < 0) throw new MonitorParseError("expected ']' after the client address", i)
  const inner = line.toString('latin1', i + 1, close)
  const innerSpace = inner.indexOf(' ')
  if (innerSpace < 0 || !/^\d+$/.test(inner.slice(0, innerSpace))) {
    throw new MonitorParseError(`expected '[db client]', got '[${inner}]'`, i)
  }
  const db = Number(inner.slice(0, innerSpace))
  const client = inner.slice(innerSpace + 1)
  i = close + 1
  const args: Buffer[] = []
  while (i < line.length) {
    while (line[i] === 0x20) i++
    if (i >= line.length) break
    if (line[i] !== 0x22) throw new MonitorParseError("expected '\"' to open an argument", i)
    i++
    const bytes: number[] = []
    for (;;) {
      if (i >= line.length)
        throw new MonitorParseError('unterminated argument: the line ends inside quotes', i)
      const c = line[i]
      if (c === 0x22) {
        i++
        break
      }
      if (c === 0x5c) {
        const next = line[i + 1]
        if (next === 0x78) {
          const hi = hexValue(line[i + 2])
          const lo = hexValue(line[i + 3])
          if (hi < 0 || lo < 0) throw new MonitorParseError('invalid \\x escape: expected two hex digits', i)
          bytes.push(hi * 16 + lo)
          i += 4
          continue
        }
        const mapped = next === undefined ? undefined : ESCAPES[String.fromCharCode(next)]
        if (mapped === undefined)
          throw new MonitorParseError(
            `invalid escape '\\${next === undefined ? '' : String.fromCharCode(next)}'`,
            i,
          )
        bytes.push(mapped)
        i += 2
        continue
      }
      bytes.push(c)
      i++
    }
    args.push(Buffer.from(bytes))
  }
  if (args.length === 0) throw new MonitorParseError('no command on the line', i)
  return { timestamp, db, client, args }
}

export { quoteBytes }

export function formatMonitorLine(record: MonitorRecord): string {
  return `${record.timestamp} [${record.db} ${record.client}] ${record.args.map(quoteBytes).join(' ')}`
}
