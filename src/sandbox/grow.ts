/**
 * Growing and shrinking a running sandbox for `kvtop scale`: new nodes start inside the sandbox
 * (same config, same admin user, recorded in its state before they start, so `sandbox down` stops
 * them even after a crash), and only nodes the sandbox owns are ever stopped.
 */
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { OperationError, UsageError } from '../errors.js'
import { sandboxDir } from './paths.js'
import { findFreePortBlock, firstTakenPort } from './ports.js'
import { isProcessAlive, stopProcess } from './process.js'
import { readPid, startNode, waitForPing } from './sandbox.js'
import { listStates, readState, writeState, type SandboxNodeState, type SandboxState } from './state.js'

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1'])

/** The running sandbox that owns a live node at host:port, if any. */
export function findSandboxByAddress(
  host: string,
  port: number,
  env: NodeJS.ProcessEnv = process.env,
): SandboxState | undefined {
  if (!LOOPBACK.has(host.toLowerCase())) return undefined
  return listStates(env).find((s) =>
    s.nodes.some((n) => n.port === port && isProcessAlive(readPid(n), n.port)),
  )
}

/** Does the sandbox own the node at host:port (so that kvtop may stop it)? */
export function sandboxOwns(state: SandboxState, host: string, port: number): boolean {
  return LOOPBACK.has(host.toLowerCase()) && state.nodes.some((n) => n.port === port)
}

async function choosePorts(state: SandboxState, count: number): Promise<number> {
  const highest = Math.max(...state.nodes.map((n) => n.port))
  const next = highest + 1
  if (next + count - 1 <= 55535) {
    const ports = Array.from({ length: count }, (_, i) => next + i)
    if ((await firstTakenPort([...ports, ...ports.map((p) => p + 10000)])) === undefined) return next
  }
  return findFreePortBlock(count, true)
}

/**
 * Start `count` empty cluster-enabled nodes in sandbox `name` and wait until they answer. They are
 * recorded in the sandbox state first; on failure the ones started are stopped and unrecorded.
 */
export async function addSandboxNodes(
  name: string,
  count: number,
  env: NodeJS.ProcessEnv = process.env,
): Promise<SandboxNodeState[]> {
  const state = readState(name, env)
  if (!state) throw new UsageError(`no sandbox named '${name}'`)
  if (state.shards === 0) throw new UsageError(`sandbox '${name}' is not a cluster`)
  const base = await choosePorts(state, count)
  const dir = sandboxDir(name, env)
  const added: SandboxNodeState[] = Array.from({ length: count }, (_, i) => {
    const port = base + i
    const nodeDir = join(dir, `node-${port}`)
    return {
      port,
      role: 'primary',
      shard: -1,
      dir: nodeDir,
      pidFile: join(nodeDir, 'redis.pid'),
      logFile: join(nodeDir, 'redis.log'),
    }
  })
  state.nodes.push(...added)
  await writeState(state, env)
  try {
    for (const node of added) startNode(state, node, true)
    await Promise.all(added.map((n) => waitForPing(state, n)))
  } catch (err) {
    await Promise.all(added.map((n) => stopOwned(n)))
    const now = readState(name, env)
    if (now) {
      now.nodes = now.nodes.filter((n) => !added.some((a) => a.port === n.port))
      await writeState(now, env)
    }
    for (const n of added) rmSync(n.dir, { recursive: true, force: true })
    throw err instanceof UsageError || err instanceof OperationError
      ? err
      : new OperationError(`sandbox '${name}' could not start new nodes: ${(err as Error).message}`)
  }
  return added
}

async function stopOwned(node: SandboxNodeState): Promise<boolean> {
  const pid = readPid(node)
  return pid ? stopProcess(pid, node.port) : false
}

/** Stop one node the sandbox owns and drop it from the sandbox state. False when it was not ours. */
export async function removeSandboxNode(
  name: string,
  port: number,
  env: NodeJS.ProcessEnv = process.env,
): Promise<boolean> {
  const state = readState(name, env)
  const node = state?.nodes.find((n) => n.port === port)
  if (!state || !node) return false
  if (state.nodes.length === 1) throw new UsageError(`refusing to stop the last node of sandbox '${name}'`)
  const stopped = await stopOwned(node)
  state.nodes = state.nodes.filter((n) => n.port !== port)
  await writeState(state, env)
  rmSync(node.dir, { recursive: true, force: true })
  return stopped
}

/** Record the layout the cluster ended with (roles and shards by port; shard and replica counts). */
export async function recordSandboxLayout(
  name: string,
  layout: readonly { port: number; role: 'primary' | 'replica'; shard: number }[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  const state = readState(name, env)
  if (!state) return
  const byPort = new Map(layout.map((l) => [l.port, l]))
  for (const node of state.nodes) {
    const l = byPort.get(node.port)
    if (l) {
      node.role = l.role
      node.shard = l.shard
    }
  }
  const primaries = layout.filter((l) => l.role === 'primary')
  state.shards = primaries.length
  const perShard = primaries.map(
    (p) => layout.filter((l) => l.role === 'replica' && l.shard === p.shard).length,
  )
  state.replicas = perShard.length ? Math.min(...perShard) : 0
  await writeState(state, env)
}
