import { describe, expect, it } from 'vitest'
import { parseSlotRange } from '../../../../src/ops/migrate/slot-range.js'

describe('migrate: --slots and hints', () => {
  it('parses A-B within 0-16383 and refuses anything else', () => {
    expect(parseSlotRange('0-8191')).toEqual({ from: 0, to: 8191 })
    expect(parseSlotRange(' 8192-16383 ')).toEqual({ from: 8192, to: 16383 })
    for (const bad of ['9-2', '0-16384', '5', 'a-b', '-1-4'])
      expect(() => parseSlotRange(bad)).toThrow(`invalid --slots '${bad}'`)
  })
})
