import { describe, expect, it } from 'vitest'
import { esc } from '../../../src/dashboard/markup.js'

describe('blessed markup', () => {
  it('server text cannot inject blessed tags', () => {
    expect(esc('{user1}:cart {bold}')).toBe('{open}user1{close}:cart {open}bold{close}')
  })
})
