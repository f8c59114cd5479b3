import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sandboxDown, sandboxUp, type SandboxSummary } from '../src/sandbox/sandbox.js'
import { sleep, stop, THIS_BIN } from './lib-process.js'

export interface LoadedSandbox {
  summary: SandboxSummary
  /** The environment that names the sandbox's folder (for CLI children). */
  env: NodeJS.ProcessEnv
  /** What the report says about it. */
  note: string
  /** Stop the load, the sandbox, and remove its folder. */
  down(): Promise<void>
}

export interface StartedSandbox {
  summary: SandboxSummary
  /** The environment that names the sandbox's folder (for CLI children). */
  env: NodeJS.ProcessEnv
  /** How long `sandbox up` took, in seconds. */
  upSeconds: number
  /** Stop the sandbox and remove its folder. */
  down(): Promise<void>
}

/** A sandbox (standalone with `shards` 0) in a temporary folder of its own, idle. */
export async function startedSandbox(
  name: string,
  shards: number,
  replicas: number,
): Promise<StartedSandbox> {
  const root = mkdtempSync(join(tmpdir(), `kvtop-${name}-`))
  const env = { ...process.env, KVTOP_SANDBOX_DIR: join(root, 'sandboxes'), NO_COLOR: '1' }
  const down = async () => {
    await sandboxDown(name, env).catch(() => {})
    rmSync(root, { recursive: true, force: true })
  }
  try {
    const upStarted = Date.now()
    const summary = await sandboxUp({ name, shards, replicas, flavor: 'redis', env })
    return { summary, env, upSeconds: (Date.now() - upStarted) / 1000, down }
  } catch (err) {
    await down()
    throw err
  }
}

/**
 * A cluster sandbox in a temporary folder under a light `sandbox load` (2000 ops/s over 2000 keys)
 * in its own process, so that the CPU measured of the tool under test is its own.
 */
export async function loadedSandbox(name: string, shards: number, replicas: number): Promise<LoadedSandbox> {
  const sandbox = await startedSandbox(name, shards, replicas)
  const { summary, env } = sandbox
  let load: ChildProcess | undefined
  const down = async () => {
    stop(load)
    await sandbox.down()
  }
  try {
    const note = `sandbox: ${shards} shards x ${replicas} replicas = ${summary.nodes.length} redis-server ${summary.version} processes, up in ${sandbox.upSeconds.toFixed(1)} s`
    load = spawn(
      process.execPath,
      [THIS_BIN, 'sandbox', 'load', summary.url, '--rate', '2000', '--keys', '2000'],
      {
        env,
        stdio: ['ignore', 'ignore', 'ignore'],
      },
    )
    await sleep(3000)
    return { summary, env, note, down }
  } catch (err) {
    await down()
    throw err
  }
}
