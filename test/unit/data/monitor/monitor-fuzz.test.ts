/**
 * The fuzzer (`../fuzz.ts`) over MONITOR captures: escaped binary arguments, every client kind,
 * read streamed and line by line, decoded into a new buffer and in place.
 */
import { describe, expect, it } from 'vitest'
import { parseMonitorLine } from '../../../../src/data/monitor/monitor-line.js'
import { readMonitorLog } from '../../../../src/data/monitor/monitor-reader.js'
import { chunked, expectCleanOutcome, mutate, mutatorsWith, Rng, SEEDS, type Case } from '../fuzz.js'

const MONITOR_CORPUS = [
  Buffer.from(
    [
      '1700000000.000001 [0 127.0.0.1:5000] "SET" "k\\x00\\xff\\r\\n" "a\\"b\\\\c\\t\\a\\b"',
      '+1700000000.500000 [2 lua] "INCR" ""',
      '1700000001.250000 [0 unix:/tmp/redis.sock] "PING"',
      `1700000002.000000 [15 10.0.0.1:6379] "HSET" "h" "${'x'.repeat(200)}" "\\x01"`,
      '',
    ].join('\r\n'),
    'latin1',
  ),
]

const MONITOR_MUTATORS = mutatorsWith([
  '"',
  '\\',
  '\\x',
  '\\xg',
  ' ',
  '[',
  ']',
  '\n',
  '99999999999999999999',
  '\r\n',
])

describe('fuzz: every parse succeeds or fails as bad input (exit 2), never crashes or hangs', () => {
  it.each(SEEDS)('MONITOR captures (seed %i)', async (seed) => {
    const rng = new Rng(seed)
    const tally = { ok: 0, refused: 0 }
    for (let iteration = 0; iteration < 800; iteration++) {
      const input = mutate(rng, rng.pick(MONITOR_CORPUS), MONITOR_MUTATORS)
      const chunk = rng.chance(0.05) ? 1 : rng.pick([5, 64, 4096])
      const c: Case = { corpus: 'monitor', seed, iteration, input, how: `${chunk}-byte chunks` }
      tally[
        await expectCleanOutcome(c, async () => {
          for await (const batch of readMonitorLog(chunked(input, chunk), {
            allowTruncatedTail: rng.chance(0.5),
          }))
            for (const cmd of batch) expect(cmd.args.length).toBeGreaterThan(0)
        })
      ]++
      // Line by line, decoded into a new buffer and in place: the same outcome, the same arguments.
      for (const line of input.toString('latin1').split('\n').slice(0, 5)) {
        const bytes = Buffer.from(line.replace(/\r$/, ''), 'latin1')
        let copied: Buffer[] | undefined
        await expectCleanOutcome(
          { ...c, how: 'parseMonitorLine' },
          () => (copied = parseMonitorLine(bytes).args),
        )
        let inPlace: Buffer[] | undefined
        await expectCleanOutcome({ ...c, how: 'parseMonitorLine in place' }, () => {
          inPlace = parseMonitorLine(Buffer.from(bytes), { inPlace: true }).args
        })
        expect(inPlace).toEqual(copied)
      }
    }
    expect(tally.ok).toBeGreaterThan(50)
    expect(tally.refused).toBeGreaterThan(100)
  })
})
