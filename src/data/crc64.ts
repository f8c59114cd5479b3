/**
 * CRC-64 as Redis computes it for RDB files and DUMP payloads ("Jones" polynomial
 * 0xad93d23594c935a9, reflected input and output, initial value 0, no final xor). The check value is
 * crc64("123456789") = 0xe9c6d914c4b8d9ca.
 *
 * The 64-bit state is kept as two unsigned 32-bit halves (BigInt is far too slow for bulk data) and
 * updated eight bytes at a time with slicing-by-8 tables. The state is linear over GF(2), which
 * `crc64Combine` uses to patch a header after the rest of a file was checksummed.
 */

import { endianness } from 'node:os'

/** The reflected polynomial, as hi/lo halves of 0x95ac9329ac4bc9b5. */
const POLY_HI = 0x95ac9329 | 0
const POLY_LO = 0xac4bc9b5 | 0

/**
 * Slicing tables, interleaved: TABLE[(k * 256 + i) * 2] is the low half and [... + 1] the high half
 * of table k for byte value i (table k = table 0 followed by k zero bytes). Sixteen tables: the
 * JavaScript loop slices by 8, WebAssembly by 16.
 */
const TABLE = new Int32Array(16 * 256 * 2)

for (let i = 0; i < 256; i++) {
  let lo = i
  let hi = 0
  for (let bit = 0; bit < 8; bit++) {
    const carry = lo & 1
    lo = (lo >>> 1) | (hi << 31)
    hi = hi >>> 1
    if (carry) {
      lo ^= POLY_LO
      hi ^= POLY_HI
    }
  }
  TABLE[2 * i] = lo
  TABLE[2 * i + 1] = hi
}
for (let k = 1; k < 16; k++) {
  for (let i = 0; i < 256; i++) {
    const prevLo = TABLE[2 * ((k - 1) * 256 + i)]
    const prevHi = TABLE[2 * ((k - 1) * 256 + i) + 1]
    const idx = (prevLo & 0xff) << 1
    TABLE[2 * (k * 256 + i)] = ((prevLo >>> 8) | (prevHi << 24)) ^ TABLE[idx]
    TABLE[2 * (k * 256 + i) + 1] = (prevHi >>> 8) ^ TABLE[idx + 1]
  }
}

// --- WebAssembly kernel -------------------------------------------------------------------------
//
// The same table loop over 64-bit integers, sixteen bytes a turn (slicing-by-16: two loads, sixteen
// independent lookups), runs 4-6x faster as WebAssembly than the JavaScript loop on 32-bit halves.
// The module is tiny and assembled here, byte by byte, so that it can be read: crc(lo, hi, ptr,
// len) updates the CRC (lo/hi halves) over memory[DATA + ptr ..+len) and stores the result at
// RESULT. Tables sit at address 0 (table k at k * 2048). Should WebAssembly be unavailable, the
// JavaScript loop above is used.

const WASM_RESULT = 16 * 2048
const WASM_DATA = WASM_RESULT + 8
const WASM_CHUNK = 3 * 65536

function uleb(n: number): number[] {
  const out: number[] = []
  do {
    let b = n & 0x7f
    n >>>= 7
    if (n) b |= 0x80
    out.push(b)
  } while (n)
  return out
}

function sleb(n: number): number[] {
  const out: number[] = []
  for (;;) {
    const b = n & 0x7f
    n >>= 7
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b)
      return out
    }
    out.push(b | 0x80)
  }
}

