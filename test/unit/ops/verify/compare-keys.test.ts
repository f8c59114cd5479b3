import { describe, expect, it } from 'vitest'
import { difference } from '../../../../src/ops/verify/compare-keys.js'

describe('verify: differences and their text', () => {
  it('keys escaped as redis-cli prints them, with exact hex', () => {
    const d = difference(
      'missing-in-target',
      Buffer.from('k\r\n\x00\xff', 'latin1'),
      0,
      'only in source (string)',
    )
    expect(d).toEqual({
      category: 'missing-in-target',
      key: 'k\\r\\n\\x00\\xff',
      keyHex: '6b0d0a00ff',
      db: 0,
      detail: 'only in source (string)',
    })
  })
})
