import { spawn } from 'node:child_process'
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { sandboxDown, sandboxUp } from '../src/sandbox/sandbox.js'
import type { BenchOptions, BenchReport, BenchRow } from './types.js'

/**
 * `npm run bench -- replay [--scale S]` (issue 5), in one run on the same files:
 *   - replay of a 1M-command RESP file (scale 1) into an empty standalone server, against
 *     `redis-cli --pipe` of the same file into another empty server; goal >= 1.0x;
 *   - the same file into a 3-shard cluster (no anchor can route by slot: commands/s reported,
 *     the pipe into one server shown beside it);
 *   - verify of the two standalone datasets (identical) in keys/s, beside `redis-cli --scan` of
 *     the same keyspace (the least any full comparison must do); goal >= 100k keys/s;
 *   - peak RSS of replaying a 1 GB log (100 KB values); goal <= 256 MB.
 */

const BIN = fileURLToPath(new URL('../../bin/kvtop.js', import.meta.url))
const REDIS_CLI = process.env.REDIS_CLI ?? 'redis-cli'

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

interface Timed {
  seconds: number
  stdout: string
  peakRssBytes: number
}

function exec(cmd: string, args: string[], stdin?: string): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn(cmd, args, { stdio: [stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    let peak = 0
    const sample = () => {
      try {
        const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))
        if (m) peak = Math.max(peak, Number(m[1]) * 1024)
      } catch {
        // exited
      }
    }
    const timer = setInterval(sample, 50)
    child.stdout!.on('data', (d) => (stdout += d))
    child.stderr!.on('data', (d) => (stderr += d))
    if (stdin) createReadStream(stdin).pipe(child.stdin!)
    child.once('error', reject)
    child.once('close', (code) => {
      clearInterval(timer)
      const seconds = (performance.now() - started) / 1000
      if (code !== 0) reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${stderr || stdout}`))
      else resolve({ seconds, stdout, peakRssBytes: peak })
    })
  })
}

const kvtop = (args: string[]) => exec(process.execPath, [BIN, ...args, '--json'])

export async function run(options: BenchOptions): Promise<BenchReport> {
  const commands = Math.round(1_000_000 * options.scale)
  const dir = mkdtempSync(join(tmpdir(), 'kvtop-bench-replay-'))
  const env = { ...process.env, KVTOP_SANDBOX_DIR: join(dir, 'sandboxes') }
  const names = ['bench-pipe', 'bench-replay', 'bench-cluster']
  try {
    const file = join(dir, 'commands.resp')
    await writeFileOf(file, commands, command)
    const [pipeSb, replaySb, clusterSb] = await Promise.all([
      sandboxUp({ name: names[0], shards: 0, replicas: 0, flavor: 'redis', env }),
      sandboxUp({ name: names[1], shards: 0, replicas: 0, flavor: 'redis', env }),
      sandboxUp({ name: names[2], shards: 3, replicas: 0, flavor: 'redis', env }),
    ])
    const port = (s: { nodes: { port: number }[] }) => s.nodes[0].port

    const pipe = await exec(REDIS_CLI, ['-p', String(port(pipeSb)), '--pipe'], file)
    const replay = await kvtop(['replay', file, '--to', `redis://127.0.0.1:${port(replaySb)}`])
    const intoCluster = await kvtop(['replay', file, '--to', `redis://127.0.0.1:${port(clusterSb)}`])
    const verify = await kvtop([
      'verify',
      '--source',
      `redis://127.0.0.1:${port(pipeSb)}`,
      '--target',
      `redis://127.0.0.1:${port(replaySb)}`,
      '--passes',
      '1',
    ])
    const verified = JSON.parse(verify.stdout) as {
      identical: boolean
      sourceKeys: number
      targetKeys: number
    }
    if (!verified.identical) throw new Error('replay and redis-cli --pipe gave different datasets')
    const scan = await exec(REDIS_CLI, ['-p', String(port(pipeSb)), '--scan'])
    const scanned = scan.stdout.split('\n').filter(Boolean).length

    // Peak memory: a log of big values (100 KB each), 1 GB at scale 1.
    const bigFile = join(dir, 'big.resp')
    const bigCount = Math.max(100, Math.round((1024 * options.scale * 1024 * 1024) / (100 * 1024)))
    const value = Buffer.alloc(100 * 1024, 'x')
    await writeFileOf(bigFile, bigCount, (i) => encode(['SET', `big:${i % 1000}`, value]))
    const bigBytes = statSync(bigFile).size
    // Into the server that already holds the replayed dataset: --replace says that is intended.
    const big = await kvtop(['replay', bigFile, '--replace', '--to', `redis://127.0.0.1:${port(replaySb)}`])

    const rows: BenchRow[] = [
      {
        case: `replay ${commands} commands into a standalone server`,
        kvtop: { seconds: replay.seconds, rate: commands / replay.seconds, unit: 'commands/s' },
        anchor: { name: 'redis-cli --pipe', seconds: pipe.seconds, rate: commands / pipe.seconds },
        ratio: pipe.seconds / replay.seconds,
        goal: '>= 1.0x redis-cli --pipe',
        met: pipe.seconds / replay.seconds >= 1,
      },
      {
        case: `replay ${commands} commands into a 3-shard cluster`,
        kvtop: { seconds: intoCluster.seconds, rate: commands / intoCluster.seconds, unit: 'commands/s' },
        anchor: {
          name: 'redis-cli --pipe into one server (no anchor routes by slot)',
          seconds: pipe.seconds,
          rate: commands / pipe.seconds,
        },
        ratio: pipe.seconds / intoCluster.seconds,
        goal: 'reported',
        met: true,
      },
      {
        case: `verify ${verified.sourceKeys} + ${verified.targetKeys} keys, identical`,
        kvtop: {
          seconds: verify.seconds,
          rate: (verified.sourceKeys + verified.targetKeys) / verify.seconds,
          unit: 'keys/s (both directions)',
        },
        anchor: {
          name: 'redis-cli --scan (key names only, one side)',
          seconds: scan.seconds,
          rate: scanned / scan.seconds,
        },
        ratio: (verified.sourceKeys + verified.targetKeys) / verify.seconds / (scanned / scan.seconds),
        goal: '>= 100k keys/s',
        met: (verified.sourceKeys + verified.targetKeys) / verify.seconds >= 100_000,
      },
      {
        case: `peak RSS replaying a ${Math.round(bigBytes / 1024 / 1024)} MB log`,
        kvtop: { seconds: big.seconds, rate: big.peakRssBytes / 1024 / 1024, unit: 'MB peak RSS' },
        anchor: { name: 'goal: 256 MB', seconds: 0, rate: 256 },
        ratio: 256 / (big.peakRssBytes / 1024 / 1024),
        goal: '<= 256 MB',
        met: big.peakRssBytes <= 256 * 1024 * 1024,
      },
    ]
    return { name: 'replay', rows }
  } finally {
    for (const n of names) await sandboxDown(n, env).catch(() => {})
    rmSync(dir, { recursive: true, force: true })
  }
}
