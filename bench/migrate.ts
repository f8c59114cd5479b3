import { createWriteStream, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import { Deployment } from '../src/connect/deployment.js'
import { keySlot } from '../src/wire/routed-pipeline.js'
import { runMigration } from '../src/ops/migrate/migrate.js'
import { createSnapshot } from '../src/ops/snapshot/create.js'
import { SnapshotOutputs } from '../src/ops/snapshot/outputs.js'
import { writeRestoreStreams } from '../src/ops/snapshot/restore.js'
import { sandboxDown, sandboxUp, type SandboxSummary } from '../src/sandbox/sandbox.js'
import { describeCpu, measureInProcess, runNodeMeasured, serverCpuMeter } from './lib-cpu.js'
import { loadDataset, PROFILE_DESCRIPTIONS, REDIS_CLI, runTimed } from './lib-dataset.js'
import { profileNote, readProfileDir, summarizeProfile } from './lib-profile.js'
import type { BenchOptions, BenchReport, BenchRow } from './types.js'

/**
 * `npm run bench -- migrate [--scale S]` (issue 7): a 1M-key mixed dataset (scale 1) on one
 * standalone server copied into an empty 3-shard cluster, three ways in the same run:
 *   - `kvtop migrate run --read sync`: the same copy from the source's replication snapshot (SYNC)
 *     instead of SCAN + DUMP (the source forks once instead of answering three commands per key),
 *     in this process and as a whole process;
 *   - `kvtop migrate run` (bulk copy, no verify): SCAN + PEXPIRETIME + DUMP, RESTORE routed by slot,
 *     in this process; again as a whole CLI process, start to exit (start-up, preflight and all:
 *     what a user waits for; KVTOP_BENCH_CPU_PROF=1 profiles it, summarized in the notes); and
 *     again with `--mode logical` (values rebuilt with type commands), reported beside it;
 *   - the ceiling: the same RESTORE commands pre-generated, split by slot into one stream per
 *     target primary, and `redis-cli --pipe` into the three primaries at once (stream generation
 *     not timed);
 *   - `redis-cli --cluster import --cluster-copy --cluster-replace`, the stock tool for the job.
 * Goal: kvtop >= 0.5x the ceiling. Each copy is checked: the target's key count equals the source's.
 * Beside the ratios: kvtop's CPU (this process: the copy runs in it) and its wait for a core against
 * the wall time, and each server's CPU, so that a missed goal says who the limit is.
 */
/** The kvtop run as a whole process; KVTOP_BENCH_BIN points at another build's bin/kvtop.js (A/B). */
const BIN = process.env.KVTOP_BENCH_BIN ?? fileURLToPath(new URL('../../bin/kvtop.js', import.meta.url))

/** Loads a dataset: run once per data profile. */
export const usesDataset = true

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
    const sPort = source.nodes[0].port
    const primaries = target.nodes.filter((n) => n.role === 'primary').map((n) => n.port)
    await loadDataset(sPort, keys, dir, options.profile)
    const connect = async (port: number) => {
      const r = new Redis({ port, lazyConnect: true })
      await r.connect()
      conns.push(r)
      return r
    }
    const src = await connect(sPort)
    const dst = await Promise.all(primaries.map(connect))
    const dbsize = await src.dbsize()
    const targetKeys = async () => (await Promise.all(dst.map((d) => d.dbsize()))).reduce((a, b) => a + b, 0)
    const flushTarget = () => Promise.all(dst.map((d) => d.flushall()))
    notes.push(
      `${dbsize} keys (${PROFILE_DESCRIPTIONS[options.profile]}) on redis ${source.version}: one standalone server -> a 3-shard cluster, loopback, 2 cores shared by everything`,
    )

    // --- kvtop ------------------------------------------------------------------------------------
    const serverPids = [
      source.nodes[0].pid,
      ...target.nodes.filter((n) => n.role === 'primary').map((n) => n.pid),
    ]
    const { result: report, cpu: kvtopCpu } = await measureInProcess(serverPids, () =>
      runMigration(
        {
          source: { url: `redis://127.0.0.1:${sPort}` },
          target: { url: `redis://127.0.0.1:${primaries[0]}` },
        },
        { verify: false },
      ),
    )
    const kvtopSeconds = kvtopCpu.wallSeconds
    const kvtopOk = (await targetKeys()) === dbsize && report.errors.total === 0
    const kvtopRate = dbsize / kvtopSeconds

    // --- kvtop migrate run as a whole process (start-up, preflight, copy, exit) -----------------
    await flushTarget()
    const profDir = join(dir, 'profile-migrate-run')
    const whole = await runNodeMeasured(
      BIN,
      [
        'migrate',
        'run',
        '--source',
        `redis://127.0.0.1:${sPort}`,
        '--target',
        `redis://127.0.0.1:${primaries[0]}`,
        '--no-verify',
      ],
      serverPids,
      process.env.KVTOP_BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', profDir] : [],
    )
    const wholeOk = (await targetKeys()) === dbsize
    if (process.env.KVTOP_BENCH_CPU_PROF)
      notes.push(
        profileNote('kvtop migrate run (whole process)', summarizeProfile(readProfileDir(profDir), 8)),
      )

    // --- kvtop --mode logical (values rebuilt with type commands) --------------------------------
    await flushTarget()
    const { result: logical, cpu: logicalCpu } = await measureInProcess(serverPids, () =>
      runMigration(
        {
          source: { url: `redis://127.0.0.1:${sPort}` },
          target: { url: `redis://127.0.0.1:${primaries[0]}` },
        },
        { verify: false, mode: 'logical' },
      ),
    )
    const logicalSeconds = logicalCpu.wallSeconds
    const logicalOk = (await targetKeys()) === dbsize && logical.errors.total === 0

    // --- kvtop --read sync: the source's replication snapshot instead of SCAN + DUMP ---------------
    // A diskless SYNC first waits repl-diskless-sync-delay (5 s by default) for more replicas: an
    // operator sets it to 0 for the migration (CONFIG SET, no restart), and so does the bench.
    await src.call('CONFIG', 'SET', 'repl-diskless-sync-delay', '0')
    await flushTarget()
    const { result: synced, cpu: syncCpu } = await measureInProcess(serverPids, () =>
      runMigration(
        {
          source: { url: `redis://127.0.0.1:${sPort}` },
          target: { url: `redis://127.0.0.1:${primaries[0]}` },
        },
        { verify: false, read: 'sync' },
      ),
    )
    const syncSeconds = syncCpu.wallSeconds
    const syncOk = (await targetKeys()) === dbsize && synced.errors.total === 0 && synced.read === 'sync'
    await flushTarget()
    const wholeSync = await runNodeMeasured(
      BIN,
      [
        'migrate',
        'run',
        '--source',
        `redis://127.0.0.1:${sPort}`,
        '--target',
        `redis://127.0.0.1:${primaries[0]}`,
        '--no-verify',
        '--read',
        'sync',
      ],
      serverPids,
    )
    const wholeSyncOk = (await targetKeys()) === dbsize

    // --- ceiling: pre-generated RESTORE streams, one per primary, piped in parallel ---------------
    await flushTarget()
    const slotOwner = new Array<number>(16384)
    const slots = (await dst[0].call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][]
    for (const [from, to, [, port]] of slots)
      for (let s = from; s <= to; s++) slotOwner[s] = primaries.indexOf(Number(port))
    const rdb = join(dir, 'source.rdb')
    const deployment = await Deployment.connect({ url: `redis://127.0.0.1:${sPort}` }, { probe: true })
    try {
      await createSnapshot(deployment, SnapshotOutputs.open(rdb, { overwrite: true }), { method: 'scan' })
    } finally {
      await deployment.close()
    }
    const streams = primaries.map((_, i) => join(dir, `restore-${i}.resp`))
    await writeRestoreStreams(
      rdb,
      streams.map((p) => createWriteStream(p)),
      (key) => slotOwner[keySlot(key)],
    )
    const pipeServers = serverCpuMeter(serverPids)
    const pipeStarted = performance.now()
    await Promise.all(
      primaries.map((port, i) => runTimed(REDIS_CLI, ['-p', String(port), '--pipe'], { stdin: streams[i] })),
    )
    const pipeSeconds = (performance.now() - pipeStarted) / 1000
    const pipeServerCpu = pipeServers.stop()
    notes.push(
      `servers' CPU while the ceiling ran (source, then the 3 target primaries): ${pipeServerCpu.map((c) => `${c.toFixed(2)} s (${Math.round((100 * c) / pipeSeconds)}%)`).join(', ')} of ${pipeSeconds.toFixed(2)} s`,
      describeCpu('kvtop bulk copy (servers: source, then the 3 target primaries)', kvtopCpu),
      describeCpu('kvtop migrate run, whole process', whole.cpu),
      describeCpu('kvtop bulk copy --mode logical', logicalCpu),
      describeCpu('kvtop bulk copy --read sync (servers: source, then the 3 target primaries)', syncCpu),
      describeCpu('kvtop migrate run --read sync, whole process', wholeSync.cpu),
      'the --read sync rows run with repl-diskless-sync-delay 0 on the source (the default 5 s wait for more replicas would be added to them)',
    )
    const pipeOk = (await targetKeys()) === dbsize
    const pipeRate = dbsize / pipeSeconds
    rows.push({
      case: `bulk copy ${dbsize} keys into 3 shards`,
      kvtop: { seconds: kvtopSeconds, rate: kvtopRate, unit: 'keys/s' },
      anchor: {
        name: 'ceiling: redis-cli --pipe x3 of pre-split RESTORE streams',
        seconds: pipeSeconds,
        rate: pipeRate,
      },
      ratio: kvtopRate / pipeRate,
      goal: '>= 0.5x the ceiling',
      met: kvtopRate >= 0.5 * pipeRate && kvtopOk,
    })

    rows.push({
      case: `bulk copy ${dbsize} keys into 3 shards, whole process (kvtop migrate run, start to exit)`,
      kvtop: { seconds: whole.seconds, rate: dbsize / whole.seconds, unit: 'keys/s' },
      anchor: {
        name: 'ceiling: redis-cli --pipe x3 of pre-split RESTORE streams',
        seconds: pipeSeconds,
        rate: pipeRate,
      },
      ratio: dbsize / whole.seconds / pipeRate,
      goal: '>= 0.5x the ceiling',
      met: dbsize / whole.seconds >= 0.5 * pipeRate && wholeOk,
    })

    rows.push({
      case: `bulk copy ${dbsize} keys into 3 shards, --mode logical`,
      kvtop: { seconds: logicalSeconds, rate: dbsize / logicalSeconds, unit: 'keys/s' },
      anchor: {
        name: 'ceiling: redis-cli --pipe x3 of pre-split RESTORE streams',
        seconds: pipeSeconds,
        rate: pipeRate,
      },
      ratio: dbsize / logicalSeconds / pipeRate,
      goal: 'reported (the portable path)',
      met: logicalOk,
    })

    const ceiling = {
      name: 'ceiling: redis-cli --pipe x3 of pre-split RESTORE streams',
      seconds: pipeSeconds,
      rate: pipeRate,
    }
    rows.push({
      case: `bulk copy ${dbsize} keys into 3 shards, --read sync (the replication snapshot)`,
      kvtop: { seconds: syncSeconds, rate: dbsize / syncSeconds, unit: 'keys/s' },
      anchor: ceiling,
      ratio: dbsize / syncSeconds / pipeRate,
      goal: '>= 0.5x the ceiling',
      met: dbsize / syncSeconds >= 0.5 * pipeRate && syncOk,
    })
    rows.push({
      case: `bulk copy ${dbsize} keys into 3 shards, --read sync, whole process (start to exit)`,
      kvtop: { seconds: wholeSync.seconds, rate: dbsize / wholeSync.seconds, unit: 'keys/s' },
      anchor: ceiling,
      ratio: dbsize / wholeSync.seconds / pipeRate,
      goal: '>= 0.5x the ceiling',
      met: dbsize / wholeSync.seconds >= 0.5 * pipeRate && wholeSyncOk,
    })

    // --- redis-cli --cluster import -----------------------------------------------------------------
    await flushTarget()
    const imported = await runTimed(REDIS_CLI, [
      '--cluster',
      'import',
      `127.0.0.1:${primaries[0]}`,
      '--cluster-from',
      `127.0.0.1:${sPort}`,
      '--cluster-copy',
      '--cluster-replace',
    ])
    const importedKeys = await targetKeys()
    // Which keys did it miss? Sample the binary-named share (names ending in \xff\xfe\r\n\0).
    const bin = Buffer.from([0xff, 0xfe, 0x0d, 0x0a, 0x00])
    let binaryPresent = 0
    let binarySampled = 0
    for (let i = 14; i < Math.min(dbsize, 2000); i += 20) {
      const key = Buffer.concat([Buffer.from(`bench:${i}`), bin])
      binarySampled++
      binaryPresent += await dst[slotOwner[keySlot(key)]].exists(key)
    }
    const importOk = importedKeys === dbsize
    const importRate = dbsize / imported.seconds
    rows.push({
      case: `bulk copy ${dbsize} keys into 3 shards`,
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
    notes.push(
      `target key count equal to the source's: kvtop ${kvtopOk}, kvtop whole process ${wholeOk}, kvtop logical ${logicalOk}, kvtop --read sync ${syncOk}, kvtop --read sync whole process ${wholeSyncOk}, pipe ${pipeOk}, import ${importOk} (${importedKeys} of ${dbsize}; binary-named keys found after import: ${binaryPresent} of ${binarySampled} sampled${
        importOk
          ? ''
          : `; redis-cli said: ${
              imported.stdout
                .split('\n')
                .filter((l) => /ERR|error|fail/i.test(l))
                .slice(0, 3)
                .join(' | ') || 'nothing'
            }`
      })`,
      "kvtop's time includes connecting, the capability probe and the empty-target check; timed in-process (no CLI start-up), and as a whole process (start-up included) in its own row",
    )
  } finally {
    for (const c of conns) c.disconnect()
    if (source) await sandboxDown('bench-src', env).catch(() => {})
    if (target) await sandboxDown('bench-dst', env).catch(() => {})
    rmSync(dir, { recursive: true, force: true })
  }
  return { name: 'migrate', rows, notes }
}
