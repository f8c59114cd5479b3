import { randomBytes } from 'node:crypto'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { Crc64, crc64Kernel, crc64, crc64Combine, writeCrc64sLE } from '../../../src/data/crc64.js'

/** The definition, bit by bit: reflected, polynomial 0xad93d23594c935a9, init 0, no final xor. */
function crcReference(b: Uint8Array): bigint {
  let crc = 0n
  for (const x of b) {
    crc ^= BigInt(x)
    for (let k = 0; k < 8; k++) crc = crc & 1n ? (crc >> 1n) ^ 0x95ac9329ac4bc9b5n : crc >> 1n
  }
  return crc
}

describe('crc64 (Redis RDB / DUMP checksum)', () => {
  it('runs the WebAssembly kernel (its self-check passed), not the JavaScript fallback', () => {
    expect(crc64Kernel()).toBe(process.env.KVTOP_CRC64_JS ? 'javascript' : 'webassembly')
  })

  describe('loads the WebAssembly kernel on first use, not at import (start-up of commands that need none)', () => {
    afterEach(() => {
      vi.unstubAllGlobals()
      vi.resetModules()
    })

    it.skipIf(process.env.KVTOP_CRC64_JS)('compiles it at the first CRC of 1 KiB, and once', async () => {
      const api = (globalThis as unknown as { WebAssembly: { Module: new (b: Uint8Array) => object } })
        .WebAssembly
      let compiled = 0
      class CountingModule extends api.Module {
        constructor(bytes: Uint8Array) {
          compiled++
          super(bytes)
        }
      }
      vi.stubGlobal('WebAssembly', Object.assign(Object.create(api), { Module: CountingModule }))
      vi.resetModules()
      const fresh = await import('../../../src/data/crc64.js')
      const small = randomBytes(1023)
      expect(fresh.crc64(small)).toBe(crc64(small))
      expect(compiled).toBe(0)
      const large = randomBytes(4096)
      expect(fresh.crc64(large)).toBe(crc64(large))
      expect(fresh.crc64(large)).toBe(crc64(large))
      expect(compiled).toBe(1)
      expect(fresh.crc64Kernel()).toBe('webassembly')
    })
  })

  it.skipIf(process.env.KVTOP_CRC64_JS)(
    'fills the kernel tables byte order by byte order: a big-endian host gets them written little-endian one by one',
    async () => {
      vi.resetModules()
      vi.doMock('node:os', async (original) => ({ ...(await original<object>()), endianness: () => 'BE' }))
      try {
        const fresh = await import('../../../src/data/crc64.js')
        // Its self-check (the check value, then every loop against the tables) passed.
        expect(fresh.crc64Kernel()).toBe('webassembly')
        const b = randomBytes(5000)
        expect(fresh.crc64(b)).toBe(crcReference(b))
      } finally {
        vi.doUnmock('node:os')
        vi.resetModules()
      }
    },
  )

  it('has the Jones check value', () => {
    expect(crc64(Buffer.from('123456789')).toString(16)).toBe('e9c6d914c4b8d9ca')
  })

  it.each([0, 1, 7, 8, 9, 47, 48, 63, 64, 65, 511, 512, 513, 1023, 1024, 1025, 4096, 200_000, 700_000])(
    'matches the bit-by-bit definition, JS and WebAssembly paths alike (%i bytes)',
    (n) => {
      const b = randomBytes(n)
      const want = n <= 4096 ? crcReference(b) : undefined
      const wasm = new Crc64().update(b).bigint
      const js = new Crc64().updateJs(b).bigint
      expect(js).toBe(wasm)
      if (want !== undefined) expect(wasm).toBe(want)
    },
  )

  it('is incremental over ranges and stores little-endian', () => {
    const b = randomBytes(10_000)
    const c = new Crc64()
    for (let i = 0; i < b.length; i += 333) c.update(b, i, Math.min(b.length, i + 333))
    expect(c.bigint).toBe(crc64(b))
    const le = c.toBufferLE()
    expect(le.readBigUInt64LE(0)).toBe(c.bigint)
    expect(c.matchesLE(le, 0)).toBe(true)
    // At an offset, both halves with their top bit set, the bytes around left alone.
    const top = new Crc64(0x80000000_ffffffffn)
    const at = Buffer.alloc(13, 0xaa)
    top.writeLE(at, 3)
    expect(at.readBigUInt64LE(3)).toBe(0x80000000_ffffffffn)
    expect([...at.subarray(0, 3), ...at.subarray(11)]).toEqual([0xaa, 0xaa, 0xaa, 0xaa, 0xaa])
  })

  describe('writeCrc64sLE: the CRCs of many ranges at once, each stored after its range', () => {
    /** Ranges of the given lengths, each after `gap` bytes and followed by its 8 CRC bytes, in random data. */
    function layout(lengths: number[], gap = 37): { buf: Buffer; ranges: number[] } {
      const ranges: number[] = []
      let at = 0
      for (const n of lengths) {
        at += gap
        ranges.push(at, at + n)
        at += n + 8
      }
      return { buf: randomBytes(at + gap), ranges }
    }

    /** What writeCrc64sLE must leave: each range's CRC after it, every other byte as it was. */
    function expected(buf: Buffer, ranges: number[]): Buffer {
      const want = Buffer.from(buf)
      for (let k = 0; k < ranges.length; k += 2)
        new Crc64().updateJs(buf, ranges[k], ranges[k + 1]).writeLE(want, ranges[k + 1])
      return want
    }

    it.each([
      ['one short range', [150]],
      [
        'many short ranges over several windows (192 KiB each)',
        Array.from({ length: 3000 }, (_, i) => 1 + ((i * 97) % 400)),
      ],
      ['empty ranges among them', [0, 5, 0, 0, 300, 0]],
      ['a range longer than a window between short ones', [100, 200, 250_000, 60, 70, 80]],
      ['ranges that end exactly at a window edge', [196_608 - 37 - 45, 45, 100]],
    ])('%s', (_name, lengths) => {
      const { buf, ranges } = layout(lengths as number[])
      const want = expected(buf, ranges)
      writeCrc64sLE(buf, ranges)
      expect(buf.equals(want)).toBe(true)
    })

    it('the JavaScript loop alone gives the same bytes (no WebAssembly)', async () => {
      const { buf, ranges } = layout(Array.from({ length: 500 }, (_, i) => (i * 53) % 700))
      const want = expected(buf, ranges)
      vi.stubGlobal('WebAssembly', undefined)
      vi.resetModules()
      try {
        const fresh = await import('../../../src/data/crc64.js')
        expect(fresh.crc64Kernel()).toBe('javascript')
        fresh.writeCrc64sLE(buf, ranges)
        expect(buf.equals(want)).toBe(true)
      } finally {
        vi.unstubAllGlobals()
        vi.resetModules()
      }
    })
  })

  it('combines: crc(A||B) from crc(A), crc(B), |B|', () => {
    const a = randomBytes(1234)
    const b = randomBytes(98765)
    expect(crc64Combine(crc64(a), crc64(b), b.length)).toBe(crc64(Buffer.concat([a, b])))
    expect(crc64Combine(crc64(a), 0n, 0)).toBe(crc64(a))
  })
})
