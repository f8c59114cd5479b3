import { spawn } from 'node:child_process'
import { createReadStream, createWriteStream, rmSync } from 'node:fs'
import { join } from 'node:path'
import { prng } from '../src/sandbox/load.js'
import { encodeCommands, type CommandArg } from '../src/wire/encode.js'

export const REDIS_CLI = process.env.REDIS_CLI ?? 'redis-cli'

/** Run a command to completion, timed; rejects on an exit code other than `exitCode` (default 0). */
export function runTimed(
  cmd: string,
  args: string[],
  options: { stdin?: string; exitCode?: number } = {},
): Promise<{ seconds: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn(cmd, args, { stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout!.on('data', (d) => (stdout += d))
    child.stderr!.on('data', (d) => (stderr += d))
    if (options.stdin) createReadStream(options.stdin).pipe(child.stdin!)
    child.once('error', reject)
    child.once('close', (code) => {
      const seconds = (performance.now() - started) / 1000
      if (code !== (options.exitCode ?? 0))
        reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${stderr || stdout}`))
      else resolve({ seconds, stdout, stderr })
    })
  })
}

/**
 * `redis-cli --cluster import` of the server on `sourcePort` into the cluster behind `targetPort`
 * (MIGRATE COPY REPLACE a key at a time): the stock tool the migrate benches compare against.
 */
export function clusterImport(targetPort: number, sourcePort: number): ReturnType<typeof runTimed> {
  return runTimed(REDIS_CLI, [
    '--cluster',
    'import',
    `127.0.0.1:${targetPort}`,
    '--cluster-from',
    `127.0.0.1:${sourcePort}`,
    '--cluster-copy',
    '--cluster-replace',
  ])
}

/**
 * The data a benchmark runs on. `production`: what an ElastiCache cache holds — ~70 % strings of
 * 10-200 bytes (some binary, some integers), ~10 % small hashes, ~5 % lists, ~5 % sets (half with
 * non-integer members: hashtable-encoded on Redis 7.0, so two servers holding equal sets return
 * different DUMP payloads), ~5 % zsets, ~5 % strings with TTLs, plus a few big keys (a 50,000-field
 * hash, multi-MB strings, a stream with consumer groups and pending entries). `uniform`: the
 * earlier, kinder profile (small values of every type, 20 % with TTLs), kept as a second case.
 */
export type DataProfile = 'production' | 'uniform'
export const DATA_PROFILES: readonly DataProfile[] = ['production', 'uniform']

export const PROFILE_DESCRIPTIONS: Record<DataProfile, string> = {
  production:
    'production profile: 70% strings of 10-200 bytes (some binary, some integers), 10% small hashes, 5% lists, 5% sets (half non-integer members), 5% zsets, 5% strings with TTLs; big keys: a 50,000-field hash, three 4 MB strings, a 20,000-entry stream with 2 consumer groups and pending entries',
  uniform: 'uniform profile: 70% strings, 5% binary, 5% each hash/list/set/zset, 20% with TTLs',
}

/** `--data production,uniform` (default both) for the benchmarks that load a dataset. */
export function parseProfiles(argv: string[]): DataProfile[] {
  const i = argv.indexOf('--data')
  if (i < 0) return [...DATA_PROFILES]
  const asked = (argv[i + 1] ?? '').split(',').filter(Boolean)
  const unknown = asked.filter((p) => !DATA_PROFILES.includes(p as DataProfile))
  if (!asked.length || unknown.length)
    throw new Error(`--data takes ${DATA_PROFILES.join(', ')} (comma-separated), not '${argv[i + 1] ?? ''}'`)
  return asked as DataProfile[]
}

const BIN = Buffer.from([0xff, 0xfe, 0x0d, 0x0a, 0x00])

/** Write `commands` as RESP to a file, then `redis-cli --pipe` it into the server (fails on any error reply). */
async function pipeCommands(
  port: number,
  dir: string,
  emit: (push: (args: CommandArg[]) => Promise<void>) => Promise<void>,
): Promise<void> {
  const path = join(dir, 'load.resp')
  const out = createWriteStream(path)
  let batch: CommandArg[][] = []
  const flush = async () => {
    if (!batch.length) return
    const ok = out.write(encodeCommands(batch))
    batch = []
    if (!ok) await new Promise<void>((r) => out.once('drain', () => r()))
  }
  await emit(async (args) => {
    batch.push(args)
    if (batch.length >= 5_000) await flush()
  })
  await flush()
  out.end()
  await new Promise<void>((r) => out.once('close', () => r()))
  const piped = await runTimed(REDIS_CLI, ['-p', String(port), '--pipe'], { stdin: path })
  rmSync(path)
  const errors = /errors: (\d+)/.exec(piped.stdout)
  if (errors && errors[1] !== '0') throw new Error(`loading the dataset: ${piped.stdout.trim()}`)
}

/** Load `keys` keys of `profile` into the server on `port` (deterministic: the same seed every run). */
export async function loadDataset(
  port: number,
  keys: number,
  dir: string,
  profile: DataProfile,
): Promise<void> {
  if (profile === 'uniform') return pipeCommands(port, dir, (push) => uniformKeys(keys, push))
  return pipeCommands(port, dir, (push) => productionKeys(keys, push))
}

async function uniformKeys(keys: number, push: (args: CommandArg[]) => Promise<void>): Promise<void> {
  for (let i = 0; i < keys; i++) {
    const r = i % 20
    const key = `bench:${i}`
    if (r < 14) await push(['SET', key, `value-${i}-${'v'.repeat(20 + (i % 60))}`])
    else if (r === 14)
      await push([
        'SET',
        Buffer.concat([Buffer.from(key), BIN]),
        Buffer.concat([BIN, Buffer.from(String(i))]),
      ])
    else if (r === 15) await push(['HSET', key, 'a', String(i), 'b', 'bee', 'c', 'sea', 'd', 'dee', 'e', 'e'])
    else if (r === 16) await push(['RPUSH', key, 'one', 'two', 'three', String(i), 'five'])
    else if (r === 17) await push(['SADD', key, 'm1', 'm2', 'm3', String(i)])
    else if (r === 18) await push(['ZADD', key, '1', 'a', '2', 'b', String(i), 'c'])
    else await push(['SET', key, String(i * 7)])
    if (i % 5 === 0)
      await push(['PEXPIRE', r === 14 ? Buffer.concat([Buffer.from(key), BIN]) : key, String(3_600_000 + i)])
  }
}

/** The big keys of the production profile: they do not scale with the key count. */
export const BIG_KEYS = {
  hashFields: 50_000,
  strings: 3,
  stringBytes: 4 * 1024 * 1024,
  streamEntries: 20_000,
}

async function productionKeys(keys: number, push: (args: CommandArg[]) => Promise<void>): Promise<void> {
  const rand = prng(17)
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1))
  const text = (n: number) => {
    let t = ''
    while (t.length < n) t += rand().toString(36).slice(2)
    return t.slice(0, n)
  }
  const bytes = (n: number) => {
    const b = Buffer.allocUnsafe(n)
    for (let i = 0; i < n; i++) b[i] = int(0, 255)
    return b
  }
  const small = Math.max(0, keys - 1 - BIG_KEYS.strings - 1)
  for (let i = 0; i < small; i++) {
    const r = rand()
    const key = `cache:${i}`
    if (r < 0.5) await push(['SET', key, text(int(10, 200))])
    else if (r < 0.6) await push(['SET', Buffer.concat([Buffer.from(key), BIN]), bytes(int(10, 200))])
    else if (r < 0.7) await push(['SET', key, String(int(-1e9, 1e9))])
    else if (r < 0.8) {
      const args: CommandArg[] = ['HSET', `user:${i}`]
      for (let f = int(2, 12); f > 0; f--) args.push(`field${f}`, text(int(3, 40)))
      await push(args)
    } else if (r < 0.85) {
      const args: CommandArg[] = ['RPUSH', `queue:${i}`]
      for (let e = int(2, 20); e > 0; e--) args.push(text(int(5, 60)))
      await push(args)
    } else if (r < 0.9) {
      const args: CommandArg[] = ['SADD', `tags:${i}`]
      const integers = rand() < 0.5
      for (let m = int(3, 19); m > 0; m--)
        args.push(integers ? String(int(1, 1e6)) : `tag-${text(int(3, 12))}`)
      await push(args)
    } else if (r < 0.95) {
      const args: CommandArg[] = ['ZADD', `rank:${i}`]
      for (let m = int(3, 30); m > 0; m--) args.push(String(rand() * 1000), `member-${text(int(3, 12))}`)
      await push(args)
    } else await push(['SET', `session:${i}`, text(int(10, 200)), 'PX', String(int(3_600_000, 86_400_000))])
  }
  // Big keys.
  for (let start = 0; start < BIG_KEYS.hashFields; start += 1000) {
    const args: CommandArg[] = ['HSET', 'big:hash']
    for (let f = start; f < Math.min(start + 1000, BIG_KEYS.hashFields); f++)
      args.push(`f${f}`, text(int(5, 40)))
    await push(args)
  }
  for (let s = 0; s < BIG_KEYS.strings; s++)
    await push(['SET', `big:string:${s}`, bytes(BIG_KEYS.stringBytes)])
  for (let e = 0; e < BIG_KEYS.streamEntries; e++)
    await push(['XADD', 'big:stream', '*', 'event', text(int(5, 30)), 'n', String(e)])
  await push(['XGROUP', 'CREATE', 'big:stream', 'workers', '0'])
  await push(['XGROUP', 'CREATE', 'big:stream', 'audit', '$'])
  await push(['XREADGROUP', 'GROUP', 'workers', 'w1', 'COUNT', '500', 'STREAMS', 'big:stream', '>'])
  await push(['XREADGROUP', 'GROUP', 'workers', 'w2', 'COUNT', '300', 'STREAMS', 'big:stream', '>'])
}
