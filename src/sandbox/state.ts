import { chmodSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
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
  name: string
  flavor: Flavor
  shards: number
  replicas: number
  engine: 'redis' | 'valkey'
  version: string
  serverPath: string
  createdAt: number
  adminPassword: string
  clientUser: string
  clientPassword?: string
  nodes: SandboxNodeState[]
}

const STATE_FILE = 'sandbox.json'

/** The URL clients use, without the password (which lives in the 0600 state file). */
export function sandboxUrl(state: SandboxState): string {
  const user = state.clientUser !== 'default' ? `${state.clientUser}@` : ''
  return `redis://${user}127.0.0.1:${state.nodes[0].port}`
}

export function writeState(state: SandboxState, env: NodeJS.ProcessEnv = process.env): void {
  const dir = sandboxDir(state.name, env)
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const tmp = join(dir, `${STATE_FILE}.tmp`)
  writeFileSync(tmp, JSON.stringify(state, null, 2), { mode: 0o600 })
  chmodSync(tmp, 0o600)
  renameSync(tmp, join(dir, STATE_FILE))
}

export function readState(name: string, env: NodeJS.ProcessEnv = process.env): SandboxState | undefined {
  try {
    return JSON.parse(readFileSync(join(sandboxDir(name, env), STATE_FILE), 'utf8')) as SandboxState
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
