import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { sandboxDown, sandboxUp, type SandboxSummary } from '../src/sandbox/sandbox.js'
import { writeRestoreStream } from '../src/ops/snapshot/restore.js'
import { summarize } from '../src/ops/snapshot/restore-file.js'
import { loadDataset, PROFILE_DESCRIPTIONS, REDIS_CLI, runTimed as run } from './lib-dataset.js'
import {
  abNote,
  benchRounds,
  kvtopBuilds,
  kvtopRunner,
  type Build,
  type KvtopRunner,
  roundsNote,
  roundsRow,
  runRounds,
  type Side,
  type SideRuns,
} from './lib-rounds.js'
import type { BenchOptions, BenchReport, BenchRow } from './types.js'
import { MEASURED_BIN } from './lib-process.js'

/**
 * `npm run bench -- snapshot [--scale S]` (issue 4): on one standalone redis-server holding a mixed
 * 1M-key dataset (scale 1), in the same run and on the same data:
 *   - `snapshot create` (scan, and sync) against `redis-cli --rdb`; goal: kvtop time <= 2x.
 *     redis-cli --rdb is timed twice: with the server's defaults (a diskless SYNC first waits
 *     repl-diskless-sync-delay, 5 s) and with that delay set to 0, the anchor's best case.
 *   - `snapshot restore` against `redis-cli --pipe` of the equivalent RESTORE stream (the same
 *     commands kvtop sends, pre-generated); goal: kvtop rate >= 0.8x the pipe's.
 * Each case runs KVTOP_BENCH_ROUNDS rounds (default 3), kvtop and its anchors by turns within a
 * round (bench/lib-rounds.ts); a row gives the median times and the median of the per-round ratios,
 * the notes every round and kvtop's CPU (user + sys) per round. Every restore, each round, goes into
 * an emptied server and is checked with DEBUG DIGEST against the source.
 * kvtop is timed as a whole process (spawn to exit, start-up included), as redis-cli is. With
 * KVTOP_BENCH_CPU_PROF=1, each kvtop run is profiled (`node --cpu-prof`) and the first of each case
 * summarized in the notes. KVTOP_BENCH_BIN points at another build's bin/kvtop.js (in place of this
 * one); KVTOP_BENCH_AB=OLD_BIN[,ROUNDS] runs OLD_BIN by turns with this build in every round and
 * reports both medians side by side.
 */

/** Loads a dataset: run once per data profile. */
export const usesDataset = true

/** What both halves of the bench share: the loaded servers, the builds, and where rows go. */
interface Bench {
  dir: string
  rounds: number
  builds: Build[]
  source: SandboxSummary
  target: SandboxSummary
  src: Redis
  dst: Redis
  dbsize: number
  sourceDigest: string
  /** One whole kvtop process of a build, timed with its CPU. */
  kvtop: KvtopRunner
  rows: BenchRow[]
  notes: string[]
}

/** The create rows; returns the .rdb file this build's scan wrote, for the restore half. */
async function createRows(b: Bench): Promise<string> {
  // redis-cli --rdb with the server's own repl-diskless-sync-delay (a diskless SYNC first waits
  // that long for more replicas: 5 s by default) and with 0, the anchor's best case.
  const [, defaultDelay] = (await b.src.config('GET', 'repl-diskless-sync-delay')) as string[]
  const syncDelay = (seconds: string) => () => b.src.config('SET', 'repl-diskless-sync-delay', seconds)
  const cliRdb = join(b.dir, 'cli.rdb')
  const cliSide = (name: string, delay: string): Side => ({
    name,
    prepare: syncDelay(delay),
    run: () => run(REDIS_CLI, ['-p', String(b.source.nodes[0].port), '--rdb', cliRdb]),
  })
  const createdFile = (build: Build, method: string) => join(b.dir, `${build.slug}-${method}.rdb`)
  const createSide = (build: Build, method: 'scan' | 'sync'): Side => ({
    name: `${build.label} snapshot create --method ${method}`,
    // The sync method reads a diskless SYNC too: without the delay, as an operator would run it.
    prepare: syncDelay('0'),
    run: () =>
      b.kvtop(build, `create-${method}`, [
        'snapshot',
        'create',
        b.source.url,
        '--out',
        createdFile(build, method),
        '--force',
        '--method',
        method,
      ]),
  })
  const [anchorDefault, anchorFast, scan, sync, oldScan, oldSync] = await runRounds(
    [
      cliSide(`redis-cli --rdb (repl-diskless-sync-delay ${defaultDelay}, the default)`, defaultDelay),
      cliSide('redis-cli --rdb (repl-diskless-sync-delay 0)', '0'),
      ...b.builds.flatMap((build) => [createSide(build, 'scan'), createSide(build, 'sync')]),
    ],
    b.rounds,
  )
  const createRow = (name: string, kvtop: SideRuns, anchor: SideRuns) =>
    roundsRow({
      case: `create ${b.dbsize} keys, ${name}`,
      keys: b.dbsize,
      kvtop,
      anchor,
      goal: 'time <= 2x redis-cli --rdb',
      minRatio: 0.5,
    })
  b.rows.push(
    createRow('scan (server defaults)', scan, anchorDefault),
    createRow('scan (no sync delay)', scan, anchorFast),
    createRow('--method sync (no sync delay)', sync, anchorFast),
  )
  b.notes.push(roundsNote(scan, anchorFast), roundsNote(sync, anchorFast))
  if (oldScan) b.notes.push(abNote('create, scan', oldScan, scan, anchorFast))
  if (oldSync) b.notes.push(abNote('create, --method sync', oldSync, sync, anchorFast))
  const scanFile = createdFile(b.builds[0], 'scan')
  b.notes.push(
    `files: kvtop scan ${statSync(scanFile).size} bytes, redis-cli --rdb ${statSync(cliRdb).size} bytes; the scan method is bound by the server's DUMP + PEXPIRETIME work (two commands a key), which SYNC does not pay`,
  )
  return scanFile
}

