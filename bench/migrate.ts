import { createWriteStream, mkdtempSync, rmSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { Deployment } from '../src/connect/deployment.js'
import { keySlot } from '../src/wire/routed-pipeline.js'
import { runMigration } from '../src/ops/migrate/migrate.js'
import type { MigrateOptions } from '../src/ops/migrate/types.js'
import { createSnapshot } from '../src/ops/snapshot/create.js'
import { SnapshotOutputs } from '../src/ops/snapshot/outputs.js'
import { writeRestoreStreams } from '../src/ops/snapshot/restore.js'
import { sandboxDown, sandboxUp, type SandboxSummary } from '../src/sandbox/sandbox.js'
import { describeCpu, measureInProcess, reachNote, serverCpuMeter, type CpuBreakdown } from './lib-cpu.js'
import { clusterImport, loadDataset, PROFILE_DESCRIPTIONS, REDIS_CLI, runTimed } from './lib-dataset.js'
import {
  abNote,
  benchRounds,
  kvtopBuilds,
  kvtopRunner,
  median,
  medianRun,
  roundsNote,
  roundsRow,
  runRounds,
  type Build,
  type KvtopRunner,
  type Side,
  type SideRuns,
} from './lib-rounds.js'
import type { BenchOptions, BenchReport, BenchRow } from './types.js'
import { MEASURED_BIN } from './lib-process.js'

/**
 * `npm run bench -- migrate [--scale S]` (issue 7): a 1M-key mixed dataset (scale 1) on one
 * standalone server copied into an empty 3-shard cluster, several ways on the same data:
 *   - the ceiling: the same RESTORE commands kvtop sends, pre-generated, split by slot into one
 *     stream per target primary, and `redis-cli --pipe` into the three primaries at once (stream
 *     generation not timed);
 *   - `kvtop migrate run --no-verify` as a whole CLI process, start to exit (start-up, preflight and
 *     all: what a user waits for), SCAN + PEXPIRETIME + DUMP, RESTORE routed by slot; and again with
 *     `--read sync` (the source's replication snapshot instead: it forks once instead of answering
 *     three commands per key). These and the ceiling run KVTOP_BENCH_ROUNDS rounds (default 3), by
 *     turns within each round (bench/lib-rounds.ts): the rows give median times and the median of
 *     the per-round ratios, the notes every round and kvtop's CPU (user + sys) per round;
 *   - the same copy in this process (runMigration, no CLI start-up): bulk copy, `--mode logical`
 *     (values rebuilt with type commands) and `--read sync`, one run each, against the ceiling's
 *     median;
 *   - `redis-cli --cluster import --cluster-copy --cluster-replace`, the stock tool for the job,
 *     against the in-process bulk copy.
 * Goal: kvtop >= 0.5x the ceiling. The target is emptied (FLUSHALL on every primary) before each
 * copy, and each copy checked: the target's key count equals the source's. Beside the ratios:
 * kvtop's CPU and its wait for a core against the wall time, and each server's CPU, so that a
 * missed goal says who the limit is. KVTOP_BENCH_CPU_PROF=1 profiles the whole-process runs (the
 * first of each summarized in the notes). KVTOP_BENCH_BIN points at another build's bin/kvtop.js
 * (in place of this one); KVTOP_BENCH_AB=OLD_BIN[,ROUNDS] runs OLD_BIN's whole processes by turns
 * with this build's in every round and reports both medians side by side.
 */

/** Loads a dataset: run once per data profile. */
export const usesDataset = true

const CEILING = 'ceiling: redis-cli --pipe x3 of pre-split RESTORE streams'

/** The loaded source and the empty 3-shard target, and what every part of the bench needs of them. */
interface Bench {
  dir: string
  sourceUrl: string
  targetUrl: string
  sourcePort: number
  primaries: number[]
  /** The source, then the target primaries: the servers whose CPU is metered. */
  serverPids: (number | undefined)[]
  src: Redis
  dst: Redis[]
  dbsize: number
  rows: BenchRow[]
  notes: string[]
}

/** The target's keys, over every primary. */
async function targetKeys(b: Bench): Promise<number> {
  return (await Promise.all(b.dst.map((d) => d.dbsize()))).reduce((a, c) => a + c, 0)
}

async function flushTarget(b: Bench): Promise<void> {
  await Promise.all(b.dst.map((d) => d.flushall()))
}

/** Every copy starts from an empty target and must leave all the source's keys in it. */
function intoEmptyTarget<T extends Side>(b: Bench, side: T): T {
  return { ...side, prepare: () => flushTarget(b), check: async () => (await targetKeys(b)) === b.dbsize }
}

/** One copy in this process (no CLI start-up), into an emptied target, timed with the servers' CPU. */
async function inProcessCopy(b: Bench, options: MigrateOptions) {
  await flushTarget(b)
  const { result, cpu } = await measureInProcess(b.serverPids, () =>
    runMigration(
      { source: { url: b.sourceUrl }, target: { url: b.targetUrl } },
      { verify: false, ...options },
    ),
  )
  const ok = (await targetKeys(b)) === b.dbsize && result.errors.total === 0
  return { report: result, cpu, ok }
}

/** Which target primary (index into `primaries`) owns each of the 16384 slots. */
async function slotOwners(b: Bench): Promise<number[]> {
  const owner = new Array<number>(16384)
  const slots = (await b.dst[0].call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][]
  for (const [from, to, [, port]] of slots)
    for (let s = from; s <= to; s++) owner[s] = b.primaries.indexOf(port)
  return owner
}

/** The ceiling's input, untimed: the source's RESTORE commands, one stream file per target primary. */
async function restoreStreams(b: Bench, slotOwner: number[]): Promise<string[]> {
  const rdb = join(b.dir, 'source.rdb')
  const deployment = await Deployment.connect({ url: b.sourceUrl }, { probe: true })
  try {
    await createSnapshot(deployment, SnapshotOutputs.open(rdb, { overwrite: true }), { method: 'scan' })
  } finally {
    await deployment.close()
  }
  const streams = b.primaries.map((_, i) => join(b.dir, `restore-${i}.resp`))
  await writeRestoreStreams(
    rdb,
    streams.map((p) => createWriteStream(p)),
    (key) => slotOwner[keySlot(key)],
  )
  return streams
}

/** The ceiling, once: the streams piped into the three primaries at once, with the servers' CPU. */
async function pipeCeiling(b: Bench, streams: string[]): Promise<{ seconds: number; serverCpu: number[] }> {
  const servers = serverCpuMeter(b.serverPids)
  const started = performance.now()
  await Promise.all(
    b.primaries.map((port, i) => runTimed(REDIS_CLI, ['-p', String(port), '--pipe'], { stdin: streams[i] })),
  )
  return { seconds: (performance.now() - started) / 1000, serverCpu: servers.stop() }
}

/** `kvtop migrate run` of a build as a whole process, by the source's SCAN or its SYNC. */
function wholeProcessSide(b: Bench, kvtop: KvtopRunner, build: Build, read: 'scan' | 'sync'): Side {
  const args = ['migrate', 'run', '--source', b.sourceUrl, '--target', b.targetUrl, '--no-verify']
  return intoEmptyTarget(b, {
    name: `${build.label} migrate run${read === 'sync' ? ' --read sync' : ''}, whole process`,
    run: () =>
      kvtop(build, `migrate run --read ${read}`, read === 'sync' ? [...args, '--read', 'sync'] : args),
  })
}

/**
 * The ceiling and the whole-process runs of every build, by turns in each round; the rows and
 * notes for this build, the A/B notes for an old one. Returns the ceiling's runs.
 */
async function wholeProcessRounds(
  b: Bench,
  streams: string[],
  builds: Build[],
  rounds: number,
): Promise<SideRuns<{ seconds: number; serverCpu?: number[] }>> {
  const kvtop = kvtopRunner(b.dir, b.serverPids, b.notes)
  const [ceiling, ...copies] = await runRounds<{ seconds: number; serverCpu?: number[]; cpu?: CpuBreakdown }>(
    [
      intoEmptyTarget(b, { name: CEILING, run: () => pipeCeiling(b, streams) }),
      ...builds.flatMap((build) => [
        wholeProcessSide(b, kvtop, build, 'scan'),
        wholeProcessSide(b, kvtop, build, 'sync'),
      ]),
    ],
    rounds,
  )
  const [scan, sync, oldScan, oldSync] = copies
  const row = (name: string, side: SideRuns) =>
    roundsRow({
      case: `bulk copy ${b.dbsize} keys into 3 shards, ${name}`,
      keys: b.dbsize,
      kvtop: side,
      anchor: ceiling,
      goal: '>= 0.5x the ceiling',
      minRatio: 0.5,
    })
  // The longest run the goal allows (0.5x the ceiling's rate), for the reach notes.
  const budget = median(ceiling.runs.map((r) => r.seconds)) / 0.5
  const cores = availableParallelism()
  b.rows.push(
    row('whole process (kvtop migrate run, start to exit)', scan),
    row('--read sync, whole process (start to exit)', sync),
  )
  b.notes.push(
    roundsNote(scan, ceiling),
    roundsNote(sync, ceiling),
    describeCpu('kvtop migrate run, whole process, its median round', medianRun(scan).cpu!),
    describeCpu('kvtop migrate run --read sync, whole process, its median round', medianRun(sync).cpu!),
    reachNote('migrate run, whole process, its median round', medianRun(scan).cpu!, budget, cores),
    reachNote(
      'migrate run --read sync, whole process, its median round',
      medianRun(sync).cpu!,
      budget,
      cores,
    ),
  )
  if (oldScan) b.notes.push(abNote('migrate run, whole process', oldScan, scan, ceiling))
  if (oldSync) b.notes.push(abNote('migrate run --read sync, whole process', oldSync, sync, ceiling))
  return ceiling
}

/** An in-process copy against the ceiling's median time. */
function inProcessRow(
  b: Bench,
  name: string,
  seconds: number,
  ceilingSeconds: number,
  goal: string,
  met: boolean,
) {
  const rate = b.dbsize / seconds
  const ceilingRate = b.dbsize / ceilingSeconds
  return {
    case: `bulk copy ${b.dbsize} keys into 3 shards${name}`,
    kvtop: { seconds, rate, unit: 'keys/s' },
    anchor: { name: `${CEILING} (median)`, seconds: ceilingSeconds, rate: ceilingRate },
    ratio: rate / ceilingRate,
    goal,
    met,
  }
}

/** redis-cli --cluster import into an emptied target, against kvtop's in-process bulk copy. */
async function importRow(
  b: Bench,
  slotOwner: number[],
  kvtopSeconds: number,
  kvtopOk: boolean,
): Promise<void> {
  await flushTarget(b)
  const imported = await clusterImport(b.primaries[0], b.sourcePort)
  const importedKeys = await targetKeys(b)
  // Which keys did it miss? Sample the binary-named share (names ending in \xff\xfe\r\n\0).
  const bin = Buffer.from([0xff, 0xfe, 0x0d, 0x0a, 0x00])
  let binaryPresent = 0
  let binarySampled = 0
  for (let i = 14; i < Math.min(b.dbsize, 2000); i += 20) {
    const key = Buffer.concat([Buffer.from(`bench:${i}`), bin])
    binarySampled++
    binaryPresent += await b.dst[slotOwner[keySlot(key)]].exists(key)
  }
  const importOk = importedKeys === b.dbsize
  const kvtopRate = b.dbsize / kvtopSeconds
  const importRate = b.dbsize / imported.seconds
  b.rows.push({
    case: `bulk copy ${b.dbsize} keys into 3 shards`,
    kvtop: { seconds: kvtopSeconds, rate: kvtopRate, unit: 'keys/s' },
    anchor: {
      name: 'redis-cli --cluster import --cluster-copy',
      seconds: imported.seconds,
      rate: importRate,
    },
    ratio: kvtopRate / importRate,
    goal: 'faster than the stock tool',
    met: kvtopRate > importRate && kvtopOk,
  })
  const complaints = imported.stdout
    .split('\n')
    .filter((l) => /ERR|error|fail/i.test(l))
    .slice(0, 3)
    .join(' | ')
  b.notes.push(
    `redis-cli --cluster import: target key count equal to the source's ${importOk} (${importedKeys} of ${b.dbsize}; binary-named keys found after import: ${binaryPresent} of ${binarySampled} sampled${importOk ? '' : `; redis-cli said: ${complaints || 'nothing'}`})`,
  )
}

async function measure(b: Bench): Promise<void> {
  const rounds = benchRounds()
  // A diskless SYNC first waits repl-diskless-sync-delay (5 s by default) for more replicas: an
  // operator sets it to 0 for a --read sync migration (CONFIG SET, no restart), and so does the bench.
  await b.src.call('CONFIG', 'SET', 'repl-diskless-sync-delay', '0')
  const bulk = await inProcessCopy(b, {})
  const logical = await inProcessCopy(b, { mode: 'logical' })
  const synced = await inProcessCopy(b, { read: 'sync' })
  const syncOk = synced.ok && synced.report.read === 'sync'

  const slotOwner = await slotOwners(b)
  const streams = await restoreStreams(b, slotOwner)
  const ceiling = await wholeProcessRounds(b, streams, kvtopBuilds(MEASURED_BIN), rounds)
  const ceilingSeconds = median(ceiling.runs.map((r) => r.seconds))
  const ceilingServers = medianRun(ceiling)
  b.rows.unshift(
    inProcessRow(
      b,
      '',
      bulk.cpu.wallSeconds,
      ceilingSeconds,
      '>= 0.5x the ceiling',
      bulk.cpu.wallSeconds <= 2 * ceilingSeconds && bulk.ok,
    ),
  )
  b.rows.push(
    inProcessRow(
      b,
      ', --mode logical',
      logical.cpu.wallSeconds,
      ceilingSeconds,
      'reported (the portable path)',
      logical.ok,
    ),
    inProcessRow(
      b,
      ', --read sync (the replication snapshot)',
      synced.cpu.wallSeconds,
      ceilingSeconds,
      '>= 0.5x the ceiling',
      synced.cpu.wallSeconds <= 2 * ceilingSeconds && syncOk,
    ),
  )
  b.notes.push(
    `servers' CPU in the ceiling's median round (source, then the 3 target primaries): ${ceilingServers.serverCpu!.map((c) => `${c.toFixed(2)} s (${Math.round((100 * c) / ceilingServers.seconds)}%)`).join(', ')} of ${ceilingServers.seconds.toFixed(2)} s`,
    describeCpu('kvtop bulk copy in this process (servers: source, then the 3 target primaries)', bulk.cpu),
    describeCpu('kvtop bulk copy --mode logical in this process', logical.cpu),
    describeCpu('kvtop bulk copy --read sync in this process', synced.cpu),
    'the --read sync rows run with repl-diskless-sync-delay 0 on the source (the default 5 s wait for more replicas would be added to them)',
    `target key count equal to the source's after the in-process copies: bulk ${bulk.ok}, logical ${logical.ok}, --read sync ${syncOk}`,
    "the in-process rows are one run each (connecting, the capability probe and the empty-target check included, no CLI start-up), against the ceiling's median",
  )
  await importRow(b, slotOwner, bulk.cpu.wallSeconds, bulk.ok)
}

export async function run(options: BenchOptions): Promise<BenchReport> {
  const keys = Math.max(1000, Math.round(1_000_000 * options.scale))
  const dir = mkdtempSync(join(tmpdir(), 'kvtop-bench-migrate-'))
  const env = { ...process.env, KVTOP_SANDBOX_DIR: join(dir, 'sandboxes') }
  const notes: string[] = []
  const rows: BenchRow[] = []
  let source: SandboxSummary | undefined
  let target: SandboxSummary | undefined
  const conns: Redis[] = []
  try {
    ;[source, target] = await Promise.all([
      sandboxUp({ name: 'bench-src', shards: 0, replicas: 0, flavor: 'redis', env }),
      sandboxUp({ name: 'bench-dst', shards: 3, replicas: 0, flavor: 'redis', env }),
    ])
    const sourcePort = source.nodes[0].port
    const primaryNodes = target.nodes.filter((n) => n.role === 'primary')
    await loadDataset(sourcePort, keys, dir, options.profile)
    const connect = async (port: number) => {
      const r = new Redis({ port, lazyConnect: true })
      await r.connect()
      conns.push(r)
      return r
    }
    const src = await connect(sourcePort)
    const primaries = primaryNodes.map((n) => n.port)
    const bench: Bench = {
      dir,
      sourceUrl: `redis://127.0.0.1:${sourcePort}`,
      targetUrl: `redis://127.0.0.1:${primaries[0]}`,
      sourcePort,
      primaries,
      serverPids: [source.nodes[0].pid, ...primaryNodes.map((n) => n.pid)],
      src,
      dst: await Promise.all(primaries.map(connect)),
      dbsize: await src.dbsize(),
      rows,
      notes,
    }
    notes.push(
      `${bench.dbsize} keys (${PROFILE_DESCRIPTIONS[options.profile]}) on redis ${source.version}: one standalone server -> a 3-shard cluster, loopback, 2 cores shared by everything; ${benchRounds()} rounds of the whole-process rows`,
    )
    await measure(bench)
  } finally {
    for (const c of conns) c.disconnect()
    if (source) await sandboxDown('bench-src', env).catch(() => {})
    if (target) await sandboxDown('bench-dst', env).catch(() => {})
    rmSync(dir, { recursive: true, force: true })
  }
  return { name: 'migrate', rows, notes }
}
