import { UsageError } from '../../errors.js'
import { quoteBytes } from '../escape.js'

/**
 * MONITOR lines, byte-exact: `1700000000.123456 [0 127.0.0.1:5000] "SET" "k\x00" "v"`.
 * Redis prints arguments with sdscatrepr: printable ASCII as is, `\\ \" \n \r \t \a \b`, every other
 * byte as \xHH. Decoding reverses exactly that, so binary keys and values survive the round trip.
 */
interface MonitorRecord {
  /** Seconds since the epoch as printed ("1700000000.123456"), kept as text to keep microseconds. */
  timestamp: string
  db: number
  /** `127.0.0.1:5000`, `lua`, `unix:/path`. */
  client: string
  args: Buffer[]
}

/** A line that is not MONITOR output (exit 2); `column` is the byte offset in the line. */
export class MonitorParseError extends UsageError {
  constructor(
    message: string,
    readonly column: number,
  ) {
    super(message, { code: 'bad-input' })
    this.name = 'MonitorParseError'
  }
}

const ESCAPES = new Int16Array(256).fill(-1)
for (const [c, v] of Object.entries({ n: 0x0a, r: 0x0d, t: 0x09, a: 0x07, b: 0x08, '"': 0x22, '\\': 0x5c }))
  ESCAPES[c.charCodeAt(0)] = v

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10
  return -1
}

/** Longest timestamp accepted ("1700000000.123456" is 17 characters). */
const MAX_TIMESTAMP = 32
const MAX_DB = 0x7fffffff

/**
 * Parse one line (without its line ending). Throws MonitorParseError naming the column. Linear in
 * the line's length: runs of plain bytes are copied in one go, and every argument is a view into
 * one buffer decoded for the whole line. With `inPlace` (for a buffer the caller owns and gives
 * up), arguments are decoded into the line's own bytes: decoding only ever shrinks, so writing
 * trails reading, and a huge line costs no second buffer of its size.
 */
export function parseMonitorLine(line: Buffer, options: { inPlace?: boolean } = {}): MonitorRecord {
  let i = 0
  const n = line.length
  // MONITOR replies are simple strings; a capture may keep the leading '+'.
  if (line[0] === 0x2b) i = 1
  const space = line.indexOf(0x20, i)
  if (space < 0) throw new MonitorParseError('expected a timestamp and a [db client] block', i)
  const timestamp = line.toString('latin1', i, Math.min(space, i + MAX_TIMESTAMP + 1))
  if (space - i > MAX_TIMESTAMP || !/^\d+\.\d+$/.test(timestamp))
    throw new MonitorParseError(`expected a timestamp like 1700000000.123456, got '${timestamp}'`, i)
  i = space + 1
  if (line[i] !== 0x5b) throw new MonitorParseError("expected '[' before the database number", i)
  const close = line.indexOf(0x5d, i)
  if (close < 0) throw new MonitorParseError("expected ']' after the client address", i)
  const inner = line.toString('latin1', i + 1, close)
  const innerSpace = inner.indexOf(' ')
  if (innerSpace < 0 || !/^\d+$/.test(inner.slice(0, innerSpace))) {
    throw new MonitorParseError(`expected '[db client]', got '[${inner.slice(0, 200)}]'`, i)
  }
  const db = Number(inner.slice(0, innerSpace))
  if (db > MAX_DB)
    throw new MonitorParseError(`database number ${inner.slice(0, innerSpace)} out of range`, i + 1)
  const client = inner.slice(innerSpace + 1)
  i = close + 1
  const args: Buffer[] = []
  // Decoded arguments are never longer than their quoted text.
  const out = options.inPlace ? line : Buffer.allocUnsafe(n - i)
  let o = options.inPlace ? i : 0
  // Next '"' and '\' at or after i (-1: none left): each found once, so the scan stays linear.
  let quote = -2
  let slash = -2
  while (i < n) {
    while (line[i] === 0x20) i++
    if (i >= n) break
    if (line[i] !== 0x22) throw new MonitorParseError("expected '\"' to open an argument", i)
    i++
    const argStart = o
    for (;;) {
      if (quote !== -1 && quote < i) quote = line.indexOf(0x22, i)
      if (slash !== -1 && slash < i) slash = line.indexOf(0x5c, i)
      const stop = quote < 0 ? (slash < 0 ? n : slash) : slash < 0 ? quote : Math.min(quote, slash)
      if (stop - i > 32) {
        // (copy is memmove: in place, the regions may overlap)
        o += o === i ? stop - i : line.copy(out, o, i, stop)
        i = stop
      } else if (o === i) i = o = stop
      else while (i < stop) out[o++] = line[i++]
      if (i >= n) throw new MonitorParseError('unterminated argument: the line ends inside quotes', i)
      if (line[i] === 0x22) {
        i++
        break
      }
      // A backslash.
      const next = line[i + 1]
      if (next === 0x78) {
        const hi = hexValue(line[i + 2])
        const lo = hexValue(line[i + 3])
        if (hi < 0 || lo < 0) throw new MonitorParseError('invalid \\x escape: expected two hex digits', i)
        out[o++] = hi * 16 + lo
        i += 4
        continue
      }
      const mapped = next === undefined ? -1 : ESCAPES[next]
      if (mapped < 0)
        throw new MonitorParseError(
          `invalid escape '\\${next === undefined ? '' : String.fromCharCode(next)}'`,
          i,
        )
      out[o++] = mapped
      i += 2
    }
    args.push(out.subarray(argStart, o))
  }
  if (args.length === 0) throw new MonitorParseError('no command on the line', i)
  return { timestamp, db, client, args }
}

export { quoteBytes }

export function formatMonitorLine(record: MonitorRecord): string {
  return `${record.timestamp} [${record.db} ${record.client}] ${record.args.map(quoteBytes).join(' ')}`
}
