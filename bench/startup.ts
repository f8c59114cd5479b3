import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { BenchOptions, BenchReport, BenchRow } from './types.js'

/**
 * `npm run bench -- startup [--scale S]`: whole processes timed from spawn to exit, median of
 * 20 x S runs each (after one warm-up run that fills the file cache): `node -e 0` (the floor any
 * Node CLI pays), `redis-cli --version` (the tool SREs compare against), and kvtop answering
 * `--version`, `--help` and `status --help`. Goal: every kvtop case under 0.2 s.
 * KVTOP_BENCH_BIN points at another build's bin/kvtop.js, to compare before and after.
 */

const BIN = process.env.KVTOP_BENCH_BIN ?? fileURLToPath(new URL('../../bin/kvtop.js', import.meta.url))
const GOAL_SECONDS = 0.2

interface Case {
  name: string
  command: string
  args: string[]
}

const NODE_FLOOR: Case = { name: 'node -e 0', command: process.execPath, args: ['-e', '0'] }
const REDIS_CLI: Case = { name: 'redis-cli --version', command: 'redis-cli', args: ['--version'] }
const KVTOP_CASES: Case[] = [
  { name: 'kvtop --version', command: process.execPath, args: [BIN, '--version'] },
  { name: 'kvtop --help', command: process.execPath, args: [BIN, '--help'] },
  { name: 'kvtop status --help', command: process.execPath, args: [BIN, 'status', '--help'] },
]

/** Seconds from spawn to exit of one run; throws when the process fails (a broken build is no timing). */
function timeOnce(c: Case): number {
  const started = process.hrtime.bigint()
  const r = spawnSync(c.command, c.args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  })
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  if (r.error) throw new Error(`${c.name}: ${r.error.message}`)
  if (r.status !== 0) throw new Error(`${c.name} exited ${r.status}: ${String(r.stderr).slice(0, 500)}`)
  return seconds
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

function medianSeconds(c: Case, runs: number): number {
  timeOnce(c)
  return median(Array.from({ length: runs }, () => timeOnce(c)))
}

export async function run(options: BenchOptions): Promise<BenchReport> {
  const runs = Math.max(3, Math.round(20 * options.scale))
  const floor = medianSeconds(NODE_FLOOR, runs)
  const redisCli = medianSeconds(REDIS_CLI, runs)
  const rows: BenchRow[] = KVTOP_CASES.map((c) => {
    const seconds = medianSeconds(c, runs)
    return {
      case: c.name,
      kvtop: { seconds, rate: 1 / seconds, unit: 'starts/s' },
      anchor: { name: NODE_FLOOR.name, seconds: floor, rate: 1 / floor },
      ratio: floor / seconds,
      goal: `< ${GOAL_SECONDS} s`,
      met: seconds < GOAL_SECONDS,
    }
  })
  const ms = (s: number) => `${(s * 1000).toFixed(0)} ms`
  return {
    name: 'startup',
    rows,
    notes: [
      `median of ${runs} runs each, spawn to exit; bin: ${BIN}`,
      `${NODE_FLOOR.name}: ${ms(floor)}; ${REDIS_CLI.name}: ${ms(redisCli)}`,
      ...rows.map(
        (r) =>
          `${r.case}: ${ms(r.kvtop.seconds)} = ${(r.kvtop.seconds / floor).toFixed(2)}x node -e 0, ${(r.kvtop.seconds / redisCli).toFixed(1)}x redis-cli --version`,
      ),
    ],
  }
}
