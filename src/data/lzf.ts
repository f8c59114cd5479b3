import { constants as bufferConstants } from 'node:buffer'

/**
 * LZF decompression (liblzf's format, as Redis uses it for RDB strings and compressed quicklist
 * nodes). A control byte below 32 starts a literal run of ctrl+1 bytes; otherwise the top three
 * bits are a back-reference length (7 = one more length byte follows) and the low five bits plus the
 * next byte an offset back into the output.
 */
export class LzfError extends Error {
  constructor(
    message: string,
    /** Offset inside the compressed input. */
    readonly at: number,
  ) {
    super(message)
    this.name = 'LzfError'
  }
}

/**
 * The most output LZF can produce from `n` compressed bytes: a three-byte back-reference copies at
 * most 264 bytes, so no stream expands more than 88 times. A declared length beyond that is corrupt.
 */
export function lzfMaxOutput(n: number): number {
  return n * 88
}

/** Largest output ever allocated (what one Buffer can hold). */
const MAX_OUTPUT = Math.min(bufferConstants.MAX_LENGTH, 2 ** 32)

/** Above this declared size, the stream is checked (without output) before the output is allocated. */
const CHECK_FIRST = 64 * 1024

/**
 * Walk an LZF stream without producing its output: throws an LzfError unless input[start..end)
 * decompresses to exactly `expectedLength` bytes. Time is linear in the compressed size (literal
 * runs are stepped over, back-references only checked), nothing is allocated: this is how a
 * declared length is verified before memory is spent on it, and how values are validated without
 * being decoded. Its checks are lzfDecompress's, kept as a loop of their own: one loop with an
 * optional output measured about a quarter slower at decompressing.
 */
export function lzfCheck(input: Uint8Array, expectedLength: number, start = 0, end = input.length): void {
  if (expectedLength > lzfMaxOutput(end - start))
    throw new LzfError(
      `declared length ${expectedLength} is more than ${end - start} compressed bytes can hold`,
      start,
    )
  let ip = start
  let op = 0
  while (ip < end) {
    const ctrl = input[ip++]
    if (ctrl < 32) {
      const len = ctrl + 1
      if (op + len > expectedLength) throw new LzfError('literal run overflows the declared length', ip - 1)
      if (ip + len > end) throw new LzfError('literal run past the end of the compressed data', ip - 1)
      ip += len
      op += len
    } else {
      let len = ctrl >> 5
      let ref = op - ((ctrl & 0x1f) << 8) - 1
      if (len === 7) {
        if (ip >= end) throw new LzfError('back-reference length past the end of the compressed data', ip)
        len += input[ip++]
      }
      if (ip >= end) throw new LzfError('back-reference offset past the end of the compressed data', ip)
      ref -= input[ip++]
      len += 2
      if (op + len > expectedLength) throw new LzfError('back-reference overflows the declared length', ip)
      if (ref < 0) throw new LzfError('back-reference before the start of the output', ip)
      op += len
    }
  }
  if (op !== expectedLength) {
    throw new LzfError(`decompressed to ${op} bytes, expected ${expectedLength}`, ip)
  }
}

/**
 * Decompress input[start..end) into a new buffer of `expectedLength` bytes. The declared length is
 * never trusted for the allocation: beyond what the input could expand to it is refused at once,
 * and a large one is verified by a pass over the stream (lzfCheck) first.
 */
