/**
 * Keys and values printed the way redis-cli prints them (sdscatrepr): printable ASCII as is, `"` and
 * `\` escaped, `\n \r \t \a \b`, every other byte as `\xHH` (lower-case hex). Without the surrounding
 * quotes, so the result can sit inside a JSON string or a table cell; `quoted` adds them.
 * `unescapeBytes` reverses it exactly, so printed keys can be given back on a command line.
 */
export function escapeBytes(value: Buffer | string, options: { quoted?: boolean } = {}): string {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value
  let out = ''
  let plainStart = 0
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]
    if (b >= 0x20 && b <= 0x7e && b !== 0x5c && b !== 0x22) continue
    let esc: string
    if (b === 0x5c) esc = '\\\\'
    else if (b === 0x22) esc = '\\"'
    else if (b === 0x0a) esc = '\\n'
    else if (b === 0x0d) esc = '\\r'
    else if (b === 0x09) esc = '\\t'
    else if (b === 0x07) esc = '\\a'
    else if (b === 0x08) esc = '\\b'
    else esc = `\\x${b < 16 ? '0' : ''}${b.toString(16)}`
    if (i > plainStart) out += bytes.toString('latin1', plainStart, i)
    out += esc
    plainStart = i + 1
  }
  if (plainStart === 0) out = bytes.toString('latin1')
  else if (plainStart < bytes.length) out += bytes.toString('latin1', plainStart)
  return options.quoted ? `"${out}"` : out
}

/** A reply value (Buffer, string or number) as display text, escaped where it is bytes. */
export function replyText(value: unknown): string {
  if (Buffer.isBuffer(value) || typeof value === 'string') return escapeBytes(value)
  if (value === null || value === undefined) return ''
  return String(value)
}

/** `escapeBytes` with the surrounding quotes, as redis-cli and MONITOR print an argument. */
export function quoteBytes(value: Buffer | string): string {
  return escapeBytes(value, { quoted: true })
}

const SIMPLE: Record<string, number> = { n: 0x0a, r: 0x0d, t: 0x09, a: 0x07, b: 0x08, '"': 0x22, '\\': 0x5c }

function hexDigit(c: string): number {
  const code = c.charCodeAt(0)
  if (code >= 0x30 && code <= 0x39) return code - 0x30
  if (code >= 0x61 && code <= 0x66) return code - 0x57
  if (code >= 0x41 && code <= 0x46) return code - 0x37
  return -1
}

/** The bytes an `escapeBytes` string (with or without its quotes) stands for. */
export function unescapeBytes(text: string): Buffer {
  let s = text
  if (s.length >= 2 && s.startsWith('"') && s.endsWith('"')) s = s.slice(1, -1)
  const out: number[] = []
  for (let i = 0; i < s.length; i++) {
    const c = s[i]
    if (c !== '\\') {
      const code = c.charCodeAt(0)
      if (code < 0x80) out.push(code)
      else for (const b of Buffer.from(c, 'utf8')) out.push(b)
      continue
    }
    const next = s[i + 1]
    if (next === 'x' && i + 3 < s.length && hexDigit(s[i + 2]) >= 0 && hexDigit(s[i + 3]) >= 0) {
      out.push(hexDigit(s[i + 2]) * 16 + hexDigit(s[i + 3]))
      i += 3
    } else if (next !== undefined && SIMPLE[next] !== undefined) {
      out.push(SIMPLE[next])
      i += 1
    } else {
      out.push(0x5c)
    }
  }
  return Buffer.from(out)
}