function assembleCrcModule(): Uint8Array {
  const LO = 0
  const HI = 1
  const PTR = 2
  const LEN = 3
  const CRC = 4
  const X = 5
  const Y = 6
  const END = 7
  const get = (i: number) => [0x20, i]
  const set = (i: number) => [0x21, i]
  const i32 = (n: number) => [0x41, ...sleb(n)]
  const i64 = (n: number) => [0x42, ...sleb(n)]
  const load64 = (offset: number) => [0x29, 3, ...uleb(offset)]
  const code: number[] = []
  const emit = (...parts: (number | number[])[]) => {
    for (const p of parts) {
      if (typeof p === 'number') code.push(p)
      else code.push(...p)
    }
  }
  // crc = lo | hi << 32; end = ptr + len
  emit(get(LO), 0xad, get(HI), 0xad, i64(32), 0x86, 0x84, set(CRC))
  emit(get(PTR), get(LEN), 0x6a, set(END))
  /** XOR of table[first - j][(local >> 8j) & 255] for j = 0..7, onto the stack (after `xorFirst` more). */
  const lookups = (local: number, first: number, xorFirst: boolean) => {
    for (let j = 0; j < 8; j++) {
      emit(get(local))
      if (j) emit(i64(8 * j), 0x88)
      emit(0xa7)
      if (j < 7) emit(i32(255), 0x71)
      emit(i32(3), 0x74, load64((first - j) * 2048))
      if (j || xorFirst) emit(0x85)
    }
  }
  // while (ptr + 16 <= end): x = crc ^ load64(ptr); y = load64(ptr + 8);
  //   crc = T15[x & 255] ^ ... ^ T8[x >> 56] ^ T7[y & 255] ^ ... ^ T0[y >> 56]
  emit(0x02, 0x40, 0x03, 0x40)
  emit(get(PTR), i32(16), 0x6a, get(END), 0x4b, 0x0d, 1)
  emit(get(CRC), get(PTR), load64(WASM_DATA), 0x85, set(X))
  emit(get(PTR), load64(WASM_DATA + 8), set(Y))
  lookups(X, 15, false)
  lookups(Y, 7, true)
  emit(set(CRC), get(PTR), i32(16), 0x6a, set(PTR), 0x0c, 0, 0x0b, 0x0b)
  // then 8 bytes: x = crc ^ load64(ptr); crc = T7[x & 255] ^ ... ^ T0[x >> 56]
  emit(0x02, 0x40, 0x03, 0x40)
  emit(get(PTR), i32(8), 0x6a, get(END), 0x4b, 0x0d, 1)
  emit(get(CRC), get(PTR), load64(WASM_DATA), 0x85, set(X))
  lookups(X, 7, false)
  emit(set(CRC), get(PTR), i32(8), 0x6a, set(PTR), 0x0c, 0, 0x0b, 0x0b)
  // while (ptr < end): crc = T0[(crc ^ byte) & 255] ^ (crc >> 8)
  emit(0x02, 0x40, 0x03, 0x40)
  emit(get(PTR), get(END), 0x4f, 0x0d, 1)
  emit(get(CRC), 0xa7, get(PTR), [0x2d, 0, ...uleb(WASM_DATA)], 0x73, i32(255), 0x71, i32(3), 0x74, load64(0))
  emit(get(CRC), i64(8), 0x88, 0x85, set(CRC))
  emit(get(PTR), i32(1), 0x6a, set(PTR), 0x0c, 0, 0x0b, 0x0b)
  // store the result
  emit(i32(0), get(CRC), [0x37, 3, ...uleb(WASM_RESULT)], 0x0b)
  const body = [2, 3, 0x7e, 1, 0x7f, ...code]
  const section = (id: number, content: number[]) => [id, ...uleb(content.length), ...content]
  const name = (s: string) => [...uleb(s.length), ...Buffer.from(s, 'latin1')]
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, [1, 0x60, 4, 0x7f, 0x7f, 0x7f, 0x7f, 0]),
    ...section(3, [1, 0]),
    ...section(5, [1, 0, 4]),
    ...section(7, [2, ...name('crc'), 0, 0, ...name('mem'), 2, 0]),
    ...section(10, [1, ...uleb(body.length), ...body]),
  ])
}

interface WasmKernel {
  run: (lo: number, hi: number, ptr: number, len: number) => void
  bytes: Buffer
}

/** The little of the WebAssembly API used here (the project's TypeScript lib does not declare it). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object
  Instance: new (module: object) => { exports: Record<string, unknown> }
}

function loadWasm(): WasmKernel | undefined {
  const api = (globalThis as { WebAssembly?: WasmApi }).WebAssembly
  if (!api || process.env.KVTOP_CRC64_JS) return undefined
  try {
    const instance = new api.Instance(new api.Module(assembleCrcModule()))
    const memory = instance.exports.mem as { buffer: ArrayBuffer }
    const bytes = Buffer.from(memory.buffer)
    // The tables as WebAssembly reads them: each entry's low half, then its high half, both
    // little-endian, which is TABLE's own layout on a little-endian host: one copy there (8,192
    // writeInt32LE calls took 7-9 ms of the first CRC of a process).
    if (endianness() === 'LE') new Int32Array(memory.buffer, 0, TABLE.length).set(TABLE)
    else for (let i = 0; i < TABLE.length; i++) bytes.writeInt32LE(TABLE[i], i * 4)
    const kernel: WasmKernel = {
      run: instance.exports.crc as WasmKernel['run'],
      bytes,
    }
    // Self-check against the check value before trusting it.
    bytes.write('123456789', WASM_DATA, 'latin1')
    kernel.run(0, 0, 0, 9)
    if (
      bytes.readUInt32LE(WASM_RESULT) !== 0xc4b8d9ca ||
      bytes.readUInt32LE(WASM_RESULT + 4) !== 0xe9c6d914
    ) {
      return undefined
    }
    // ... and over 61 bytes (each of its loops), against the tables a byte at a time.
    let lo = 0
    let hi = 0
    for (let i = 0; i < 61; i++) {
      const byte = (i * 37 + 11) & 0xff
      bytes[WASM_DATA + i] = byte
      const idx = ((lo ^ byte) & 0xff) << 1
      lo = ((lo >>> 8) | (hi << 24)) ^ TABLE[idx]
      hi = (hi >>> 8) ^ TABLE[idx + 1]
    }
    kernel.run(0, 0, 0, 61)
    if (bytes.readInt32LE(WASM_RESULT) !== (lo | 0) || bytes.readInt32LE(WASM_RESULT + 4) !== (hi | 0))
      return undefined
    return kernel
  } catch {
    return undefined
  }
}

/**
 * The kernel once its first use has tried to load it: null when it is unavailable. Compiling and
 * checking it takes tens of milliseconds of start-up, which commands that only checksum small
 * inputs (a tiny .rdb, no DUMP payload of 1 KiB) need not pay: loaded on first use, not at import.
 */
