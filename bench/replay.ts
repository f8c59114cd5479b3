import { copyFileSync, createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs'
import { pipeline } from 'node:stream/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sandboxDown, sandboxUp } from '../src/sandbox/sandbox.js'
import { writeRestoreStream } from '../src/ops/snapshot/restore.js'
import { describeCpu, runNodeMeasured, serverCpuMeter } from './lib-cpu.js'
import { loadDataset, parseProfiles, PROFILE_DESCRIPTIONS, REDIS_CLI, runTimed } from './lib-dataset.js'
import type { BenchOptions, BenchReport, BenchRow } from './types.js'
import { MEASURED_BIN } from './lib-process.js'

/**
 * `npm run bench -- replay [--scale S] [--data production,uniform]` (issues 5, 17), whole processes
 * (spawn to exit), in one run on the same files:
 *   - replay of a 1M-command RESP file (scale 1) into an empty standalone server, against
 *     `redis-cli --pipe` of the same file into another empty server; goal >= 1.0x;
 *   - the same file into a 3-shard cluster (no anchor routes by slot: the pipe into one server is
 *     the anchor); goal >= 1.0x;
 *   - peak RSS of replaying a 1 GB log (100 KB values); goal <= 256 MB;
 *   - per data profile: an AOF with an RDB preamble (200k keys at scale 1) and a tail of commands,
 *     standalone and into 3 shards, against `redis-cli --pipe` of the same RESTOREs and commands.
 * The log cases run in the first profile's pass. Beside each ratio: kvtop's CPU seconds against the
 * wall time (the rest is idle, waiting on the servers) and each server's CPU. KVTOP_BENCH_CPU_PROF=DIR
 * writes a `node --cpu-prof` profile of each kvtop process there.
 */

/** KVTOP_BENCH_BIN points at another build's bin/kvtop.js, to compare before and after. */

function encode(args: (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)]
  for (const a of args) {
    const b = Buffer.isBuffer(a) ? a : Buffer.from(a)
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'))
  }
  return Buffer.concat(parts)
}

async function writeFileOf(path: string, count: number, make: (i: number) => Buffer): Promise<void> {
  const out = createWriteStream(path)
  let chunk: Buffer[] = []
  for (let i = 0; i < count; i++) {
    chunk.push(make(i))
    if (chunk.length >= 5000) {
      if (!out.write(Buffer.concat(chunk))) await new Promise((r) => out.once('drain', () => r(undefined)))
      chunk = []
    }
  }
  out.end(Buffer.concat(chunk))
  await new Promise((r) => out.once('finish', () => r(undefined)))
}

/** A mixed workload: strings (some binary), counters, hashes, lists, sets, expiries, deletes. */
function command(i: number): Buffer {
  const k = `bench:${i % 400_000}`
  switch (i % 10) {
    case 0:
      return encode(['HSET', `h:${i % 50_000}`, `f${i % 7}`, `v${i}`])
    case 1:
      return encode(['RPUSH', `l:${i % 20_000}`, `e${i}`])
    case 2:
      return encode(['SADD', `s:${i % 20_000}`, `m${i % 100}`])
    case 3:
      return encode(['INCR', `c:${i % 10_000}`])
    case 4:
      return encode(['SET', Buffer.from(`${k}\r\n\x00\xff`, 'latin1'), Buffer.from([0, 13, 10, i & 255])])
    case 5:
      return encode(['PEXPIRE', k, String(3_600_000 + i)])
    case 6:
      return encode(['DEL', `bench:${(i * 7) % 400_000}`])
    default:
      return encode(['SET', k, `value-${i}-${'v'.repeat(20 + (i % 40))}`])
  }
}

/** Loads a dataset (the RDB preamble cases): run once per data profile. */
export const usesDataset = true

/** A `node --cpu-prof` directory for the kvtop processes (KVTOP_BENCH_CPU_PROF), to see where the time goes. */
const profileFlags = () =>
  process.env.KVTOP_BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.KVTOP_BENCH_CPU_PROF] : []

type Sandbox = Awaited<ReturnType<typeof sandboxUp>>
const port = (s: Sandbox) => s.nodes[0].port
const pids = (s: Sandbox) => s.nodes.filter((n) => n.role === 'primary').map((n) => n.pid)

