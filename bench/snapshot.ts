import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import { sandboxDown, sandboxUp, type SandboxSummary } from '../src/sandbox/sandbox.js'
import { writeRestoreStream } from '../src/ops/snapshot/restore.js'
import { summarize } from '../src/ops/snapshot/restore-file.js'
import { loadDataset, PROFILE_DESCRIPTIONS, REDIS_CLI, runTimed as run } from './lib-dataset.js'
import { profileNote, readProfileDir, summarizeProfile } from './lib-profile.js'
import type { BenchOptions, BenchReport, BenchRow } from './types.js'

/**
 * `npm run bench -- snapshot [--scale S]` (issue 4): on one standalone redis-server holding a mixed
 * 1M-key dataset (scale 1), in the same run and on the same data:
 *   - `snapshot create` (scan, and sync) against `redis-cli --rdb`; goal: kvtop time <= 2x.
 *     redis-cli --rdb is timed twice: with the server's defaults (a diskless SYNC first waits
 *     repl-diskless-sync-delay, 5 s) and with that delay set to 0, the anchor's best case.
 *   - `snapshot restore` against `redis-cli --pipe` of the equivalent RESTORE stream (the same
 *     commands kvtop sends, pre-generated); goal: kvtop rate >= 0.8x the pipe's.
 * Both restores go into an empty server and are checked with DEBUG DIGEST against the source.
 * kvtop is timed as a whole process (spawn to exit, start-up included), as redis-cli is. With
 * KVTOP_BENCH_CPU_PROF=1, each kvtop run is profiled (`node --cpu-prof`) and summarized in the
 * notes. KVTOP_BENCH_BIN points at another build's bin/kvtop.js, to compare before and after.
 */

const BIN = process.env.KVTOP_BENCH_BIN ?? fileURLToPath(new URL('../../bin/kvtop.js', import.meta.url))

/** Loads a dataset: run once per data profile. */
export const usesDataset = true

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
    const sPort = source.nodes[0].port
    const tPort = target.nodes[0].port
    await loadDataset(sPort, keys, dir, options.profile)
    const src = new Redis({ port: sPort, lazyConnect: true })
    const dst = new Redis({ port: tPort, lazyConnect: true })
    await src.connect()
    await dst.connect()
    try {
      const dbsize = await src.dbsize()
      const sourceDigest = String(await src.call('DEBUG', 'DIGEST'))
      notes.push(
        `${dbsize} keys (${PROFILE_DESCRIPTIONS[options.profile]}) on redis ${source.version}, one standalone server, loopback`,
      )

      // --- create ---------------------------------------------------------------------------------
      const cliRdb = join(dir, 'cli.rdb')
      const anchorDefault = await run(REDIS_CLI, ['-p', String(sPort), '--rdb', cliRdb])
      await src.call('CONFIG', 'SET', 'repl-diskless-sync-delay', '0')
      const anchorFast = await run(REDIS_CLI, ['-p', String(sPort), '--rdb', cliRdb])
      const cliSize = statSync(cliRdb).size

      /** kvtop as a whole process; with KVTOP_BENCH_CPU_PROF, under the profiler, summarized in the notes. */
      const kvtop = async (label: string, args: string[]) => {
        const profDir = join(dir, `profile-${label.replace(/\W+/g, '-')}`)
        const prof = process.env.KVTOP_BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', profDir] : []
        const result = await run(process.execPath, [...prof, BIN, ...args])
        if (prof.length)
          notes.push(profileNote(`kvtop ${label}`, summarizeProfile(readProfileDir(profDir), 8)))
        return result
      }
      const timeCreate = (method: 'scan' | 'sync', out: string) =>
        kvtop(`snapshot create --method ${method}`, [
          'snapshot',
          'create',
          source!.url,
          '--out',
          out,
          '--force',
          '--method',
          method,
        ])
      const scanFile = join(dir, 'kvtop-scan.rdb')
      const scan = await timeCreate('scan', scanFile)
      const sync = await timeCreate('sync', join(dir, 'kvtop-sync.rdb'))
      const createRow = (
        name: string,
        k: { seconds: number },
        anchor: { seconds: number },
        anchorName: string,
      ): BenchRow => ({
        case: name,
        kvtop: { seconds: k.seconds, rate: dbsize / k.seconds, unit: 'keys/s' },
        anchor: { name: anchorName, seconds: anchor.seconds, rate: dbsize / anchor.seconds },
        ratio: anchor.seconds / k.seconds,
        goal: 'time <= 2x redis-cli --rdb',
        met: k.seconds <= 2 * anchor.seconds,
      })
      rows.push(
        createRow(
          `create ${dbsize} keys, scan (server defaults)`,
          scan,
          anchorDefault,
          'redis-cli --rdb (repl-diskless-sync-delay 5, the default)',
        ),
      )
      rows.push(
        createRow(
          `create ${dbsize} keys, scan (no sync delay)`,
          scan,
          anchorFast,
          'redis-cli --rdb (repl-diskless-sync-delay 0)',
        ),
      )
      rows.push(
        createRow(
          `create ${dbsize} keys, --method sync (no sync delay)`,
          sync,
          anchorFast,
          'redis-cli --rdb (repl-diskless-sync-delay 0)',
        ),
      )
      notes.push(
        `files: kvtop scan ${statSync(scanFile).size} bytes, redis-cli --rdb ${cliSize} bytes; the scan method is bound by the server's DUMP + PEXPIRETIME work (two commands a key), which SYNC does not pay`,
      )

      // --- restore --------------------------------------------------------------------------------
      const stream = join(dir, 'restore.resp')
      await writeRestoreStream(scanFile, createWriteStream(stream))
      await dst.flushall()
      const pipe = await run(REDIS_CLI, ['-p', String(tPort), '--pipe'], { stdin: stream })
      const pipeOk = String(await dst.call('DEBUG', 'DIGEST')) === sourceDigest
      await dst.flushall()
      const restore = await kvtop('snapshot restore', [
        'snapshot',
        'restore',
        scanFile,
        '--target',
        target.url,
      ])
      const restoreSeconds = restore.seconds
      const restoredOk = String(await dst.call('DEBUG', 'DIGEST')) === sourceDigest
      const pipeRate = dbsize / pipe.seconds
      const kvtopRate = dbsize / restoreSeconds
      rows.push({
        case: `restore ${dbsize} keys`,
        kvtop: { seconds: restoreSeconds, rate: kvtopRate, unit: 'keys/s' },
        anchor: {
          name: 'redis-cli --pipe of the same RESTORE stream',
          seconds: pipe.seconds,
          rate: pipeRate,
        },
        ratio: kvtopRate / pipeRate,
        goal: 'rate >= 0.8x the pipe',
        met: kvtopRate >= 0.8 * pipeRate && restoredOk,
      })
      notes.push(
        `restore includes kvtop's verification pass over the whole file (structure + CRC-64) before the first RESTORE; the pipe's stream was generated beforehand. DEBUG DIGEST equal to the source: kvtop ${restoredOk}, pipe ${pipeOk}`,
      )
      // What that pass costs by itself (here in a warm process; the CLI's first pass also compiles).
      const fileBytes = statSync(scanFile).size
      const verifyStarted = performance.now()
      await summarize(scanFile, () => {}, fileBytes)
      const verifySeconds = (performance.now() - verifyStarted) / 1000
      notes.push(
        `verification pass alone: ${verifySeconds.toFixed(3)} s over ${(fileBytes / 2 ** 20).toFixed(1)} MiB (${Math.round(fileBytes / 2 ** 20 / verifySeconds)} MiB/s)`,
      )
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
