/**
 * The fuzzer (`../fuzz.ts`) over AOF manifests: quoted and escaped file names, every file type,
 * with quotes, escapes, path separators and NULs inserted.
 */
import { describe, expect, it } from 'vitest'
import { parseManifest } from '../../../../src/data/aof/manifest.js'
import { expectCleanOutcome, mutate, mutatorsWith, Rng, SEEDS } from '../fuzz.js'

const MANIFEST_CORPUS = [
  Buffer.from(
    [
      'file appendonly.aof.2.base.rdb seq 2 type b',
      'file appendonly.aof.1.base.rdb seq 1 type h',
      'file "my aof\\x21 \\"x\\".3.incr.aof" seq 3 type i',
      'file appendonly.aof.2.incr.aof seq 2 type i',
      '',
    ].join('\n'),
  ),
]

const MANIFEST_MUTATORS = mutatorsWith([
  ' ',
  '"',
  '\\',
  '\\x',
  '\\xZ',
  '\n',
  'seq',
  'type',
  '/',
  '\0',
  '..',
  'constructor',
  '__proto__',
])

describe('fuzz: every parse succeeds or fails as bad input (exit 2), never crashes or hangs', () => {
  it.each(SEEDS)('AOF manifests (seed %i)', async (seed) => {
    const rng = new Rng(seed)
    const tally = { ok: 0, refused: 0 }
    for (let iteration = 0; iteration < 1500; iteration++) {
      const input = mutate(rng, rng.pick(MANIFEST_CORPUS), MANIFEST_MUTATORS)
      tally[
        await expectCleanOutcome({ corpus: 'manifest', seed, iteration, input, how: 'parseManifest' }, () => {
          for (const e of parseManifest(input.toString('latin1'))) {
            expect(['base', 'history', 'incr']).toContain(e.type)
            expect(Number.isSafeInteger(e.seq)).toBe(true)
            expect(e.file).not.toMatch(/\/|\0/)
          }
        })
      ]++
    }
    expect(tally.ok).toBeGreaterThan(100)
    expect(tally.refused).toBeGreaterThan(100)
  })
})
