import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { median } from './lib-rounds.js'
import { startedSandbox, type StartedSandbox } from './lib-sandbox.js'
import type { BenchOptions, BenchReport, BenchRow } from './types.js'
import { MEASURED_BIN } from './lib-process.js'

/**
 * `npm run bench -- startup [--scale S]`: whole processes timed from spawn to exit, median of
 * 20 x S runs each (after one warm-up run that fills the file cache): `node -e 0` (the floor any
 * Node CLI pays), `redis-cli --version` (the tool SREs compare against), and kvtop answering
 * `--version`, `--help` and `status --help`; then real commands against idle local servers (two
 * empty standalone sandboxes): verify of the pair, replay of a one-command log and snapshot restore
 * of a one-key .rdb into an empty server (emptied, untimed, before every run), snapshot inspect of
 * that .rdb (a command that opens no connection), and status --json of one node (which waits one
 * --interval, 0.1 s, between its two polls). Goal: every kvtop case under 0.2 s (status: 0.3 s,
 * its interval included).
 * KVTOP_BENCH_BIN points at another build's bin/kvtop.js, to compare before and after.
 */

const GOAL_SECONDS = 0.2

interface Case {
  name: string
  command: string
  args: string[]
  /** Untimed, before every run: put the servers back as the case expects them. */
  prepare?: () => void
  /** The case's goal in seconds (default GOAL_SECONDS). */
  goalSeconds?: number
}

const NODE_FLOOR: Case = { name: 'node -e 0', command: process.execPath, args: ['-e', '0'] }
const REDIS_CLI: Case = { name: 'redis-cli --version', command: 'redis-cli', args: ['--version'] }
const KVTOP_CASES: Case[] = [
  { name: 'kvtop --version', command: process.execPath, args: [MEASURED_BIN, '--version'] },
  { name: 'kvtop --help', command: process.execPath, args: [MEASURED_BIN, '--help'] },
  { name: 'kvtop status --help', command: process.execPath, args: [MEASURED_BIN, 'status', '--help'] },
]

/** Seconds from spawn to exit of one run; throws when the process fails (a broken build is no timing). */
function timeOnce(c: Case): number {
  c.prepare?.()
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

function medianSeconds(c: Case, runs: number): number {
  timeOnce(c)
  return median(Array.from({ length: runs }, () => timeOnce(c)))
}

/** The same command through redis-cli, to empty or fill a server between timed runs. */
function redisCli(url: string, ...args: string[]): void {
  const r = spawnSync('redis-cli', ['-u', url, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  if (r.status !== 0 || /^ERR/m.test(String(r.stdout)))
    throw new Error(`redis-cli ${args.join(' ')}: ${String(r.stdout)}${String(r.stderr)}`)
}

/** Whole commands against two empty standalone servers, and the files they read. */
function serverCases(source: string, target: string, dir: string): Case[] {
  const log = join(dir, 'one-command.resp')
  writeFileSync(log, '*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n')
  const rdb = join(dir, 'one-key.rdb')
  redisCli(source, 'SET', 'key', 'value')
  redisCli(source, '--rdb', rdb)
  redisCli(source, 'FLUSHALL')
  const emptyTarget = () => redisCli(target, 'FLUSHALL')
  const kvtop = (args: string[]) => [MEASURED_BIN, ...args]
  return [
    {
      name: 'kvtop verify (2 empty standalones)',
      command: process.execPath,
      args: kvtop(['verify', '--source', source, '--target', target]),
      prepare: emptyTarget,
    },
    {
      name: 'kvtop replay (1 command, empty server)',
      command: process.execPath,
      args: kvtop(['replay', log, '--target', target]),
      prepare: emptyTarget,
    },
    {
      name: 'kvtop snapshot restore (1-key .rdb, empty server)',
      command: process.execPath,
      args: kvtop(['snapshot', 'restore', rdb, '--target', target]),
      prepare: emptyTarget,
    },
    {
      name: 'kvtop snapshot inspect (1-key .rdb, no server)',
      command: process.execPath,
      args: kvtop(['snapshot', 'inspect', rdb]),
    },
    {
      name: 'kvtop status --json --interval 0.1 (1 node)',
      command: process.execPath,
      args: kvtop(['status', target, '--json', '--interval', '0.1']),
      goalSeconds: GOAL_SECONDS + 0.1,
    },
  ]
}

export async function run(options: BenchOptions): Promise<BenchReport> {
  const runs = Math.max(3, Math.round(20 * options.scale))
  const floor = medianSeconds(NODE_FLOOR, runs)
  const redisCliSeconds = medianSeconds(REDIS_CLI, runs)
  const row = (c: Case): BenchRow => {
    const seconds = medianSeconds(c, runs)
    const goal = c.goalSeconds ?? GOAL_SECONDS
    return {
      case: c.name,
      kvtop: { seconds, rate: 1 / seconds, unit: 'starts/s' },
      anchor: { name: NODE_FLOOR.name, seconds: floor, rate: 1 / floor },
      ratio: floor / seconds,
      goal: `< ${goal.toFixed(1)} s`,
      met: seconds < goal,
    }
  }
  const rows: BenchRow[] = KVTOP_CASES.map(row)
  const dir = mkdtempSync(join(tmpdir(), 'kvtop-startup-'))
  const sandboxes: StartedSandbox[] = []
  try {
    sandboxes.push(await startedSandbox('startup-source', 0, 0))
    sandboxes.push(await startedSandbox('startup-target', 0, 0))
    const [source, target] = sandboxes.map((s) => s.summary.url)
    rows.push(...serverCases(source, target, dir).map(row))
  } finally {
    for (const s of sandboxes) await s.down()
    rmSync(dir, { recursive: true, force: true })
  }
  const ms = (s: number) => `${(s * 1000).toFixed(0)} ms`
  return {
    name: 'startup',
    rows,
    notes: [
      `median of ${runs} runs each, spawn to exit; bin: ${MEASURED_BIN}`,
      `servers: two empty standalone sandboxes (redis-server ${sandboxes[0]?.summary.version})`,
      `${NODE_FLOOR.name}: ${ms(floor)}; ${REDIS_CLI.name}: ${ms(redisCliSeconds)}`,
      ...rows.map(
        (r) =>
          `${r.case}: ${ms(r.kvtop.seconds)} = ${(r.kvtop.seconds / floor).toFixed(2)}x node -e 0, ${(r.kvtop.seconds / redisCliSeconds).toFixed(1)}x redis-cli --version`,
      ),
    ],
  }
}
