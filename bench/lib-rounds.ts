import { join } from 'node:path'
import { runNodeMeasured, type CpuBreakdown } from './lib-cpu.js'
import { loadAverage } from './lib-process.js'
import { profileNote, readProfileDir, summarizeProfile } from './lib-profile.js'
import type { BenchRow } from './types.js'

/**
 * Figures that survive a shared machine: a case runs in rounds, kvtop and its anchor (and an old
 * build, for an A/B) by turns within each round, so that load which comes and goes hits every side
 * alike. A row then reports the median time of each side and the median of the per-round ratios
 * (one slow round moves neither), and kvtop's own CPU per round, which the machine's load moves far
 * less than the wall time.
 *
 * KVTOP_BENCH_ROUNDS sets the rounds (default 3); KVTOP_BENCH_AB=OLD_BIN[,ROUNDS] adds OLD_BIN (an
 * old build's bin/kvtop.js) as one more side beside this build, ROUNDS overriding the rounds.
 */

/** One timed run of one side: its wall time and, for a whole kvtop process, its CPU. */
export interface Timed {
  seconds: number
  cpu?: CpuBreakdown
}

/** One side of a case: how to run it once, and what to do, untimed, around each run. */
export interface Side<T extends Timed = Timed> {
  name: string
  run: () => Promise<T>
  /** Before each run: put the servers as the run expects them (e.g. empty the target). */
  prepare?: () => Promise<unknown>
  /** After each run: did the run leave the right data behind? One false fails the side's rows. */
  check?: () => Promise<boolean>
}

