import { describe, expect, it } from 'vitest'
import { ChangeSet } from '../../../../src/ops/migrate/change-set.js'

describe('migrate: live change set', () => {
  it('deduplicates byte-exact keys (NUL, CR LF, invalid UTF-8), gives them oldest first, and tracks the oldest age', () => {
    const set = new ChangeSet()
    const a = Buffer.from([0x00, 0x0d, 0x0a, 0xff])
    const b = Buffer.from([0xc3, 0x28])
    const c = Buffer.from([0xc3, 0x29])
    set.add(a, 100)
    set.add(b, 200)
    set.add(Buffer.from(a), 300) // the same bytes again: still one entry, still from 100
    set.add(c, 400)
    expect(set.size).toBe(3)
    expect(set.oldest).toBe(100)
    expect(set.take(2)).toEqual([a, b])
    expect(set.oldest).toBe(400)
    set.add(a, 500) // changed again after it was taken: pending again
    expect(set.take(10)).toEqual([c, a])
    expect(set.size).toBe(0)
    expect(set.oldest).toBe(0)
  })
})
