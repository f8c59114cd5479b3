import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'

const SCRIPT = fileURLToPath(new URL('../../../scripts/check-test-layout.js', import.meta.url))

let root: string
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'kvtop-test-layout-'))
  for (const file of [
    'src/flags.ts',
    'src/ops/migrate/checkpoint.ts',
    'src/data/rdb/reader.ts',
    'commands/migrate/run.ts',
    'test/helpers/sandbox.ts',
    'bench/lib-rounds.ts',
  ])
    put(file)
})
afterEach(() => rmSync(root, { recursive: true, force: true }))

function put(file: string): void {
  mkdirSync(dirname(join(root, file)), { recursive: true })
  writeFileSync(join(root, file), '')
}

function check(): { status: number | null; stderr: string } {
  const run = spawnSync(process.execPath, [SCRIPT, root], { encoding: 'utf8' })
  return { status: run.status, stderr: run.stderr }
}

describe('scripts/check-test-layout.js: the test tree mirrors src/', () => {
  it('accepts tests in mirrored folders, top-level tests named after a src file, and the listed cross-cutting folder', () => {
    for (const file of [
      'test/unit/ops/migrate/checkpoint.test.ts',
      'test/unit/ops/migrate/helper.ts',
      'test/unit/data/rdb/reader.test.ts',
      'test/unit/flags.test.ts',
      'test/unit/flags-seconds.test.ts',
      'test/unit/commands/migrate/run.test.ts',
      'test/unit/helpers/sandbox.test.ts',
      'test/unit/bench/lib-rounds.test.ts',
      'test/integration/ops/migrate/resume.test.ts',
      'test/integration/commands/readme.test.ts',
      'test/integration/valkey/engines.test.ts',
    ])
      put(file)
    expect(check()).toEqual({ status: 0, stderr: '' })
  })

  it('refuses, naming each file: a folder src/ does not have, a top-level test named after no src file, a top-level integration test', () => {
    for (const file of [
      'test/unit/ops/migrate/checkpoint.test.ts',
      'test/unit/migrate/checkpoint.test.ts',
      'test/unit/ops/migrate/extra/deep.test.ts',
      'test/unit/commands/nope/x.test.ts',
      'test/unit/bench/nope/x.test.ts',
      'test/unit/core.test.ts',
      'test/unit/flagsx.test.ts',
      'test/integration/smoke.test.ts',
      'test/integration/cli/epipe.test.ts',
    ])
      put(file)
    const { status, stderr } = check()
    expect(status).toBe(1)
    const named = stderr
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => line.trim().split(':')[0])
      .sort()
    expect(named).toEqual([
      'test/integration/cli/epipe.test.ts',
      'test/integration/smoke.test.ts',
      'test/unit/bench/nope/x.test.ts',
      'test/unit/commands/nope/x.test.ts',
      'test/unit/core.test.ts',
      'test/unit/flagsx.test.ts',
      'test/unit/migrate/checkpoint.test.ts',
      'test/unit/ops/migrate/extra/deep.test.ts',
    ])
    expect(stderr).toContain(
      'test/unit/migrate/checkpoint.test.ts: test/unit/migrate mirrors no folder of src/, commands/, test/helpers/, scripts/ or bench/',
    )
  })
})
