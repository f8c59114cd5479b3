import { describe, expect, it } from 'vitest'
import { esc, plainLength, untagged, wrapText } from '../../../src/dashboard/markup.js'

describe('blessed markup', () => {
  it('server text cannot inject blessed tags', () => {
    expect(esc('{user1}:cart {bold}')).toBe('{open}user1{close}:cart {open}bold{close}')
  })

  it('a tagged line reads without its tags', () => {
    expect(untagged('{red-fg}a{/red-fg} {bold}b')).toBe('a b')
    expect(plainLength('{red-fg}3/4 nodes up{/red-fg}')).toBe(12)
  })

  it('wraps words to the width, continuation lines indented, a word longer than a line cut', () => {
    expect(wrapText('one two three averyveryverylongword four', 10, '  ')).toEqual([
      'one two',
      '  three',
      '  averyve…',
      '  four',
    ])
    expect(wrapText('  ', 10)).toEqual([])
  })
})
