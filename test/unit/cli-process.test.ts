import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest'
import { PASSWORD_IN_ARGV_WARNING, uncaughtError, warnAboutPasswordsInArgv } from '../../src/cli.js'
import { forgetSecretsForTests, redact } from '../../src/redact.js'
import { runCli } from '../helpers/cli.js'

const CLI_SOURCE = fileURLToPath(new URL('../../src/cli.ts', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'kvtop-cli-process-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
afterEach(() => {
  forgetSecretsForTests()
  vi.restoreAllMocks()
})

interface Run {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/**
 * Run a small TypeScript program (through tsx) that installs the CLI's process guards as
 * bin/kvtop.js does, then misbehaves. `closeStdoutAfterFirstChunk`: the reader goes away, as
 * `| head -c 10` does.
 */
function runGuarded(body: string, argv: string[] = [], closeStdoutAfterFirstChunk = false): Promise<Run> {
  const file = join(dir, `p-${Math.random().toString(36).slice(2)}.ts`)
  writeFileSync(
    file,
    `import { installProcessGuards } from ${JSON.stringify(CLI_SOURCE)}\n` +
      `installProcessGuards(${JSON.stringify(argv)})\n${body}\n`,
  )
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => {
      stdout += d
      if (closeStdoutAfterFirstChunk) child.stdout.destroy()
    })
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr })
    })
  })
}

const STACK_LINE = /^\s+at /m

describe('process guards (src/cli.ts)', () => {
  it('a reader that goes away (EPIPE on stdout) ends the process quietly with exit 0', async () => {
    const r = await runGuarded(
      `const line = 'x'.repeat(2000) + '\\n'\nsetInterval(() => process.stdout.write(line), 1)`,
      [],
      true,
    )
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
  })

  it('EPIPE keeps the exit code already decided (the usual code)', async () => {
    const r = await runGuarded(
      `process.exitCode = 1\nconst line = 'x'.repeat(2000) + '\\n'\nsetInterval(() => process.stdout.write(line), 1)`,
      [],
      true,
    )
    expect(r.stderr).toBe('')
    expect(r.code).toBe(1)
  })

  it("an 'error' event nobody listens to: exit 5 with a one-line message, no stack trace", async () => {
    const r = await runGuarded(
      `import { EventEmitter } from 'node:events'\nsetTimeout(() => new EventEmitter().emit('error', new Error('emitter went wrong')), 5)\nsetTimeout(() => {}, 5000)`,
    )
    expect(r.code).toBe(5)
    expect(r.stderr).toMatch(/^Error: internal error: emitter went wrong\n/)
    expect(r.stderr).not.toMatch(STACK_LINE)
  })

  it('a socket error that escaped: exit 3 (cannot connect), redacted; --json also gets the error document', async () => {
    const r = await runGuarded(
      `import { EventEmitter } from 'node:events'\n` +
        `setTimeout(() => new EventEmitter().emit('error', Object.assign(new Error('read ECONNRESET redis://u:Sock-Pw@h'), { code: 'ECONNRESET', address: '10.0.0.1', port: 6379 })), 5)\n` +
        `setTimeout(() => {}, 5000)`,
      ['status', '--json'],
    )
    expect(r.code).toBe(3)
    expect(r.stderr).toMatch(/^Error: connection to 10\.0\.0\.1:6379 failed: ECONNRESET\n/)
    expect(r.stderr).not.toMatch(STACK_LINE)
    expect(JSON.parse(r.stdout)).toMatchObject({ error: { exitCode: 3, code: 'connect' } })
    expect(r.stdout + r.stderr).not.toContain('Sock-Pw')
  })

  it('a promise rejected with nobody awaiting it: mapped the same way', async () => {
    const r = await runGuarded(
      `void Promise.reject(new TypeError('nobody caught this'))\nsetTimeout(() => {}, 5000)`,
    )
    expect(r.code).toBe(5)
    expect(r.stderr).toMatch(/^Error: internal error: nobody caught this\n/)
    expect(r.stderr).not.toMatch(STACK_LINE)
  })

  it('uncaughtError maps connection errnos to exit 3 and anything else through the usual mapping', () => {
    expect(uncaughtError(Object.assign(new Error('x'), { code: 'ECONNREFUSED' })).exitCode).toBe(3)
    expect(uncaughtError(new Error('x')).exitCode).toBe(5)
  })
})

