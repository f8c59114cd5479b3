import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sandboxDown } from '../../src/sandbox/sandbox.js'

/**
 * One temporary root for every sandbox the tests start and every temporary folder they (and the
 * kvtop and redis processes they run) make: os.tmpdir() is a folder inside it (TMPDIR). On
 * teardown every sandbox still under it is stopped (even when a test failed before its own
 * cleanup) and the root removed, so a test that forgets its folder leaves nothing behind.
 */
export default function setup(): () => Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'kvtop-test-'))
  process.env.KVTOP_TEST_ROOT = root
  process.env.KVTOP_SANDBOX_DIR = join(root, 'sandboxes')
  mkdirSync(join(root, 'tmp'))
  process.env.TMPDIR = join(root, 'tmp')
  return async () => {
    const env = { ...process.env, KVTOP_SANDBOX_DIR: join(root, 'sandboxes') }
    let names: string[] = []
    try {
      names = readdirSync(env.KVTOP_SANDBOX_DIR)
    } catch {
      // none started
    }
    await Promise.all(names.map((n) => sandboxDown(n, env).catch(() => {})))
    rmSync(root, { recursive: true, force: true })
  }
}
