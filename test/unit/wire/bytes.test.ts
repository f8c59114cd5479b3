import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { copyBytes, writeDecimal, writeSignedDecimal } from '../../../src/wire/bytes.js'

describe('byte helpers', () => {
  it('copy ranges and write decimals', () => {
    const src = randomBytes(300)
    const dst = Buffer.alloc(400)
    expect(copyBytes(src, 10, 40, dst, 5)).toBe(30)
    expect(dst.subarray(5, 35).equals(src.subarray(10, 40))).toBe(true)
    expect(copyBytes(src, 0, 300, dst, 100)).toBe(300)
    expect(dst.subarray(100).equals(src)).toBe(true)
    // Sources that are views into a larger buffer (a pooled Buffer, a subarray, a plain Uint8Array).
    const whole = randomBytes(1000)
    for (const view of [whole.subarray(333, 733), new Uint8Array(whole.buffer, whole.byteOffset + 7, 400)]) {
      const out = Buffer.alloc(400)
      expect(copyBytes(view, 50, 350, out, 20)).toBe(300)
      expect(out.subarray(20, 320).equals(Buffer.from(view.subarray(50, 350)))).toBe(true)
      expect(out.subarray(0, 20).equals(Buffer.alloc(20))).toBe(true)
    }
    for (const n of [0, 9, 10, 99, 100, 12345, 4294967295, 4294967296, 1795334168123]) {
      const b = Buffer.alloc(20)
      expect(b.toString('latin1', 0, writeDecimal(b, 0, n))).toBe(String(n))
    }
    const b = Buffer.alloc(20)
    expect(b.toString('latin1', 0, writeSignedDecimal(b, 0, -1234))).toBe('-1234')
  })

  it('write every integer as String() does: each digit count, both sides of 2^31 and of 10^9 steps, up to 2^53', () => {
    const edges = [2 ** 31 - 1, 2 ** 31, 1e9 - 1, 1e9, 1e9 + 1, 1e12 + 7, 1e18 / 1e3, Number.MAX_SAFE_INTEGER]
    for (let p = 1; p <= 15; p++) edges.push(10 ** p - 1, 10 ** p, 10 ** p + 1)
    for (let i = 0; i < 2000; i++) edges.push(Math.floor(Math.random() * 10 ** (1 + (i % 16))))
    const out = Buffer.alloc(40, 0x2e)
    for (const n of edges) {
      const len = writeDecimal(out, 3, n)
      expect(out.toString('latin1', 3, 3 + len)).toBe(String(n))
      expect(out[2]).toBe(0x2e)
    }
  })
})
