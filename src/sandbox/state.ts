import { mkdirSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { loadStateFile, saveStateFile, type StateFileKind } from '../data/state-file.js'
import type { Flavor } from './flavors.js'
import { sandboxDir, sandboxRoot } from './paths.js'

export interface SandboxNodeState {
  port: number
  role: 'primary' | 'replica'
  shard: number
  dir: string
  pidFile: string
  logFile: string
}

export interface SandboxState {
  kind: typeof SANDBOX_STATE_KIND
  /** The format of the state file (not the server's version: that is `serverVersion`). */
  version: number
  updatedAt?: number
  name: string
  flavor: Flavor
  shards: number
  replicas: number
  engine: 'redis' | 'valkey'
  /** The redis-server / valkey-server version the sandbox runs. */
  serverVersion: string
  serverPath: string
  createdAt: number
  adminPassword: string
  clientUser: string
  clientPassword?: string
  nodes: SandboxNodeState[]
}

const STATE_FILE = 'sandbox.json'
export const SANDBOX_STATE_KIND = 'kvtop-sandbox'
export const SANDBOX_STATE_VERSION = 1

/** What earlier kvtop builds wrote: no kind, no format version, and `version` the server's. */
interface UnversionedSandboxState extends Omit<SandboxState, 'kind' | 'version' | 'serverVersion'> {
  version: string
}

function isUnversioned(value: unknown): value is UnversionedSandboxState {
  const v = value as Partial<UnversionedSandboxState> | null
  return (
    typeof v === 'object' &&
    v !== null &&
    !('kind' in v) &&
    typeof v.version === 'string' &&
    typeof v.name === 'string' &&
    Array.isArray(v.nodes)
  )
}

const SANDBOX_STATE: StateFileKind<SandboxState> = {
  kind: SANDBOX_STATE_KIND,
  version: SANDBOX_STATE_VERSION,
  what: 'kvtop sandbox state file',
  flag: '--name',
  valid: (s) => typeof s.name === 'string' && typeof s.serverVersion === 'string' && Array.isArray(s.nodes),
  // A sandbox started by an earlier build may still be running: it must still be found and stopped.
  upgrade: (value) => {
    if (!isUnversioned(value)) return undefined
    const { version: serverVersion, ...rest } = value
    return { kind: SANDBOX_STATE_KIND, version: SANDBOX_STATE_VERSION, ...rest, serverVersion }
  },
}

/** The URL clients use, without the password (which lives in the 0600 state file). */
export function sandboxUrl(state: SandboxState): string {
  const user = state.clientUser !== 'default' ? `${state.clientUser}@` : ''
  return `redis://${user}127.0.0.1:${state.nodes[0].port}`
}

/** Write the state atomically (mode 0600, in a 0700 folder): a crash leaves the previous one. */
export async function writeState(state: SandboxState, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const dir = sandboxDir(state.name, env)
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  await saveStateFile(join(dir, STATE_FILE), state)
}

/** The sandbox's state; undefined when there is none, or none this kvtop can read. */
export function readState(name: string, env: NodeJS.ProcessEnv = process.env): SandboxState | undefined {
  try {
    return loadStateFile(join(sandboxDir(name, env), STATE_FILE), SANDBOX_STATE)
  } catch {
    return undefined
  }
}

export function listStates(env: NodeJS.ProcessEnv = process.env): SandboxState[] {
  let names: string[]
  try {
    names = readdirSync(sandboxRoot(env))
  } catch {
    return []
  }
  return names
    .map((n) => readState(n, env))
    .filter((s): s is SandboxState => Boolean(s))
    .sort((a, b) => a.name.localeCompare(b.name))
}