export async function run(options: BenchOptions): Promise<BenchReport> {
  const commands = Math.round(1_000_000 * options.scale)
  const preambleKeys = Math.max(1000, Math.round(200_000 * options.scale))
  const dir = mkdtempSync(join(tmpdir(), 'kvtop-bench-replay-'))
  const env = { ...process.env, KVTOP_SANDBOX_DIR: join(dir, 'sandboxes') }
  const names = ['bench-pipe', 'bench-replay', 'bench-cluster', 'bench-load']
  // The command log does not depend on the data profile: its cases run in the first pass only.
  const asked = parseProfiles(process.argv.slice(2))
  const logPass = options.profile === asked[0]
  const rows: BenchRow[] = []
  const notes: string[] = []
  try {
    const [pipeSb, replaySb, clusterSb, loadSb] = await Promise.all([
      sandboxUp({ name: names[0], shards: 0, replicas: 0, flavor: 'redis', env }),
      sandboxUp({ name: names[1], shards: 0, replicas: 0, flavor: 'redis', env }),
      sandboxUp({ name: names[2], shards: 3, replicas: 0, flavor: 'redis', env }),
      sandboxUp({ name: names[3], shards: 0, replicas: 0, flavor: 'redis', env }),
    ])
    const kvtop = (args: string[], into: Sandbox) =>
      runNodeMeasured(MEASURED_BIN, [...args, '--json'], pids(into), profileFlags())
    /** redis-cli --pipe of a file, timed whole, with the server's CPU over the same span. */
    const pipeInto = async (into: Sandbox, path: string) => {
      const servers = serverCpuMeter(pids(into))
      const piped = await exec(REDIS_CLI, ['-p', String(port(into)), '--pipe'], path)
      const errors = /errors: (\d+)/.exec(piped.stdout)
      if (!errors || errors[1] !== '0') throw new Error(`redis-cli --pipe: ${piped.stdout.trim()}`)
      return { ...piped, serverCpuSeconds: servers.stop() }
    }
    const flush = (s: Sandbox) =>
      Promise.all(
        pids(s).map((_, i) =>
          exec(REDIS_CLI, ['-p', String(s.nodes.filter((n) => n.role === 'primary')[i].port), 'FLUSHALL']),
        ),
      )
    const replayRow = (
      what: string,
      kvtopRun: Awaited<ReturnType<typeof kvtop>>,
      pipe: { seconds: number },
      units: number,
      unit: string,
      anchorName: string,
    ): BenchRow => ({
      case: what,
      kvtop: { seconds: kvtopRun.seconds, rate: units / kvtopRun.seconds, unit },
      anchor: { name: anchorName, seconds: pipe.seconds, rate: units / pipe.seconds },
      ratio: pipe.seconds / kvtopRun.seconds,
      goal: '>= 1.0x redis-cli --pipe',
      met: pipe.seconds / kvtopRun.seconds >= 1,
    })
    const replayed = (r: { stdout: string }) =>
      JSON.parse(r.stdout) as { commands: number; errors: { total: number } }

    if (logPass) {
      const file = join(dir, 'commands.resp')
      await writeFileOf(file, commands, command)
      const pipe = await pipeInto(pipeSb, file)
      const replay = await kvtop(['replay', file, '--to', `redis://127.0.0.1:${port(replaySb)}`], replaySb)
      const intoCluster = await kvtop(
        ['replay', file, '--to', `redis://127.0.0.1:${port(clusterSb)}`],
        clusterSb,
      )
      for (const r of [replay, intoCluster])
        if (replayed(r).errors.total) throw new Error(`replay had error replies: ${r.stdout}`)
      const verify = await exec(process.execPath, [
        MEASURED_BIN,
        'verify',
        '--source',
        `redis://127.0.0.1:${port(pipeSb)}`,
        '--target',
        `redis://127.0.0.1:${port(replaySb)}`,
        '--passes',
        '1',
        '--json',
      ])
      const verified = JSON.parse(verify.stdout) as { identical: boolean }
      if (!verified.identical) throw new Error('replay and redis-cli --pipe gave different datasets')
      rows.push(
        replayRow(
          `replay ${commands} commands into a standalone server`,
          replay,
          pipe,
          commands,
          'commands/s',
          'redis-cli --pipe',
        ),
        replayRow(
          `replay ${commands} commands into a 3-shard cluster`,
          intoCluster,
          pipe,
          commands,
          'commands/s',
          'redis-cli --pipe into one server (no anchor routes by slot)',
        ),
      )
      notes.push(
        `redis-cli --pipe of the log: wall ${pipe.seconds.toFixed(2)} s; server CPU ${pipe.serverCpuSeconds[0].toFixed(2)} s (${Math.round((100 * pipe.serverCpuSeconds[0]) / pipe.seconds)}%)`,
        describeCpu('replay, standalone', replay.cpu),
        describeCpu('replay, 3-shard cluster', intoCluster.cpu),
      )

      // Peak memory: a log of big values (100 KB each), 1 GB at scale 1.
      const bigFile = join(dir, 'big.resp')
      const bigCount = Math.max(100, Math.round((1024 * options.scale * 1024 * 1024) / (100 * 1024)))
      const value = Buffer.alloc(100 * 1024, 'x')
      await writeFileOf(bigFile, bigCount, (i) => encode(['SET', `big:${i % 1000}`, value]))
      const bigBytes = statSync(bigFile).size
      // Into the server that already holds the replayed dataset: --replace says that is intended.
      const big = await kvtop(
        ['replay', bigFile, '--replace', '--to', `redis://127.0.0.1:${port(replaySb)}`],
        replaySb,
      )
      rows.push({
        case: `peak RSS replaying a ${Math.round(bigBytes / 1024 / 1024)} MB log`,
        kvtop: { seconds: big.seconds, rate: big.peakRssBytes / 1024 / 1024, unit: 'MB peak RSS' },
        anchor: { name: 'goal: 256 MB', seconds: 0, rate: 256 },
        ratio: 256 / (big.peakRssBytes / 1024 / 1024),
        goal: '<= 256 MB',
        met: big.peakRssBytes <= 256 * 1024 * 1024,
      })
      rmSync(bigFile)
      rmSync(file)
      await Promise.all([flush(pipeSb), flush(replaySb), flush(clusterSb)])
    }

    // --- An AOF with an RDB preamble (the profile's dataset) and a tail of commands ----------------
    await loadDataset(port(loadSb), preambleKeys, dir, options.profile)
    const loadDir = String(
      (await exec(REDIS_CLI, ['-p', String(port(loadSb)), 'CONFIG', 'GET', 'dir'])).stdout.split('\n')[1],
    ).trim()
    const dbfile = String(
      (await exec(REDIS_CLI, ['-p', String(port(loadSb)), 'CONFIG', 'GET', 'dbfilename'])).stdout.split(
        '\n',
      )[1],
    ).trim()
    await exec(REDIS_CLI, ['-p', String(port(loadSb)), 'SAVE'])
    const tailCommands = Math.round(preambleKeys / 4)
    const tail = join(dir, 'tail.resp')
    await writeFileOf(tail, tailCommands, command)
    const aof = join(dir, 'preamble.aof')
    const rdb = join(dir, 'preamble.rdb')
    copyFileSync(join(loadDir, dbfile), rdb)
    await concatFiles(aof, [rdb, tail])
    const stream = join(dir, 'preamble.resp')
    await writeRestoreStream(rdb, createWriteStream(stream), { replace: true })
    await concatFiles(stream, [tail], true)
    const units = preambleKeys + tailCommands
    const pipe = await pipeInto(pipeSb, stream)
    const intoOne = await kvtop(['replay', aof, '--to', `redis://127.0.0.1:${port(replaySb)}`], replaySb)
    const intoShards = await kvtop(['replay', aof, '--to', `redis://127.0.0.1:${port(clusterSb)}`], clusterSb)
    for (const r of [intoOne, intoShards])
      if (replayed(r).errors.total) throw new Error(`replay had error replies: ${r.stdout}`)
    const digest = async (s: Sandbox) =>
      (await exec(REDIS_CLI, ['-p', String(port(s)), 'DEBUG', 'DIGEST'])).stdout.trim()
    const same = (await digest(pipeSb)) === (await digest(replaySb))
    if (!same) throw new Error('the preamble replay and redis-cli --pipe gave different datasets')
    const mb = Math.round(statSync(aof).size / 1024 / 1024)
    rows.push(
      replayRow(
        `replay an AOF with an RDB preamble (${preambleKeys} keys, ${mb} MB) + ${tailCommands} commands, standalone`,
        intoOne,
        pipe,
        units,
        'keys+commands/s',
        'redis-cli --pipe of the same RESTOREs + commands',
      ),
      replayRow(
        `replay an AOF with an RDB preamble (${preambleKeys} keys) + ${tailCommands} commands, 3-shard cluster`,
        intoShards,
        pipe,
        units,
        'keys+commands/s',
        'redis-cli --pipe of the same into one server',
      ),
    )
    notes.push(
      `${PROFILE_DESCRIPTIONS[options.profile]}; kvtop checks every RDB value before it is sent (the pipe's RESTORE stream was generated beforehand); DEBUG DIGEST equal to the pipe's: ${same}`,
      `redis-cli --pipe of the preamble: wall ${pipe.seconds.toFixed(2)} s; server CPU ${pipe.serverCpuSeconds[0].toFixed(2)} s`,
      describeCpu('preamble replay, standalone', intoOne.cpu),
      describeCpu('preamble replay, 3-shard cluster', intoShards.cpu),
    )
    return { name: 'replay', rows, notes }
  } finally {
    for (const n of names) await sandboxDown(n, env).catch(() => {})
    rmSync(dir, { recursive: true, force: true })
  }
}

async function concatFiles(to: string, from: string[], append = false): Promise<void> {
  const out = createWriteStream(to, { flags: append ? 'a' : 'w' })
  for (const f of from) await pipeline(createReadStream(f), out, { end: false })
  out.end()
  await new Promise((r) => out.once('close', () => r(undefined)))
}

function exec(cmd: string, args: string[], stdin?: string) {
  return runTimed(cmd, args, stdin ? { stdin } : {})
}