describe('the built CLI (bin/kvtop.js, the bundle of scripts/bundle.js)', () => {
  // Preloaded into the CLI: throws, with nobody to catch it, as soon as the process guards are on.
  const preload = join(dir, 'throw-once-guarded.mjs')
  writeFileSync(
    preload,
    `const t = setInterval(() => {
  if (process.listenerCount('uncaughtException') === 0) return
  clearInterval(t)
  throw new TypeError('went wrong near Bundle-Pw-1')
}, 1)
`,
  )
  const args = ['status', 'redis://u:Bundle-Pw-1@127.0.0.1:1', '--interval', '5']

  it('maps an uncaught error to exit 5 and one line, the password from the arguments redacted', async () => {
    const r = await runCli(args, { env: { NODE_OPTIONS: `--import=${pathToFileURL(preload).href}` } })
    expect(r.code).toBe(5)
    expect(r.stderr).toContain(
      'Error: internal error: went wrong near ***\nThis is a bug in kvtop; run with KVTOP_DEBUG=1 for the stack trace.\n',
    )
    expect(r.stderr).not.toMatch(STACK_LINE)
    expect(r.stdout + r.stderr).not.toContain('Bundle-Pw-1')
  })

  it('KVTOP_DEBUG=1 adds the stack trace, redacted too', async () => {
    const r = await runCli(args, {
      env: { NODE_OPTIONS: `--import=${pathToFileURL(preload).href}`, KVTOP_DEBUG: '1' },
    })
    expect(r.code).toBe(5)
    expect(r.stderr).toMatch(/^TypeError: went wrong near \*\*\*\n\s+at /m)
    expect(r.stdout + r.stderr).not.toContain('Bundle-Pw-1')
  })
})

describe('a password in a URL on the command line', () => {
  function captureStderr(): string[] {
    const lines: string[] = []
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk))
      return true
    })
    return lines
  }

  it('gets one warning line on stderr, as redis-cli gives for -a / -u, and is registered for redaction', () => {
    const lines = captureStderr()
    warnAboutPasswordsInArgv([
      'verify',
      '--source',
      'redis://u:Argv-Pw-1@h:1',
      '--target=redis://Argv-Pw-2@h:2',
    ])
    expect(lines).toEqual([`Warning: ${PASSWORD_IN_ARGV_WARNING}\n`])
    expect(PASSWORD_IN_ARGV_WARNING).toMatch(/KVTOP_PASSWORD/)
    expect(PASSWORD_IN_ARGV_WARNING).toMatch(/REDISCLI_AUTH/)
    expect(PASSWORD_IN_ARGV_WARNING).toMatch(/profile/)
    expect(redact('Argv-Pw-1 Argv-Pw-2')).toBe('*** ***')
  })

  it('under --json the warning is an NDJSON event on stderr', () => {
    const lines = captureStderr()
    warnAboutPasswordsInArgv(['status', 'redis://:Argv-Pw-3@h', '--json'])
    expect(lines).toHaveLength(1)
    expect(JSON.parse(lines[0])).toEqual({
      type: 'warning',
      message: PASSWORD_IN_ARGV_WARNING,
      at: expect.any(Number),
    })
  })

  it('no warning without a password in the arguments', () => {
    const lines = captureStderr()
    warnAboutPasswordsInArgv(['status', 'redis://user:@h', 'redis://h:1', '--profile', 'prod'])
    warnAboutPasswordsInArgv(['replay', '--', 'redis://u:after-double-dash@h'])
    expect(lines).toEqual([])
  })
})
