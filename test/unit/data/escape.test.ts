import { describe, expect, it } from 'vitest'
import { escapeBytes, quoteBytes, replyText, unescapeBytes } from '../../../src/data/escape.js'

describe('escapeBytes (redis-cli style)', () => {
  it('escapes the way sdscatrepr does', () => {
    expect(
      escapeBytes(Buffer.from([0x61, 0x00, 0x0d, 0x0a, 0x09, 0x07, 0x08, 0x22, 0x5c, 0xff, 0x7f, 0x20])),
    ).toBe('a\\x00\\r\\n\\t\\a\\b\\"\\\\\\xff\\x7f ')
    expect(quoteBytes(Buffer.from('k\x00'))).toBe('"k\\x00"')
    expect(replyText('plain')).toBe('plain')
    expect(replyText(Buffer.from('k\r\n'))).toBe('k\\r\\n')
    expect(replyText(42)).toBe('42')
    expect(replyText(null)).toBe('')
    expect(escapeBytes(Buffer.from([0xc3, 0x28]))).toBe('\\xc3(')
  })

  it('unescapes back to the same bytes, for every byte value', () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i))
    expect(unescapeBytes(escapeBytes(all)).equals(all)).toBe(true)
    expect(unescapeBytes(quoteBytes(all)).equals(all)).toBe(true)
    expect(unescapeBytes('\\xZZ').toString('latin1')).toBe('\\xZZ')
  })
})
