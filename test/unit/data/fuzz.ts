/**
 * The deterministic fuzzer (xorshift32, fixed seeds) the input parsers' fuzz tests share: valid
 * inputs are mutated (bit flips, byte overwrites, truncation, length fields overwritten with hostile
 * values, slices inserted, deleted or repeated), and every parse must either succeed or fail as bad
 * input: a KvtopError with exit code 2. Never a TypeError, RangeError or any other crash (which the
 * CLI would report as an internal error, exit 5), never a hang (each parse is timed). A failure
 * prints the seed, the case and the input (base64) to replay it.
 */
import { expect } from 'vitest'
import { ExitCode, KvtopError } from '../../../src/errors.js'

// --- the random source ------------------------------------------------------------------------

/** xorshift32: small, fast, and the same sequence for the same seed everywhere. */
export class Rng {
  private s: number
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9
  }
  next(): number {
    let x = this.s
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    this.s = x >>> 0
    return this.s
  }
  /** 0 <= n < max */
  int(max: number): number {
    return max <= 0 ? 0 : this.next() % max
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]
  }
  chance(p: number): boolean {
    return this.next() / 0x100000000 < p
  }
}

// --- mutations --------------------------------------------------------------------------------

export type Mutator = (rng: Rng, b: Buffer) => Buffer

export const flipBits: Mutator = (rng, b) => {
  const out = Buffer.from(b)
  for (let n = 1 + rng.int(4); n > 0 && out.length; n--) out[rng.int(out.length)] ^= 1 << rng.int(8)
  return out
}
export const setByte: Mutator = (rng, b) => {
  const out = Buffer.from(b)
  if (out.length)
    out[rng.int(out.length)] = rng.pick([0, 0xff, 0x80, 0x7f, 0x0d, 0x0a, 0x22, 0x5c, rng.int(256)])
  return out
}
export const truncate: Mutator = (rng, b) => b.subarray(0, rng.int(b.length))
export const overwrite =
  (field: (rng: Rng, room: number) => Buffer): Mutator =>
  (rng, b) => {
    if (!b.length) return b
    const at = rng.int(b.length)
    const f = field(rng, b.length - at)
    return Buffer.concat([b.subarray(0, at), f, b.subarray(Math.min(b.length, at + f.length))])
  }
export const insert =
  (field: (rng: Rng, room: number) => Buffer): Mutator =>
  (rng, b) => {
    const at = rng.int(b.length + 1)
    return Buffer.concat([b.subarray(0, at), field(rng, b.length - at), b.subarray(at)])
  }
export const deleteSlice: Mutator = (rng, b) => {
  const at = rng.int(b.length)
  return Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + rng.int(16))])
}
export const repeatSlice: Mutator = (rng, b) => {
  const at = rng.int(b.length)
  const slice = b.subarray(at, at + 1 + rng.int(32))
  return Buffer.concat([b.subarray(0, at), slice, slice, b.subarray(at)])
}
export const randomBytes = (rng: Rng) =>
  Buffer.from(Array.from({ length: 1 + rng.int(8) }, () => rng.int(256)))

/** What every format gets: bits flipped, a byte set, the input cut short, a slice deleted or repeated. */
export const BYTE_MUTATORS: readonly Mutator[] = [flipBits, setByte, truncate, deleteSlice, repeatSlice]

/** BYTE_MUTATORS, and one of the format's own `tokens` inserted anywhere. */
export function mutatorsWith(tokens: string[]): Mutator[] {
  return [...BYTE_MUTATORS, insert((rng) => Buffer.from(rng.pick(tokens)))]
}

export function mutate(rng: Rng, input: Buffer, mutators: Mutator[]): Buffer {
  let b = input
  for (let n = 1 + rng.int(3); n > 0; n--) b = rng.pick(mutators)(rng, b)
  return b
}

// --- checking one parse -----------------------------------------------------------------------

/** Longest a single parse of these small inputs may take: more means a hang or a blow-up. */
const PARSE_BUDGET_MS = 2000

export interface Case {
  corpus: string
  seed: number
  iteration: number
  input: Buffer
  how: string
}

export async function expectCleanOutcome(
  c: Case,
  parse: () => Promise<unknown> | unknown,
): Promise<'ok' | 'refused'> {
  const started = performance.now()
  let outcome: 'ok' | 'refused' = 'ok'
  try {
    await parse()
  } catch (err) {
    outcome = 'refused'
    if (!(err instanceof KvtopError) || err.exitCode !== ExitCode.usage) {
      const what = err instanceof Error ? `${err.name}: ${err.message}\n${err.stack}` : String(err)
      expect.fail(
        `${c.corpus} seed ${c.seed} iteration ${c.iteration} (${c.how}): expected success or a KvtopError with exit code 2, got ${what}\ninput (base64): ${c.input.toString('base64').slice(0, 4000)}`,
      )
    }
  }
  const ms = performance.now() - started
  if (ms > PARSE_BUDGET_MS)
    expect.fail(`${c.corpus} seed ${c.seed} iteration ${c.iteration} (${c.how}): took ${ms.toFixed(0)} ms`)
  return outcome
}

export async function* chunked(buf: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size)
  if (buf.length === 0) return
}

export const SEEDS = [0x1234abcd, 0xdeadbeef, 42]
