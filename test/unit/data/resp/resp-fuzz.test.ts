/**
 * The fuzzer (`../fuzz.ts`) over RESP logs: commands with binary arguments, annotations, inline
 * commands, with declared lengths replaced by hostile ones; read streamed and pushed at once.
 */
import { describe, expect, it } from 'vitest'
import { readCommands, RespCommandParser, NEED_MORE } from '../../../../src/data/resp/command-parser.js'
import { encodeCommand } from '../../../../src/wire/encode.js'
import {
  BYTE_MUTATORS,
  chunked,
  expectCleanOutcome,
  insert,
  mutate,
  randomBytes,
  Rng,
  SEEDS,
  type Case,
  type Mutator,
} from '../fuzz.js'

const RESP_CORPUS = [
  Buffer.concat([
    encodeCommand(['SET', Buffer.from([0xff, 0x00, 0x0d, 0x0a]), 'v']),
    Buffer.from('#TS:1700000000\r\n'),
    encodeCommand(['MULTI']),
    encodeCommand(['HSET', 'h', '', 'x'.repeat(300)]),
    encodeCommand(['EXEC']),
  ]),
  Buffer.from('PING\r\nSET "a b" \'c\\\'d\' "\\x41\\n"\r\n\r\n*1\r\n$4\r\nPING\r\n'),
  Buffer.concat([
    encodeCommand(['SELECT', '0']),
    encodeCommand(['RPUSH', 'l', ...Array.from({ length: 40 }, (_, i) => `e${i}`)]),
  ]),
]

const RESP_MUTATORS: Mutator[] = [
  ...BYTE_MUTATORS,
  insert(randomBytes),
  // A declared length replaced: *0, *-1, huge counts and bulk lengths.
  (rng, b) => {
    const marks: number[] = []
    for (let i = 0; i < b.length; i++) if (b[i] === 0x2a || b[i] === 0x24) marks.push(i)
    if (!marks.length) return b
    const at = rng.pick(marks)
    const end = b.indexOf(0x0d, at)
    const value = rng.pick([
      '0',
      '-1',
      '-',
      '',
      '4294967296',
      '2147483648',
      '99999999999999999999',
      String(rng.int(1000)),
      'x',
    ])
    return Buffer.concat([b.subarray(0, at + 1), Buffer.from(value), b.subarray(end < 0 ? b.length : end)])
  },
]

describe('fuzz: every parse succeeds or fails as bad input (exit 2), never crashes or hangs', () => {
  it.each(SEEDS)('RESP logs (seed %i)', async (seed) => {
    const rng = new Rng(seed)
    const tally = { ok: 0, refused: 0 }
    for (let iteration = 0; iteration < 1000; iteration++) {
      const input = mutate(rng, rng.pick(RESP_CORPUS), RESP_MUTATORS)
      const chunk = rng.chance(0.05) ? 1 : rng.pick([3, 16, 4096])
      const allowTruncatedTail = rng.chance(0.3)
      const c: Case = {
        corpus: 'resp',
        seed,
        iteration,
        input,
        how: `${chunk}-byte chunks, allowTruncatedTail ${allowTruncatedTail}`,
      }
      tally[
        await expectCleanOutcome(c, async () => {
          for await (const batch of readCommands(chunked(input, chunk), { allowTruncatedTail }))
            for (const rec of batch) if (rec.kind === 'command') expect(rec.args.length).toBeGreaterThan(0)
        })
      ]++
      await expectCleanOutcome({ ...c, how: 'one push, next() and finish()' }, () => {
        const p = new RespCommandParser({ annotations: rng.chance(0.5), inline: rng.chance(0.5) })
        p.push(input)
        while (p.next() !== NEED_MORE);
        p.finish()
      })
    }
    expect(tally.ok).toBeGreaterThan(100)
    expect(tally.refused).toBeGreaterThan(100)
  })
})