let wasm: WasmKernel | null | undefined

function wasmKernel(): WasmKernel | null {
  if (wasm === undefined) wasm = loadWasm() ?? null
  return wasm
}

/** Which loop computes CRCs of 1 KiB and more: 'javascript' only when WebAssembly failed to load or its self-check. */
export function crc64Kernel(): 'webassembly' | 'javascript' {
  return wasmKernel() ? 'webassembly' : 'javascript'
}
/**
 * Below this many bytes the JavaScript loop wins over copying into WebAssembly memory (Node 20,
 * x64: a 150-byte DUMP payload takes ~200 ns in JavaScript, ~340 ns copied and run in WebAssembly;
 * the two meet near 900 bytes).
 */
const WASM_MIN = 1024

/** A running CRC-64. `update` any number of times; read `lo`/`hi` or `bigint`. */
export class Crc64 {
  lo = 0
  hi = 0

  constructor(initial?: bigint) {
    if (initial !== undefined) {
      this.lo = Number(initial & 0xffffffffn)
      this.hi = Number((initial >> 32n) & 0xffffffffn)
    }
  }

  update(buf: Uint8Array, start = 0, end = buf.length): this {
    const kernel = end - start >= WASM_MIN ? wasmKernel() : null
    if (kernel) {
      const { run, bytes } = kernel
      for (let i = start; i < end; i += WASM_CHUNK) {
        const n = Math.min(WASM_CHUNK, end - i)
        if (n <= 512) {
          // A loop beats making a view for set() on short inputs (DUMP payloads).
          for (let j = 0; j < n; j++) bytes[WASM_DATA + j] = buf[i + j]
        } else bytes.set(i === 0 && n === buf.length ? buf : buf.subarray(i, i + n), WASM_DATA)
        run(this.lo, this.hi, 0, n)
        this.lo = bytes.readUInt32LE(WASM_RESULT)
        this.hi = bytes.readUInt32LE(WASM_RESULT + 4)
      }
      return this
    }
    return this.updateJs(buf, start, end)
  }

  /** The JavaScript loop (also the fallback when WebAssembly is unavailable). */
  updateJs(buf: Uint8Array, start = 0, end = buf.length): this {
    let lo = this.lo | 0
    let hi = this.hi | 0
    let i = start
    const T = TABLE
    // Eight bytes at a time.
    const fastEnd = end - 7
    while (i < fastEnd) {
      const a = lo ^ (buf[i] | (buf[i + 1] << 8) | (buf[i + 2] << 16) | (buf[i + 3] << 24))
      const b = hi ^ (buf[i + 4] | (buf[i + 5] << 8) | (buf[i + 6] << 16) | (buf[i + 7] << 24))
      const i7 = (1792 + (a & 0xff)) << 1
      const i6 = (1536 + ((a >>> 8) & 0xff)) << 1
      const i5 = (1280 + ((a >>> 16) & 0xff)) << 1
      const i4 = (1024 + (a >>> 24)) << 1
      const i3 = (768 + (b & 0xff)) << 1
      const i2 = (512 + ((b >>> 8) & 0xff)) << 1
      const i1 = (256 + ((b >>> 16) & 0xff)) << 1
      const i0 = (b >>> 24) << 1
      lo = T[i7] ^ T[i6] ^ T[i5] ^ T[i4] ^ T[i3] ^ T[i2] ^ T[i1] ^ T[i0]
      hi = T[i7 + 1] ^ T[i6 + 1] ^ T[i5 + 1] ^ T[i4 + 1] ^ T[i3 + 1] ^ T[i2 + 1] ^ T[i1 + 1] ^ T[i0 + 1]
      i += 8
    }
    while (i < end) {
      const idx = ((lo ^ buf[i]) & 0xff) << 1
      lo = ((lo >>> 8) | (hi << 24)) ^ T[idx]
      hi = (hi >>> 8) ^ T[idx + 1]
      i++
    }
    this.lo = lo >>> 0
    this.hi = hi >>> 0
    return this
  }

