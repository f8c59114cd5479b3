import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startSandbox, type TestSandbox } from '../../helpers/sandbox.js'

const BIN = fileURLToPath(new URL('../../../bin/kvtop.js', import.meta.url))

let sb: TestSandbox
beforeAll(async () => {
  sb = await startSandbox({ shards: 0, replicas: 0 })
})
afterAll(async () => {
  await sb?.down()
})

/** `kvtop ARGS | head -c 10`: the reader takes the first bytes and goes away. */
function runIntoClosedPipe(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.once('data', (d) => {
      stdout += String(d).slice(0, 10)
      child.stdout.destroy()
    })
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

describe('kvtop status --json --watch | head -c 10', () => {
  it('exits quietly (exit 0, nothing on stderr, no stack trace) when the reader goes away', async () => {
    const r = await runIntoClosedPipe(['status', sb.url, '--json', '--watch', '--interval', '0.1'])
    expect(r.stdout.length).toBeGreaterThan(0)
    expect(r.stderr).not.toMatch(/^\s+at /m)
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
  })
})
