/**
 * Small byte helpers for the hot paths. Buffer#copy and Buffer#write cost a native call and (for a
 * sub-range) a new view object each; for the short keys and values that make up most datasets a
 * plain loop is several times cheaper.
 */

/** Copy src[srcStart..srcEnd) to dst at dstStart; returns the number of bytes copied. */
export function copyBytes(
  src: Uint8Array,
  srcStart: number,
  srcEnd: number,
  dst: Uint8Array,
  dstStart: number,
): number {
  const n = srcEnd - srcStart
  if (n > 64) {
    // A plain Uint8Array view: a Buffer's subarray would construct a Buffer (a class) for it.
    dst.set(new Uint8Array(src.buffer, src.byteOffset + srcStart, n), dstStart)
    return n
  }
  for (let i = 0; i < n; i++) dst[dstStart + i] = src[srcStart + i]
  return n
}

/** Write a non-negative integer as ASCII decimal at `at`; returns the number of bytes written. */
export function writeDecimal(dst: Uint8Array, at: number, value: number): number {
  if (value < 10) {
    dst[at] = 0x30 + value
    return 1
  }
  if (value > 0x7fffffff) {
    // Beyond 32-bit integer arithmetic (ms timestamps): the digits above the last nine, then those
    // nine, zero-padded; no string made.
    const high = Math.floor(value / 1e9)
    const n = writeDecimal(dst, at, high)
    writeDigits(dst, at + n, value - high * 1e9, 9)
    return n + 9
  }
  const v = value | 0
  let digits = 2
  for (let bound = 100; digits < 10 && v >= bound; bound *= 10) digits++
  writeDigits(dst, at, v, digits)
  return digits
}

/** `count` decimal digits of v (below 2^31), zero-padded, at `at`: integer divisions only. */
function writeDigits(dst: Uint8Array, at: number, v: number, count: number): void {
  for (let i = at + count - 1; i >= at; i--) {
    const q = (v / 10) | 0
    dst[i] = 0x30 + v - q * 10
    v = q
  }
}

/** Write a signed integer as ASCII decimal (ms timestamps, TTLs); returns the bytes written. */
export function writeSignedDecimal(dst: Uint8Array, at: number, value: number): number {
  if (value < 0) {
    dst[at] = 0x2d
    return 1 + writeDecimal(dst, at + 1, -value)
  }
  return writeDecimal(dst, at, value)
}

/** a[aStart..aEnd) and b[bStart..bEnd) hold the same bytes (short ranges in a loop, long ones natively). */
export function equalBytes(
  a: Buffer,
  aStart: number,
  aEnd: number,
  b: Buffer,
  bStart: number,
  bEnd: number,
): boolean {
  const n = aEnd - aStart
  if (n !== bEnd - bStart) return false
  if (n > 64) return a.compare(b, bStart, bEnd, aStart, aEnd) === 0
  for (let i = 0; i < n; i++) if (a[aStart + i] !== b[bStart + i]) return false
  return true
}