/** The restore row: kvtop restoring `rdb` against redis-cli --pipe of the same RESTORE commands. */
async function restoreRow(b: Bench, rdb: string): Promise<void> {
  const stream = join(b.dir, 'restore.resp')
  await writeRestoreStream(rdb, createWriteStream(stream))
  // Every restore starts from an empty target and must leave the source's data behind.
  const intoEmptyTarget = (side: Pick<Side, 'name' | 'run'>): Side => ({
    ...side,
    prepare: () => b.dst.flushall(),
    check: async () => String(await b.dst.call('DEBUG', 'DIGEST')) === b.sourceDigest,
  })
  const [pipe, restore, oldRestore] = await runRounds(
    [
      intoEmptyTarget({
        name: 'redis-cli --pipe of the same RESTORE stream',
        run: () => run(REDIS_CLI, ['-p', String(b.target.nodes[0].port), '--pipe'], { stdin: stream }),
      }),
      ...b.builds.map((build) =>
        intoEmptyTarget({
          name: `${build.label} snapshot restore`,
          run: () => b.kvtop(build, 'restore', ['snapshot', 'restore', rdb, '--target', b.target.url]),
        }),
      ),
    ],
    b.rounds,
  )
  b.rows.push(
    roundsRow({
      case: `restore ${b.dbsize} keys`,
      keys: b.dbsize,
      kvtop: restore,
      anchor: pipe,
      goal: 'rate >= 0.8x the pipe',
      minRatio: 0.8,
    }),
  )
  b.notes.push(
    roundsNote(restore, pipe),
    "restore includes kvtop's verification pass over the whole file (structure + CRC-64) before the first RESTORE; the pipe's stream was generated beforehand. Every run went into an emptied target and was checked with DEBUG DIGEST against the source (the checks above)",
  )
  if (oldRestore) b.notes.push(abNote('restore', oldRestore, restore, pipe))
}

/** What kvtop's verification pass costs by itself (in a warm process; the CLI's first pass also compiles). */
async function verificationNote(rdb: string): Promise<string> {
  const fileBytes = statSync(rdb).size
  const started = performance.now()
  await summarize(rdb, () => {}, fileBytes)
  const seconds = (performance.now() - started) / 1000
  return `verification pass alone: ${seconds.toFixed(3)} s over ${(fileBytes / 2 ** 20).toFixed(1)} MiB (${Math.round(fileBytes / 2 ** 20 / seconds)} MiB/s)`
}

export async function run_(options: BenchOptions): Promise<BenchReport> {
  const keys = Math.max(1000, Math.round(1_000_000 * options.scale))
  const dir = mkdtempSync(join(tmpdir(), 'kvtop-bench-snapshot-'))
  const env = { ...process.env, KVTOP_SANDBOX_DIR: join(dir, 'sandboxes') }
  const notes: string[] = []
  const rows: BenchRow[] = []
  let source: SandboxSummary | undefined
  let target: SandboxSummary | undefined
  try {
    source = await sandboxUp({ name: 'bench-src', shards: 0, replicas: 0, flavor: 'redis', env })
    target = await sandboxUp({ name: 'bench-dst', shards: 0, replicas: 0, flavor: 'redis', env })
    await loadDataset(source.nodes[0].port, keys, dir, options.profile)
    const src = new Redis({ port: source.nodes[0].port, lazyConnect: true })
    const dst = new Redis({ port: target.nodes[0].port, lazyConnect: true })
    await src.connect()
    await dst.connect()
    try {
      const bench: Bench = {
        dir,
        rounds: benchRounds(),
        builds: kvtopBuilds(MEASURED_BIN),
        source,
        target,
        src,
        dst,
        dbsize: await src.dbsize(),
        sourceDigest: String(await src.call('DEBUG', 'DIGEST')),
        kvtop: kvtopRunner(dir, [source.nodes[0].pid], notes),
        rows,
        notes,
      }
      notes.push(
        `${bench.dbsize} keys (${PROFILE_DESCRIPTIONS[options.profile]}) on redis ${source.version}, one standalone server, loopback; ${bench.rounds} rounds, the sides of a case by turns within each`,
      )
      const scanFile = await createRows(bench)
      await restoreRow(bench, scanFile)
      notes.push(await verificationNote(scanFile))
      notes.push('whole processes timed, spawn to exit; a 2-core machine shared by the client and the server')
    } finally {
      src.disconnect()
      dst.disconnect()
    }
  } finally {
    if (source) await sandboxDown('bench-src', env).catch(() => {})
    if (target) await sandboxDown('bench-dst', env).catch(() => {})
    rmSync(dir, { recursive: true, force: true })
  }
  return { name: 'snapshot', rows, notes }
}

export { run_ as run }
