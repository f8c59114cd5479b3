import { copyFileSync, mkdtempSync, rmSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { sandboxDown, sandboxUp, type SandboxSummary } from '../src/sandbox/sandbox.js'
import { loadDataset, PROFILE_DESCRIPTIONS, REDIS_CLI, runTimed } from './lib-dataset.js'
import { describeCpu, reachNote, runNodeMeasured } from './lib-cpu.js'
import {
  abNote,
  abOldBin,
  benchRounds,
  median,
  medianRun,
  roundsNote,
  roundsRow,
  runRounds,
  type Side,
  type SideRuns,
  type Timed,
} from './lib-rounds.js'
import { profileNote, readProfileDir, secondsUntil, summarizeProfile } from './lib-profile.js'
import type { BenchOptions, BenchReport, BenchRow } from './types.js'
import { MEASURED_BIN } from './lib-process.js'

/**
 * `npm run bench -- verify [--scale S] [--data production,uniform]` (issue 17): two standalone
 * redis-servers loaded from the same RDB file (so TTLs agree to the millisecond, and hashtable-encoded
 * sets and hashes iterate in each process's own order, as on two real servers), 1M keys at scale 1.
 * `kvtop verify` (whole process, spawn to exit, both directions) against `redis-cli --scan` listing
 * ONE side, by turns for KVTOP_BENCH_ROUNDS rounds (default 3, bench/lib-rounds.ts): the row gives
 * median times and the median per-round ratio. Goal: kvtop's keys/s >= 1.0x the listing's. The
 * notes say, run by run, who was the limit (kvtop's CPU, its wait for a core, the servers' CPU and
 * command counts). With KVTOP_BENCH_CPU_PROF=1, one more kvtop run under `node --cpu-prof` is
 * summarized in the notes (idle share, top self time). KVTOP_BENCH_BIN points at another build's
 * bin/kvtop.js, to time in place of this one; KVTOP_BENCH_AB=OLD_BIN[,ROUNDS] runs OLD_BIN as a third
 * side in every round, and the notes give both builds' medians side by side. A second row, once:
 * the target emptied, every source key a difference re-checked over 3 passes, no limit on the
 * differences held (reported).
 */
export const usesDataset = true

/** Load `rdb` into the server behind `client`: its dbfilename replaced, then DEBUG RELOAD NOSAVE. */
async function reloadFrom(client: Redis, rdb: string): Promise<void> {
  const [, dir] = (await client.config('GET', 'dir')) as string[]
  const [, name] = (await client.config('GET', 'dbfilename')) as string[]
  copyFileSync(rdb, join(dir, name))
  await client.call('DEBUG', 'RELOAD', 'NOSAVE')
}

/** What the server behind `port` spent since RESETSTAT: each command's calls per key and its total ms. */
async function commandStats(port: number, dbsize: number): Promise<string> {
  const stats = (await runTimed(REDIS_CLI, ['-p', String(port), 'INFO', 'commandstats'])).stdout
  const calls = [...stats.matchAll(/^cmdstat_([a-z|]+):calls=(\d+),usec=(\d+)/gm)]
    .map(([, name, n, usec]) => [name, Number(n) / dbsize, Number(usec) / 1000] as const)
    .filter(([name, n, ms]) => (n >= 0.001 || ms >= 1) && name !== 'info' && name !== 'config|resetstat')
    .sort((a, b) => b[2] - a[2])
  const sum = calls.reduce((n, [, c]) => n + c, 0)
  const ms = calls.reduce((n, [, , t]) => n + t, 0)
  return `${sum.toFixed(2)}, ${ms.toFixed(0)} ms (${calls.map(([name, c, t]) => `${name} ${c.toFixed(3)} ${t.toFixed(0)} ms`).join(', ')})`
}

/** One whole `kvtop verify` process: its timing and CPU, and what the servers did meanwhile. */
type MeasuredVerify = Awaited<ReturnType<typeof runNodeMeasured>> & { stats: string }

/** Each kvtop run's CPU, load average and server work, round by round. */
function perRunNotes(sides: SideRuns<MeasuredVerify>[]): string[] {
  return sides.flatMap((side) =>
    side.runs.flatMap((run, round) => [
      `${side.name} round ${round + 1}: ${describeCpu('kvtop verify', run.cpu)}; load ${run.load}`,
      `${side.name} round ${round + 1}: ${run.stats}`,
    ]),
  )
}

/**
 * The other end: the target emptied, every source key is a difference, re-checked over two more
 * passes (no wait between them). Reported beside the same listing: a difference should cost about
 * what a compared key does (a list of them once grew quadratically: 200,000 took minutes).
 */
async function everyKeyDiffers(
  targetPort: number,
  pairArgs: string[],
  dbsize: number,
  listing: SideRuns,
): Promise<{ row: BenchRow; note: string }> {
  await runTimed(REDIS_CLI, ['-p', String(targetPort), 'FLUSHALL'])
  const run = await runTimed(
    process.execPath,
    [MEASURED_BIN, ...pairArgs, '--passes', '3', '--pass-interval', '0', '--max-differences', '0', '--json'],
    { exitCode: 1 },
  )
  const report = JSON.parse(run.stdout) as { counts: Record<string, number>; passes: number }
  const ok = report.counts['missing-in-target'] === dbsize && report.passes === 3
  const anchorSeconds = median(listing.runs.map((r) => r.seconds))
  return {
    row: {
      case: `verify ${dbsize} keys against an empty target (every key a difference, 3 passes)`,
      kvtop: { seconds: run.seconds, rate: dbsize / run.seconds, unit: 'keys/s' },
      anchor: { name: `${listing.name} (median)`, seconds: anchorSeconds, rate: dbsize / anchorSeconds },
      ratio: anchorSeconds / run.seconds,
      goal: 'reported',
      met: ok,
    },
    note: `verify against an empty target: one run, ${run.seconds.toFixed(2)} s, ${report.counts['missing-in-target']} of ${dbsize} keys reported missing after ${report.passes} passes`,
  }
}

export async function run(options: BenchOptions): Promise<BenchReport> {
  const keys = Math.max(1000, Math.round(1_000_000 * options.scale))
  const dir = mkdtempSync(join(tmpdir(), 'kvtop-bench-verify-'))
  const env = { ...process.env, KVTOP_SANDBOX_DIR: join(dir, 'sandboxes') }
  const notes: string[] = []
  let source: SandboxSummary | undefined
  let target: SandboxSummary | undefined
  try {
    source = await sandboxUp({ name: 'bench-vsrc', shards: 0, replicas: 0, flavor: 'redis', env })
    target = await sandboxUp({ name: 'bench-vdst', shards: 0, replicas: 0, flavor: 'redis', env })
    const sPort = source.nodes[0].port
    const tPort = target.nodes[0].port
    await loadDataset(sPort, keys, dir, options.profile)
    const rdb = join(dir, 'dataset.rdb')
    await runTimed(REDIS_CLI, ['-p', String(sPort), '--rdb', rdb])
    const src = new Redis({ port: sPort, lazyConnect: true })
    const dst = new Redis({ port: tPort, lazyConnect: true })
    await src.connect()
    await dst.connect()
    let dbsize: number
    try {
      await reloadFrom(src, rdb)
      await reloadFrom(dst, rdb)
      dbsize = await src.dbsize()
      if ((await dst.dbsize()) !== dbsize) throw new Error('the two servers did not load the same keys')
    } finally {
      src.disconnect()
      dst.disconnect()
    }
    notes.push(
      `${dbsize} keys (${PROFILE_DESCRIPTIONS[options.profile]}) on redis ${source.version}, two standalone servers loaded from one RDB file, loopback`,
    )

    const pairArgs = ['verify', '--source', source.url, '--target', target.url]
    const verifyArgs = [...pairArgs, '--passes', '1']
    // Exit 0 means identical: a verify that found differences fails the bench. The servers' command
    // counts and time during the run say what kvtop asked of them, whatever the machine's load.
    const measured = async (bin: string): Promise<MeasuredVerify> => {
      await Promise.all(
        [sPort, tPort].map((port) => runTimed(REDIS_CLI, ['-p', String(port), 'CONFIG', 'RESETSTAT'])),
      )
      const run = await runNodeMeasured(bin, verifyArgs, [source!.nodes[0].pid, target!.nodes[0].pid])
      const stats = `commands per key (server ms) during kvtop verify: source ${await commandStats(sPort, dbsize)}; target ${await commandStats(tPort, dbsize)}`
      return { ...run, stats }
    }
    // kvtop, the old build (KVTOP_BENCH_AB) and the listing by turns, round after round: a load
    // that comes and goes hits every side alike. The listing's check: it listed every key.
    const oldBin = abOldBin()
    const kvtopSide: Side<MeasuredVerify> = { name: 'kvtop verify', run: () => measured(MEASURED_BIN) }
    const oldSide: Side<MeasuredVerify>[] = oldBin
      ? [{ name: `kvtop verify (old build: ${oldBin})`, run: () => measured(oldBin) }]
      : []
    let listed = 0
    const listing: Side = {
      name: 'redis-cli --scan (one side)',
      run: async () => {
        const scan = await runTimed(REDIS_CLI, ['-p', String(sPort), '--scan'])
        listed = scan.stdout.split('\n').filter(Boolean).length
        return { seconds: scan.seconds }
      },
      check: async () => listed === dbsize,
    }
    const [kvtop, anchor, ...old] = await runRounds<MeasuredVerify | Timed>(
      [kvtopSide, listing, ...oldSide],
      benchRounds(),
    )
    const kvtopRuns = kvtop as SideRuns<MeasuredVerify>
    const oldRuns = old as SideRuns<MeasuredVerify>[]
    notes.push(...perRunNotes([kvtopRuns, ...oldRuns]))
    notes.push(roundsNote(kvtop, anchor))
    if (oldRuns.length) notes.push(abNote('kvtop verify', oldRuns[0], kvtopRuns, anchor))
    // The goal (1.0x the listing's rate) allows the listing's median time.
    notes.push(
      reachNote(
        'kvtop verify, its median round',
        medianRun(kvtopRuns).cpu,
        median(anchor.runs.map((r) => r.seconds)),
        availableParallelism(),
      ),
    )
    const row = roundsRow({
      case: `verify ${dbsize} identical keys, both directions`,
      keys: dbsize,
      kvtop,
      anchor,
      goal: '>= 1.0x redis-cli --scan of one side',
      minRatio: 1,
    })
    if (process.env.KVTOP_BENCH_CPU_PROF) {
      const profDir = join(dir, 'profile')
      await runTimed(process.execPath, ['--cpu-prof', '--cpu-prof-dir', profDir, MEASURED_BIN, ...verifyArgs])
      const profile = readProfileDir(profDir)
      notes.push(profileNote('kvtop verify', summarizeProfile(profile, 10)))
      const startup = secondsUntil(profile, '/src/ops/verify/')
      if (startup !== undefined) {
        const work = row.kvtop.seconds - startup
        notes.push(
          `kvtop start-up (profile start to the first sample in src/ops/verify): ${startup.toFixed(2)} s; the median run without it: ${work.toFixed(2)} s, ${(row.anchor.seconds / work).toFixed(2)}x the listing's median`,
        )
      }
    }
    const differing = await everyKeyDiffers(tPort, pairArgs, dbsize, anchor)
    notes.push(differing.note)
    notes.push('whole processes timed, spawn to exit; a 2-core machine shared by kvtop and both servers')
    return { name: 'verify', rows: [row, differing.row], notes }
  } finally {
    if (source) await sandboxDown('bench-vsrc', env).catch(() => {})
    if (target) await sandboxDown('bench-vdst', env).catch(() => {})
    rmSync(dir, { recursive: true, force: true })
  }
}
