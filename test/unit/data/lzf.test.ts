import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { lzfCompress, lzfDecompress, LzfError } from '../../../src/data/lzf.js'

describe('lzf', () => {
  it('round-trips compressible data and refuses to grow incompressible data', () => {
    const text = Buffer.from('abcabcabcabc-hello-hello-hello-'.repeat(50))
    const c = lzfCompress(text)!
    expect(c.length).toBeLessThan(text.length)
    expect(lzfDecompress(c, text.length).equals(text)).toBe(true)
    expect(lzfCompress(randomBytes(100))).toBeUndefined()
    const runs = Buffer.alloc(5000, 7)
    expect(lzfDecompress(lzfCompress(runs)!, runs.length).equals(runs)).toBe(true)
  })

  it('names the offset of corrupt input', () => {
    const text = Buffer.from('zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz-abc-abc-abc-abc')
    const c = lzfCompress(text)!
    expect(() => lzfDecompress(c, text.length - 1)).toThrow(LzfError)
    expect(() => lzfDecompress(c.subarray(0, c.length - 2), text.length)).toThrow(/compressed data|expected/)
    // a back-reference before the start of the output
    expect(() => lzfDecompress(Buffer.from([0x20, 0x10]), 3)).toThrow(/before the start/)
  })
})
