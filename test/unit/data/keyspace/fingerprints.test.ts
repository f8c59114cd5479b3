import { describe, expect, it } from 'vitest'
import { KeyFingerprintSet } from '../../../../src/data/keyspace/fingerprints.js'

describe('KeyFingerprintSet', () => {
  it('tells repeated keys from new ones, per db, across growth', () => {
    const set = new KeyFingerprintSet(16)
    const keys = Array.from({ length: 50_000 }, (_, i) => Buffer.from(`key:${i}`))
    for (const k of keys) expect(set.add(0, k)).toBe(true)
    for (const k of keys.slice(0, 1000)) expect(set.add(0, k)).toBe(false)
    expect(set.add(1, keys[0])).toBe(true)
    const framed = Buffer.concat([Buffer.from('..'), keys[5], Buffer.from('..')])
    expect(set.add(0, framed, 2, 2 + keys[5].length)).toBe(false)
    expect(set.add(0, Buffer.alloc(0))).toBe(true)
    expect(set.add(0, Buffer.alloc(0))).toBe(false)
    expect(set.size).toBe(50_002)
  })
})