export function lzfDecompress(
  input: Uint8Array,
  expectedLength: number,
  start = 0,
  end = input.length,
): Buffer {
  if (!Number.isSafeInteger(expectedLength) || expectedLength < 0)
    throw new LzfError(`invalid declared length ${expectedLength}`, start)
  if (expectedLength > CHECK_FIRST || expectedLength > lzfMaxOutput(end - start)) {
    lzfCheck(input, expectedLength, start, end)
    if (expectedLength > MAX_OUTPUT)
      throw new LzfError(`declared length ${expectedLength} is more than one buffer can hold`, start)
  }
  const out = Buffer.allocUnsafe(expectedLength)
  let ip = start
  let op = 0
  while (ip < end) {
    const ctrl = input[ip++]
    if (ctrl < 32) {
      const len = ctrl + 1
      if (op + len > expectedLength) throw new LzfError('literal run overflows the declared length', ip - 1)
      if (ip + len > end) throw new LzfError('literal run past the end of the compressed data', ip - 1)
      for (let i = 0; i < len; i++) out[op++] = input[ip++]
    } else {
      let len = ctrl >> 5
      let ref = op - ((ctrl & 0x1f) << 8) - 1
      if (len === 7) {
        if (ip >= end) throw new LzfError('back-reference length past the end of the compressed data', ip)
        len += input[ip++]
      }
      if (ip >= end) throw new LzfError('back-reference offset past the end of the compressed data', ip)
      ref -= input[ip++]
      len += 2
      if (op + len > expectedLength) throw new LzfError('back-reference overflows the declared length', ip)
      if (ref < 0) throw new LzfError('back-reference before the start of the output', ip)
      // Byte by byte: the source may overlap what is being written (run-length style).
      for (let i = 0; i < len; i++) out[op++] = out[ref++]
    }
  }
  if (op !== expectedLength) {
    throw new LzfError(`decompressed to ${op} bytes, expected ${expectedLength}`, ip)
  }
  return out
}

/**
 * LZF compression (liblzf's algorithm with a 16-bit hash table). Used by tests and fixture
 * generators to produce compressed strings the way Redis does; returns undefined when the result
 * would not be smaller than the input (Redis then stores the string uncompressed).
 */
export function lzfCompress(input: Uint8Array): Buffer | undefined {
  const inLen = input.length
  if (inLen < 4) return undefined
  const HLOG = 16
  const htab = new Int32Array(1 << HLOG).fill(-1)
  const out = Buffer.allocUnsafe(inLen + Math.ceil(inLen / 32) + 4)
  const outEnd = inLen - 1 // must save at least one byte
  let ip = 0
  let op = 1 // leave room for the first literal length
  let lit = 0
  const hash = (p: number) => {
    const v = (input[p] << 16) | (input[p + 1] << 8) | input[p + 2]
    return ((v * 2654435761) >>> (32 - HLOG)) & ((1 << HLOG) - 1)
  }
  while (ip < inLen - 2) {
    const h = hash(ip)
    const ref = htab[h]
    htab[h] = ip
    const off = ip - ref - 1
    if (
      ref >= 0 &&
      off < 8192 &&
      ip + 4 < inLen &&
      input[ref] === input[ip] &&
      input[ref + 1] === input[ip + 1] &&
      input[ref + 2] === input[ip + 2]
    ) {
      let len = 2
      const maxLen = Math.min(inLen - ip - len, 264)
      do len++
      while (len < maxLen && input[ref + len] === input[ip + len])
      // close the literal run
      if (lit) out[op - lit - 1] = lit - 1
      else op--
      len -= 2
      ip++
      if (op + 3 + 1 >= outEnd) return undefined
      if (len < 7) {
        out[op++] = (off >> 8) + (len << 5)
      } else {
        out[op++] = (off >> 8) + (7 << 5)
        out[op++] = len - 7
      }
      out[op++] = off & 0xff
      op++ // room for the next literal length
      lit = 0
      ip += len + 1
      if (ip >= inLen - 2) break
      // re-hash the positions skipped over
      for (let p = ip - len - 1; p < ip; p++) if (p + 2 < inLen) htab[hash(p)] = p
    } else {
      if (op >= outEnd) return undefined
      lit++
      out[op++] = input[ip++]
      if (lit === 32) {
        out[op - lit - 1] = lit - 1
        lit = 0
        op++
      }
    }
  }
  while (ip < inLen) {
    if (op >= outEnd) return undefined
    lit++
    out[op++] = input[ip++]
    if (lit === 32) {
      out[op - lit - 1] = lit - 1
      lit = 0
      op++
    }
  }
  if (lit) out[op - lit - 1] = lit - 1
  else op--
  return Buffer.from(out.subarray(0, op))
}