  get bigint(): bigint {
    return (BigInt(this.hi) << 32n) | BigInt(this.lo)
  }

  /** The 8 bytes Redis stores after the data: the CRC little-endian. */
  writeLE(target: Buffer, offset: number): void {
    // Byte by byte: writeUInt32LE checks its arguments first, and this runs once per DUMP payload.
    const { lo, hi } = this
    target[offset] = lo
    target[offset + 1] = lo >>> 8
    target[offset + 2] = lo >>> 16
    target[offset + 3] = lo >>> 24
    target[offset + 4] = hi
    target[offset + 5] = hi >>> 8
    target[offset + 6] = hi >>> 16
    target[offset + 7] = hi >>> 24
  }

  toBufferLE(): Buffer {
    const b = Buffer.allocUnsafe(8)
    this.writeLE(b, 0)
    return b
  }

  /** True when the 8 bytes at `offset` hold this CRC (little-endian). */
  matchesLE(source: Buffer, offset: number): boolean {
    return source.readUInt32LE(offset) === this.lo && source.readUInt32LE(offset + 4) === this.hi
  }
}

/**
 * The CRC-64 of each range buf[start..end) of `ranges` (flat start, end pairs, ascending and not
 * overlapping), written little-endian at buf[end..end + 8): the DUMP payloads of a batch of
 * RESTOREs at once. One by one, a short payload costs more to copy into WebAssembly memory than
 * WebAssembly saves on it (WASM_MIN); copied a window of many payloads at a time, it is checksummed
 * at the kernel's speed too (Node 20, x64: half the CPU of the JavaScript loop at 60-200 bytes).
 */
export function writeCrc64sLE(buf: Buffer, ranges: readonly number[]): void {
  const kernel = wasmKernel()
  let i = 0
  while (i < ranges.length) {
    const windowStart = ranges[i]
    let j = i
    while (kernel && j < ranges.length && ranges[j + 1] - windowStart <= WASM_CHUNK) j += 2
    if (!kernel || j - i < 4) {
      // No kernel, or a range alone in its window (a long one): as a single input.
      const crc = RANGE_CRC
      crc.lo = crc.hi = 0
      crc.update(buf, ranges[i], ranges[i + 1]).writeLE(buf, ranges[i + 1])
      i += 2
      continue
    }
    const { run, bytes } = kernel
    bytes.set(buf.subarray(windowStart, ranges[j - 1]), WASM_DATA)
    for (let k = i; k < j; k += 2) {
      run(0, 0, ranges[k] - windowStart, ranges[k + 1] - ranges[k])
      const at = ranges[k + 1]
      for (let b = 0; b < 8; b++) buf[at + b] = bytes[WASM_RESULT + b]
    }
    i = j
  }
}

const RANGE_CRC = new Crc64()

/** CRC-64 of a buffer (or a range of it) as a BigInt. */
export function crc64(buf: Uint8Array, start = 0, end = buf.length): bigint {
  return new Crc64().update(buf, start, end).bigint
}

// --- combination (GF(2) matrices over 64-bit vectors, as zlib's crc32_combine) ---------------

const MASK64 = (1n << 64n) - 1n

function gf2Times(mat: bigint[], vec: bigint): bigint {
  let sum = 0n
  let i = 0
  while (vec) {
    if (vec & 1n) sum ^= mat[i]
    vec >>= 1n
    i++
  }
  return sum
}

function gf2Square(square: bigint[], mat: bigint[]): void {
  for (let n = 0; n < 64; n++) square[n] = gf2Times(mat, mat[n])
}

/**
 * The CRC of A||B from crc(A), crc(B) and the length of B. With crcB = 0 this shifts crc(A)
 * through `lenB` zero bytes, which is how a byte change early in a stream is folded into its CRC:
 * crc(A') = crc(A) ^ combine(crc(delta), 0, bytes after delta).
 */
export function crc64Combine(crcA: bigint, crcB: bigint, lenB: number): bigint {
  if (lenB <= 0) return (crcA ^ crcB) & MASK64
  const even: bigint[] = new Array(64)
  const odd: bigint[] = new Array(64)
  // The operator for one zero bit.
  odd[0] = 0x95ac9329ac4bc9b5n
  let row = 1n
  for (let n = 1; n < 64; n++) {
    odd[n] = row
    row <<= 1n
  }
  gf2Square(even, odd) // two zero bits
  gf2Square(odd, even) // four zero bits
  let crc = crcA & MASK64
  let len = lenB
  do {
    gf2Square(even, odd) // first pass: one zero byte
    if (len & 1) crc = gf2Times(even, crc)
    len = Math.floor(len / 2)
    if (len === 0) break
    gf2Square(odd, even)
    if (len & 1) crc = gf2Times(odd, crc)
    len = Math.floor(len / 2)
  } while (len !== 0)
  return (crc ^ crcB) & MASK64
}