/** Every run of one side, in round order, each with its check and the load average after it. */
export interface SideRuns<T extends Timed = Timed> {
  name: string
  /** Whether the side has a check: `ok` is only meaningful then. */
  checked: boolean
  runs: (T & { ok: boolean; load: string })[]
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/** The run of a side whose time is the median (the lower of the middle two for an even count). */
export function medianRun<T extends { seconds: number }>(side: SideRuns<T>): T {
  return [...side.runs].sort((x, y) => x.seconds - y.seconds)[Math.floor((side.runs.length - 1) / 2)]
}

const positiveInteger = (text: string | undefined) => {
  const n = Number(text)
  return Number.isInteger(n) && n > 0 ? n : undefined
}

/** The old build KVTOP_BENCH_AB names, if any, to run by turns with this one. */
export function abOldBin(): string | undefined {
  return process.env.KVTOP_BENCH_AB?.split(',')[0] || undefined
}

/** A kvtop build to time: this one, and with KVTOP_BENCH_AB the old one, by turns. */
export interface Build {
  label: string
  bin: string
  /** Names its files and profiles. */
  slug: string
}

/** This build (`thisBin`), then the old one when KVTOP_BENCH_AB names one. */
export function kvtopBuilds(thisBin: string): Build[] {
  const oldBin = abOldBin()
  const current = { label: 'kvtop', bin: thisBin, slug: 'kvtop' }
  return oldBin ? [current, { label: 'kvtop (old build)', bin: oldBin, slug: 'old' }] : [current]
}

/** One whole kvtop process of a build (spawn to exit), timed with its CPU and the servers'. */
export type KvtopRunner = (build: Build, label: string, args: string[]) => ReturnType<typeof runNodeMeasured>

/**
 * Whole kvtop processes with the servers `serverPids` metered. With KVTOP_BENCH_CPU_PROF every run
 * is profiled (so that every round pays the profiler alike); the first run of each build and
 * `label` is summarized in `notes`. Profiles go under `dir`.
 */
export function kvtopRunner(dir: string, serverPids: (number | undefined)[], notes: string[]): KvtopRunner {
  const summarized = new Set<string>()
  let runs = 0
  return async (build, label, args) => {
    const profDir = join(dir, `profile-${build.slug}-${runs++}`)
    const prof = process.env.KVTOP_BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', profDir] : []
    const result = await runNodeMeasured(build.bin, args, serverPids, prof)
    if (prof.length && !summarized.has(`${build.slug} ${label}`)) {
      summarized.add(`${build.slug} ${label}`)
      notes.push(profileNote(`${build.label} ${label}`, summarizeProfile(readProfileDir(profDir), 8)))
    }
    return result
  }
}

/** How many rounds: KVTOP_BENCH_AB's ROUNDS, else KVTOP_BENCH_ROUNDS, else 3. */
export function benchRounds(): number {
  const abRounds = process.env.KVTOP_BENCH_AB?.split(',')[1]
  return positiveInteger(abRounds) ?? positiveInteger(process.env.KVTOP_BENCH_ROUNDS) ?? 3
}

/**
 * Run every side once a round, `rounds` times. Odd rounds run the sides in reverse order, so that
 * no side always goes first (into cold caches, or right after another side's burst of work).
 */
export async function runRounds<T extends Timed>(sides: Side<T>[], rounds: number): Promise<SideRuns<T>[]> {
  const results: SideRuns<T>[] = sides.map((s) => ({ name: s.name, checked: !!s.check, runs: [] }))
  for (let round = 0; round < rounds; round++) {
    const order = sides.map((_, i) => i)
    if (round % 2) order.reverse()
    for (const i of order) {
      await sides[i].prepare?.()
      const timed = await sides[i].run()
      const ok = (await sides[i].check?.()) ?? true
      results[i].runs.push({ ...timed, ok, load: loadAverage() })
    }
  }
  return results
}

const medianSeconds = (side: SideRuns) => median(side.runs.map((r) => r.seconds))

/** anchor time / kvtop time in each round: > 1 means kvtop was faster that round. */
const roundRatios = (kvtop: SideRuns, anchor: SideRuns) =>
  kvtop.runs.map((r, i) => anchor.runs[i].seconds / r.seconds)

const allOk = (side: SideRuns) => side.runs.every((r) => r.ok)

/**
 * A row for `keys` keys: each side's median time and rate, the median of the per-round ratios, met
 * when that ratio reaches `minRatio` and every run of both sides passed its check.
 */
export function roundsRow(c: {
  case: string
  keys: number
  kvtop: SideRuns
  anchor: SideRuns
  goal: string
  minRatio: number
}): BenchRow {
  const kvtopSeconds = medianSeconds(c.kvtop)
  const anchorSeconds = medianSeconds(c.anchor)
  const ratio = median(roundRatios(c.kvtop, c.anchor))
  return {
    case: c.case,
    kvtop: { seconds: kvtopSeconds, rate: c.keys / kvtopSeconds, unit: 'keys/s' },
    anchor: { name: c.anchor.name, seconds: anchorSeconds, rate: c.keys / anchorSeconds },
    ratio,
    goal: c.goal,
    met: ratio >= c.minRatio && allOk(c.kvtop) && allOk(c.anchor),
  }
}

const list = (values: number[], digits = 2) => values.map((v) => v.toFixed(digits)).join(' / ')
const cpuPerRound = (side: SideRuns) => side.runs.map((r) => r.cpu?.kvtopCpuSeconds ?? NaN)

/** kvtop's CPU (user + sys of its process) in each round and their median. */
function cpuText(side: SideRuns): string {
  const cpu = cpuPerRound(side)
  return `kvtop CPU (user + sys) per round ${list(cpu)} s, median ${median(cpu).toFixed(2)} s`
}

/** Whether every run passed its check, for the sides that have one. */
function checksText(sides: Record<string, SideRuns>): string {
  const checked = Object.entries(sides).filter(([, side]) => side.checked)
  if (!checked.length) return ''
  return `; every run's check passed: ${checked.map(([label, side]) => `${label} ${allOk(side)}`).join(', ')}`
}

/** Every round of kvtop against its anchor: both times, the ratio, kvtop's CPU, the checks. */
export function roundsNote(kvtop: SideRuns, anchor: SideRuns): string {
  const ratios = roundRatios(kvtop, anchor)
  return `${kvtop.name} vs ${anchor.name}, ${kvtop.runs.length} rounds: seconds per round ${list(kvtop.runs.map((r) => r.seconds))} vs ${list(anchor.runs.map((r) => r.seconds))}; ratio per round ${list(ratios)}, median ${median(ratios).toFixed(2)}x; ${cpuText(kvtop)}${checksText({ kvtop, anchor })}`
}

/**
 * The old build beside this one, both medians side by side (and their ratios to `anchor` when the
 * case has one), with the median of this build's time over the old one's, round by round.
 */
export function abNote(label: string, old: SideRuns, current: SideRuns, anchor?: SideRuns): string {
  const side = (s: SideRuns) =>
    `${medianSeconds(s).toFixed(2)} s${anchor ? ` (${median(roundRatios(s, anchor)).toFixed(2)}x the anchor)` : ''}, CPU ${median(cpuPerRound(s)).toFixed(2)} s`
  const speedups = old.runs.map((r, i) => r.seconds / current.runs[i].seconds)
  return `A/B ${label}, median of ${old.runs.length} rounds: old build ${side(old)}; this build ${side(current)}; old time / this time per round ${list(speedups)}, median ${median(speedups).toFixed(2)}x${checksText({ old, this: current })}`
}
