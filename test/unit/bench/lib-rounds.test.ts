import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  abNote,
  benchRounds,
  kvtopBuilds,
  median,
  medianRun,
  roundsNote,
  roundsRow,
  runRounds,
  type SideRuns,
} from '../../../bench/lib-rounds.js'

/** A side whose runs took these seconds, kvtop CPU and check results, round by round. */
function side(name: string, seconds: number[], ok = seconds.map(() => true), cpu?: number[]): SideRuns {
  return {
    name,
    checked: true,
    runs: seconds.map((s, i) => ({
      seconds: s,
      ok: ok[i],
      load: '0.00 0.00 0.00',
      ...(cpu
        ? {
            cpu: {
              wallSeconds: s,
              kvtopCpuSeconds: cpu[i],
              kvtopRunQueueSeconds: 0,
              serverCpuSeconds: [],
            },
          }
        : {}),
    })),
  }
}

afterEach(() => vi.unstubAllEnvs())

describe('bench/lib-rounds.ts: sides by turns, rows from medians', () => {
  it('runs every side once a round, in reverse order on odd rounds, each prepared before and checked after its run', async () => {
    const calls: string[] = []
    const make = (name: string, checks: boolean[]) => {
      let n = 0
      return {
        name,
        prepare: async () => calls.push(`${name}:prepare`),
        run: async () => {
          calls.push(`${name}:run`)
          return { seconds: 1 }
        },
        check: async () => {
          calls.push(`${name}:check`)
          return checks[n++]
        },
      }
    }
    const [a, b] = await runRounds([make('a', [true, true, true]), make('b', [true, false, true])], 3)
    expect(calls).toEqual([
      ...['a:prepare', 'a:run', 'a:check', 'b:prepare', 'b:run', 'b:check'],
      ...['b:prepare', 'b:run', 'b:check', 'a:prepare', 'a:run', 'a:check'],
      ...['a:prepare', 'a:run', 'a:check', 'b:prepare', 'b:run', 'b:check'],
    ])
    expect(a.runs.map((r) => r.ok)).toEqual([true, true, true])
    expect(b.runs.map((r) => r.ok)).toEqual([true, false, true])
    expect(a.checked && b.checked).toBe(true)
  })

  it('takes the median of odd and even counts without reordering its input', () => {
    const values = [5, 1, 3]
    expect(median(values)).toBe(3)
    expect(values).toEqual([5, 1, 3])
    expect(median([4, 1, 3, 2])).toBe(2.5)
  })

  it('picks the run whose time is the median (the lower middle one of an even count), whatever the round order', () => {
    expect(medianRun(side('k', [3, 1, 2])).seconds).toBe(2)
    expect(medianRun(side('k', [4, 1, 3, 2])).seconds).toBe(2)
    expect(medianRun(side('k', [7])).seconds).toBe(7)
  })

  it('reports the median of the per-round ratios, not the ratio of the medians, and one slow round moves neither', () => {
    // Round ratios (anchor / kvtop): 0.2, 0.75, 0.9 -> median 0.75; the medians' ratio would be 0.9 / 2 = 0.45.
    const kvtop = side('kvtop', [2, 8, 1])
    const anchor = side('anchor', [0.4, 6, 0.9])
    const row = roundsRow({ case: 'c', keys: 1000, kvtop, anchor, goal: '>= 0.5x', minRatio: 0.5 })
    expect(row.ratio).toBeCloseTo(0.75, 10)
    expect(row.kvtop).toEqual({ seconds: 2, rate: 500, unit: 'keys/s' })
    expect(row.anchor).toEqual({ name: 'anchor', seconds: 0.9, rate: 1000 / 0.9 })
    expect(row.met).toBe(true)
    expect(roundsRow({ case: 'c', keys: 1000, kvtop, anchor, goal: '', minRatio: 0.76 }).met).toBe(false)
  })

  it('does not meet a goal when any run of either side failed its check, whatever the ratio', () => {
    const fast = side('kvtop', [1, 1, 1], [true, false, true])
    const slow = side('anchor', [2, 2, 2])
    expect(roundsRow({ case: 'c', keys: 10, kvtop: fast, anchor: slow, goal: '', minRatio: 1 }).met).toBe(
      false,
    )
    const badAnchor = side('anchor', [2, 2, 2], [true, true, false])
    const good = side('kvtop', [1, 1, 1])
    expect(
      roundsRow({ case: 'c', keys: 10, kvtop: good, anchor: badAnchor, goal: '', minRatio: 1 }).met,
    ).toBe(false)
  })

  it('writes every round, the ratios, the CPU and the checks into the notes', () => {
    const kvtop = side('kvtop x', [2, 4], [true, true], [1.5, 1.25])
    const anchor = side('pipe', [1, 1])
    expect(roundsNote(kvtop, anchor)).toBe(
      "kvtop x vs pipe, 2 rounds: seconds per round 2.00 / 4.00 vs 1.00 / 1.00; ratio per round 0.50 / 0.25, median 0.38x; kvtop CPU (user + sys) per round 1.50 / 1.25 s, median 1.38 s; every run's check passed: kvtop true, anchor true",
    )
    const old = side('old', [3, 6], [true, true], [2, 2])
    expect(abNote('kvtop x', old, kvtop, anchor)).toBe(
      "A/B kvtop x, median of 2 rounds: old build 4.50 s (0.25x the anchor), CPU 2.00 s; this build 3.00 s (0.38x the anchor), CPU 1.38 s; old time / this time per round 1.50 / 1.50, median 1.50x; every run's check passed: old true, this true",
    )
  })

  it('reads the rounds from KVTOP_BENCH_AB, then KVTOP_BENCH_ROUNDS, else 3, and names the old build only when asked', () => {
    vi.stubEnv('KVTOP_BENCH_AB', '')
    vi.stubEnv('KVTOP_BENCH_ROUNDS', '')
    expect(benchRounds()).toBe(3)
    expect(kvtopBuilds('/new/bin/kvtop.js').map((b) => b.bin)).toEqual(['/new/bin/kvtop.js'])
    vi.stubEnv('KVTOP_BENCH_ROUNDS', '5')
    expect(benchRounds()).toBe(5)
    vi.stubEnv('KVTOP_BENCH_ROUNDS', '0')
    expect(benchRounds()).toBe(3)
    vi.stubEnv('KVTOP_BENCH_AB', '/old/bin/kvtop.js,7')
    vi.stubEnv('KVTOP_BENCH_ROUNDS', '5')
    expect(benchRounds()).toBe(7)
    expect(kvtopBuilds('/new/bin/kvtop.js').map((b) => [b.label, b.bin])).toEqual([
      ['kvtop', '/new/bin/kvtop.js'],
      ['kvtop (old build)', '/old/bin/kvtop.js'],
    ])
    vi.stubEnv('KVTOP_BENCH_AB', '/old/bin/kvtop.js,x')
    expect(benchRounds()).toBe(5)
  })
})
