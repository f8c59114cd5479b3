/**
 * Binary-safe display of bytes the way redis-cli prints them (sdscatrepr): printable ASCII as is,
 * `"` and `\` escaped, `\n \r \t \a \b`, everything else as `\xHH`. Without the surrounding quotes,
 * so that the result can sit inside a JSON string or a table cell.
 */
export function reprBytes(value: Buffer | string): string {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value
  let out = ''
  let plainStart = 0
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]
    let esc: string | undefined
    if (b === 0x5c) esc = '\\\\'
    else if (b === 0x22) esc = '\\"'
    else if (b === 0x0a) esc = '\\n'
    else if (b === 0x0d) esc = '\\r'
    else if (b === 0x09) esc = '\\t'
    else if (b === 0x07) esc = '\\a'
    else if (b === 0x08) esc = '\\b'
    else if (b < 0x20 || b > 0x7e) esc = `\\x${b.toString(16).padStart(2, '0')}`
    if (esc !== undefined) {
      if (i > plainStart) out += bytes.toString('latin1', plainStart, i)
      out += esc
      plainStart = i + 1
    }
  }
  if (plainStart < bytes.length) out += bytes.toString('latin1', plainStart)
  return out
}

/** A reply value (Buffer, string or number) as display text, escaped where it is bytes. */
export function replyText(value: unknown): string {
  if (Buffer.isBuffer(value)) return reprBytes(value)
  if (typeof value === 'string') return reprBytes(value)
  if (value === null || value === undefined) return ''
  return String(value)
}
