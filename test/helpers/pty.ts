import { spawn, spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const BIN = fileURLToPath(new URL('../../bin/kvtop.js', import.meta.url))

/** `script` (util-linux) runs a command on a pseudo-terminal: stdin, stdout and stderr are TTYs. */
export function hasScript(): boolean {
  return process.platform === 'linux' && spawnSync('script', ['--version']).status === 0
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`

export interface PtyResult {
  code: number | null
  /** stdout and stderr together, as the terminal showed them. */
  output: string
  /** Whether the question (`[y/N]`, or `options.question`) was shown. */
  asked: boolean
}

/**
 * Run the built CLI on a pseudo-terminal and answer its y/N question with `answer` once it is
 * shown. The terminal stays open until the command ends.
 */
export function runCliInPty(
  args: string[],
  answer: string,
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; question?: string } = {},
): Promise<PtyResult> {
  const question = options.question ?? '[y/N]'
  const command = [process.execPath, BIN, ...args].map(quote).join(' ')
  const child = spawn('script', ['-qec', command, '/dev/null'], {
    env: { ...process.env, NO_COLOR: '1', ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let output = ''
  let asked = false
  const onData = (d: Buffer) => {
    output += String(d)
    if (!asked && output.includes(question)) {
      asked = true
      child.stdin.write(`${answer}\r`)
    }
  }
  child.stdout.on('data', onData)
  child.stderr.on('data', onData)
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000)
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, output: output.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, ''), asked })
    })
  })
}
