import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const BIN = fileURLToPath(new URL('../../bin/kvtop.js', import.meta.url))

export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
  ms: number
}

/** Run the built CLI (npm test builds first) as a user would, with no TTY. */
export function runCli(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {},
): Promise<CliResult> {
  const started = Date.now()
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, NO_COLOR: '1', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr, ms: Date.now() - started })
    })
    child.stdin.end(options.input ?? '')
  })
}

export interface RunningCli {
  pid: number
  /** Resolves with the first stderr line matching (so far or to come), or rejects after the timeout. */
  waitForStderr(pattern: RegExp | ((line: string) => boolean), timeoutMs?: number): Promise<string>
  kill(signal?: NodeJS.Signals): void
  done: Promise<CliResult>
}

/** Start the built CLI in the background, stderr watched line by line (NDJSON events with --json). */
export function startCli(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): RunningCli {
  const started = Date.now()
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, NO_COLOR: '1', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  const watchers: { matches: (line: string) => boolean; resolve: (line: string) => void }[] = []
  let partial = ''
  child.stdout.on('data', (d) => (stdout += d))
  child.stderr.on('data', (d) => {
    stderr += d
    const lines = (partial + String(d)).split('\n')
    partial = lines.pop() ?? ''
    for (const line of lines)
      for (const w of [...watchers])
        if (w.matches(line)) {
          watchers.splice(watchers.indexOf(w), 1)
          w.resolve(line)
        }
  })
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000)
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr, ms: Date.now() - started })
    })
  })
  return {
    pid: child.pid!,
    waitForStderr: (pattern, timeoutMs = 60_000) =>
      new Promise((resolve, reject) => {
        const matches = typeof pattern === 'function' ? pattern : (l: string) => pattern.test(l)
        const seen = stderr.split('\n').find(matches)
        if (seen) return resolve(seen)
        const t = setTimeout(
          () =>
            reject(
              new Error(`no stderr line matched ${pattern} in ${timeoutMs} ms:\n${stderr.slice(-2000)}`),
            ),
          timeoutMs,
        )
        watchers.push({
          matches,
          resolve: (line) => {
            clearTimeout(t)
            resolve(line)
          },
        })
        void done.then(() => {
          clearTimeout(t)
          reject(new Error(`the command ended before stderr matched ${pattern}:\n${stderr.slice(-2000)}`))
        })
      }),
    kill: (signal = 'SIGTERM') => child.kill(signal),
    done,
  }
}
