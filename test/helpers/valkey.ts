import { accessSync, constants } from 'node:fs'
import { homedir } from 'node:os'
import { delimiter, join } from 'node:path'
import type { SandboxUpOptions } from '../../src/sandbox/sandbox.js'
import { startSandbox, type TestSandbox } from './sandbox.js'

const executable = (path: string) => {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/**
 * The valkey-server the Valkey tests run: KVTOP_VALKEY_SERVER, else valkey-server on PATH, else the
 * one built under $KVTOP_VALKEY_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/kvtop-valkey) if it
 * is there. Undefined when there is none.
 */
export function valkeyServer(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.KVTOP_VALKEY_SERVER) return env.KVTOP_VALKEY_SERVER
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir && executable(join(dir, 'valkey-server'))) return join(dir, 'valkey-server')
  }
  const cache =
    env.KVTOP_VALKEY_CACHE ||
    join(env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache'), 'kvtop-valkey')
  const built = join(cache, 'valkey-8.0.1-tls-no', 'src', 'valkey-server')
  return executable(built) ? built : undefined
}

let said = false

/**
 * True when there is no valkey-server: for `describe.skipIf(noValkey())`. Says so once per test
 * process, in one line.
 */
export function noValkey(): boolean {
  const missing = valkeyServer() === undefined
  if (missing && !said) {
    said = true
    console.log(
      'Valkey tests skipped: no valkey-server (set KVTOP_VALKEY_SERVER, put valkey-server on PATH, or build it under $KVTOP_VALKEY_CACHE)',
    )
  }
  return missing
}

/** A sandbox running valkey-server (see valkeyServer); fails when there is none. */
export function startValkeySandbox(options: Partial<SandboxUpOptions> = {}): Promise<TestSandbox> {
  const serverPath = valkeyServer()
  if (!serverPath) throw new Error('no valkey-server: guard the tests with describe.skipIf(noValkey())')
  return startSandbox({ ...options, serverPath })
}
