import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'

const REPO = fileURLToPath(new URL('../../..', import.meta.url))
const VITEST = join(REPO, 'node_modules', 'vitest', 'vitest.mjs')
const REPORTER = join(REPO, 'test', 'helpers', 'closing-line-reporter.ts')

const root = mkdtempSync(join(tmpdir(), 'kvtop-closing-line-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

/** Test files (globals: no imports needed, so they run from a directory outside the repo). */
const FILES: Record<string, string> = {
  'pass.test.mjs': `it('one', () => {}); it('two', () => {})`,
  'import-throws.test.mjs': `throw new Error('this file fails to load')\nit('never collected', () => {})`,
  'describe-beforeall-throws.test.mjs': `describe('group', () => {
  beforeAll(() => { throw new Error('setup failed') })
  it('a', () => {})
  it('b', () => {})
})`,
  'file-beforeall-throws.test.mjs': `beforeAll(() => { throw new Error('file setup failed') })\nit('c', () => {})`,
  'afterall-throws.test.mjs': `afterAll(() => { throw new Error('teardown failed') })\nit('d', () => {})`,
  'one-failing.test.mjs': `it('e', () => { expect(1).toBe(2) }); it('f', () => {})`,
}

/** Run vitest on `files` with only the closing-line reporter; its last non-empty stdout line. */
function closingLineOf(files: string[]): Promise<{ line: string; code: number | null; output: string }> {
  const dir = mkdtempSync(join(root, 'run-'))
  for (const f of files) writeFileSync(join(dir, f), FILES[f])
  writeFileSync(
    join(dir, 'vitest.config.mjs'),
    `export default { test: { include: ['*.test.mjs'], globals: true, reporters: [${JSON.stringify(REPORTER)}] } }\n`,
  )
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^VITEST|^TINYPOOL/.test(k)))
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [VITEST, 'run', '--config', join(dir, 'vitest.config.mjs')], {
      cwd: dir,
      env: { ...env, NO_COLOR: '1', CI: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      const lines = stdout.split('\n').filter((l) => l.trim())
      resolve({ line: lines.at(-1) ?? '', code, output: stdout + stderr })
    })
  })
}

describe('the closing line `N passed, N failed`', () => {
  it('counts a file that failed to load and a setup/teardown that failed as failures', async () => {
    const r = await closingLineOf(Object.keys(FILES))
    // passed: one, two, d, f; failed: e, the unloadable file, the describe's beforeAll, the file's
    // beforeAll, the afterAll; skipped (their beforeAll failed): a, b, c.
    expect(r.line, r.output).toBe('4 passed, 5 failed, 3 skipped')
    expect(r.code).not.toBe(0)
  })

  it('a run whose only problem is a file that does not load is not "0 failed"', async () => {
    const r = await closingLineOf(['pass.test.mjs', 'import-throws.test.mjs'])
    expect(r.line, r.output).toBe('2 passed, 1 failed')
  })

  it('a run whose only problem is a failed beforeAll is not "0 failed"', async () => {
    const r = await closingLineOf(['pass.test.mjs', 'describe-beforeall-throws.test.mjs'])
    expect(r.line, r.output).toBe('2 passed, 1 failed, 2 skipped')
  })

  it('a clean run says 0 failed', async () => {
    const r = await closingLineOf(['pass.test.mjs'])
    expect(r.line, r.output).toBe('2 passed, 0 failed')
    expect(r.code).toBe(0)
  })
})
