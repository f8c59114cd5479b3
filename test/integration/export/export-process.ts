import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const BIN = fileURLToPath(new URL('../../../bin/kvtop.js', import.meta.url))

export interface RunningExport {
  /** host:port the server bound. */
  address: string
  child: ChildProcess
  /** Every NDJSON line printed so far. */
  lines(): Record<string, unknown>[]
  stdout(): string
  stderr(): string
  /** GET a path of the server; the body as text. */
  get(path: string): Promise<{ status: number; body: string; contentType: string | null }>
  /** SIGTERM, then wait for the exit (SIGKILL after 20 s). Resolves with the exit code. */
  stop(): Promise<number | null>
}

/** Start the built `kvtop export ... --listen 127.0.0.1:0 --json` and wait for its listening line. */
export async function startExport(args: string[], env: NodeJS.ProcessEnv = {}): Promise<RunningExport> {
  const child = spawn(process.execPath, [BIN, 'export', ...args, '--listen', '127.0.0.1:0', '--json'], {
    env: { ...process.env, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  child.stdout!.on('data', (d) => (out += d))
  child.stderr!.on('data', (d) => (err += d))
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)))
  const parsed = () =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000)
    const code = await exited
    clearTimeout(timer)
    return code
  }
  const deadline = Date.now() + 60_000
  let listening: Record<string, unknown> | undefined
  while (!(listening = parsed().find((l) => l.type === 'listening'))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop()
      throw new Error(`kvtop export did not start listening:\n${out}\n${err}`)
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  const address = String(listening.address)
  return {
    address,
    child,
    lines: parsed,
    stdout: () => out,
    stderr: () => err,
    get: async (path) => {
      const r = await fetch(`http://${address}${path}`, { signal: AbortSignal.timeout(30_000) })
      return { status: r.status, body: await r.text(), contentType: r.headers.get('content-type') }
    },
    stop,
  }
}

/** The value of the sample whose line starts with `prefix` (name and labels), or undefined. */
export function sampleValue(text: string, prefix: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(prefix))
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1))
}

/** Poll `check` until it returns a value (not undefined), or fail after `timeoutMs` with `what`. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 90_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const v = await check()
      if (v !== undefined) return v
    } catch (err) {
      last = err
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`)
    await new Promise((r) => setTimeout(r, 250))
  }
}
