import { spawn } from 'node:child_process'
import { createReadStream, createWriteStream, rmSync } from 'node:fs'
import { join } from 'node:path'

export const REDIS_CLI = process.env.REDIS_CLI ?? 'redis-cli'

/** Run a command to completion, timed; rejects on a non-zero exit. */
export function runTimed(
  cmd: string,
  args: string[],
  options: { stdin?: string } = {},
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
      if (code !== 0) reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${stderr || stdout}`))
      else resolve({ seconds, stdout, stderr })
    })
  })
}

/** A mixed dataset through redis-cli --pipe: strings (some binary), hashes, lists, sets, zsets; 20% with TTLs. */
export async function loadMixedDataset(port: number, keys: number, dir: string): Promise<void> {
  const path = join(dir, 'load.resp')
  const out = createWriteStream(path)
  const cmd = (args: (string | Buffer)[]) => {
    const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)]
    for (const a of args) {
      const b = Buffer.isBuffer(a) ? a : Buffer.from(a)
      parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'))
    }
    return Buffer.concat(parts)
  }
  const bin = Buffer.from([0xff, 0xfe, 0x0d, 0x0a, 0x00])
  const chunk: Buffer[] = []
  for (let i = 0; i < keys; i++) {
    const r = i % 20
    const key = `bench:${i}`
    if (r < 14) chunk.push(cmd(['SET', key, `value-${i}-${'v'.repeat(20 + (i % 60))}`]))
    else if (r === 14)
      chunk.push(
        cmd(['SET', Buffer.concat([Buffer.from(key), bin]), Buffer.concat([bin, Buffer.from(String(i))])]),
      )
    else if (r === 15)
      chunk.push(cmd(['HSET', key, 'a', String(i), 'b', 'bee', 'c', 'sea', 'd', 'dee', 'e', 'e']))
    else if (r === 16) chunk.push(cmd(['RPUSH', key, 'one', 'two', 'three', String(i), 'five']))
    else if (r === 17) chunk.push(cmd(['SADD', key, 'm1', 'm2', 'm3', String(i)]))
    else if (r === 18) chunk.push(cmd(['ZADD', key, '1', 'a', '2', 'b', String(i), 'c']))
    else chunk.push(cmd(['SET', key, String(i * 7)]))
    if (i % 5 === 0)
      chunk.push(
        cmd(['PEXPIRE', r === 14 ? Buffer.concat([Buffer.from(key), bin]) : key, String(3_600_000 + i)]),
      )
    if (chunk.length >= 10_000) {
      if (!out.write(Buffer.concat(chunk.splice(0))))
        await new Promise<void>((r2) => out.once('drain', () => r2()))
    }
  }
  out.end(Buffer.concat(chunk))
  await new Promise<void>((r) => out.once('close', () => r()))
  await runTimed(REDIS_CLI, ['-p', String(port), '--pipe'], { stdin: path })
  rmSync(path)
}
