/**
 * The fuzzer (`data/fuzz.ts`) over JSON config and state files: every mutation either parses, or
 * its error is located (a position inside the text) and is the error parseJsonText throws.
 */
import { describe, expect, it } from 'vitest'
import { locateJsonError, parseJsonText } from '../../src/json-text.js'
import { mutate, mutatorsWith, Rng, SEEDS } from './data/fuzz.js'

const JSON_CORPUS = [
  Buffer.from(
    JSON.stringify(
      {
        profiles: {
          prod: {
            url: 'redis://h:6379',
            password: 'p\u00e9"w',
            timeout: 1.5e3,
            natMap: { 'a:1': 'b:2' },
            insecure: false,
            tags: [null, true, -0.5],
          },
        },
      },
      null,
      2,
    ),
  ),
]

const JSON_MUTATORS = mutatorsWith([
  ',',
  '}',
  ']',
  '"',
  '\\u12',
  '\\',
  '1e',
  '-',
  '\ufeff',
  '//',
  '\n',
  '[[[[',
])

describe('fuzz: every parse succeeds or fails as bad input (exit 2), never crashes or hangs', () => {
  it.each(SEEDS)('JSON config and state files (seed %i)', (seed) => {
    const rng = new Rng(seed)
    for (let iteration = 0; iteration < 1000; iteration++) {
      const text = mutate(rng, rng.pick(JSON_CORPUS), JSON_MUTATORS).toString('utf8')
      let valid = true
      try {
        JSON.parse(text)
      } catch {
        valid = false
      }
      const located = locateJsonError(text)
      expect(located === undefined, `seed ${seed} iteration ${iteration}: ${JSON.stringify(text)}`).toBe(
        valid,
      )
      if (located) {
        expect(() => parseJsonText(text)).toThrow(located.message)
        expect(located.position).toBeGreaterThanOrEqual(0)
        expect(located.position).toBeLessThanOrEqual(text.length)
      }
    }
  })
})
