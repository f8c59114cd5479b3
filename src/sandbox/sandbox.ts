import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Redis } from 'ioredis'
import { UsageError, OperationError } from '../errors.js'
import { registerSecret } from '../redact.js'
import { closeQuietly, openNode, type ConnectionSpec } from '../connect/client.js'
import { parseClusterNodes } from '../connect/cluster-parsers.js'
import { parseInfo } from '../redis/info.js'
import { findServerBinary, type ServerBinary, type ServerEngine } from './binary.js'
import { ADMIN_USER, aclConfigLines, type Flavor } from './flavors.js'
import { sandboxDir } from './paths.js'
import { findFreePortBlock, firstTakenPort } from './ports.js'
import {
  listStates,
  readState,
  SANDBOX_STATE_KIND,
  SANDBOX_STATE_VERSION,
  sandboxUrl,
  writeState,
  type SandboxNodeState,
  type SandboxState,
} from './state.js'
import { isProcessAlive, readPid, stopProcess } from './process.js'
import { kvtopInvocation } from '../invocation.js'

export interface SandboxUpOptions {
  name: string
  shards: number
  replicas: number
  port?: number
  flavor: Flavor
  /** Password for the client's user; memorydb generates one when absent. */
  password?: string
  /** Client ACL user (memorydb: defaults to 'kvtop'; others: 'default'). */
  user?: string
  env?: NodeJS.ProcessEnv
  /** The server binary for this sandbox (default: KVTOP_REDIS_SERVER, else redis-server or valkey-server on PATH). */
  serverPath?: string
  /** Which server to run: redis or valkey (see findServerBinary); default redis when found, else valkey. */
  engine?: ServerEngine
  onPhase?: (phase: string, detail?: string) => void
}

export interface SandboxSummary {
  name: string
  flavor: Flavor
  mode: 'standalone' | 'replicated' | 'cluster'
  shards: number
  replicas: number
  engine: string
  version: string
  url: string
  user: string
  nodes: { port: number; role: 'primary' | 'replica'; shard: number; pid?: number; up: boolean }[]
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/
const SLOTS = 16384

function summarize(state: SandboxState, alive?: Map<number, boolean>): SandboxSummary {
  return {
    name: state.name,
    flavor: state.flavor,
    mode: state.shards > 0 ? 'cluster' : state.replicas > 0 ? 'replicated' : 'standalone',
    shards: state.shards,
    replicas: state.replicas,
    engine: state.engine,
    version: state.serverVersion,
    url: sandboxUrl(state),
    user: state.clientUser,
    nodes: state.nodes.map((n) => ({
      port: n.port,
      role: n.role,
      shard: n.shard,
      ...(readPid(n) ? { pid: readPid(n) } : {}),
      up: alive ? (alive.get(n.port) ?? false) : true,
    })),
  }
}

export function adminSpec(state: SandboxState, timeoutMs = 3000): ConnectionSpec {
  registerSecret(state.adminPassword)
  return {
    endpoint: {
      host: '127.0.0.1',
      port: state.nodes[0].port,
      tls: false,
      username: ADMIN_USER,
      password: state.adminPassword,
      db: 0,
    },
    insecure: false,
    timeoutMs,
    natMap: new Map(),
    clientName: 'kvtop-sandbox',
  }
}

function validateUpOptions(o: SandboxUpOptions): void {
  if (!NAME.test(o.name))
    throw new UsageError(`invalid sandbox name '${o.name}': use letters, digits, '.', '_' and '-'`)
  if (!Number.isInteger(o.shards) || o.shards < 0 || o.shards > 100)
    throw new UsageError('--shards must be a whole number from 0 to 100')
  if (!Number.isInteger(o.replicas) || o.replicas < 0 || o.replicas > 5)
    throw new UsageError('--replicas must be a whole number from 0 to 5')
  if (o.flavor === 'memorydb' && o.shards === 0) {
    throw new UsageError('the memorydb flavor is always cluster mode: use --shards 1 or more')
  }
  if (o.port !== undefined) {
    // A cluster's nodes also listen on their bus port, port + 10000.
    const cluster = o.shards > 0
    const nodes = Math.max(1, o.shards) * (1 + o.replicas)
    const highest = (cluster ? 55535 : 65535) - (nodes - 1)
    if (!Number.isInteger(o.port) || o.port < 1024 || o.port > highest)
      throw new UsageError(
        cluster
          ? `--port must be from 1024 to ${highest} for ${nodes} cluster nodes (their bus ports are port+10000)`
          : `--port must be from 1024 to ${highest} for ${nodes} node${nodes === 1 ? '' : 's'}`,
      )
  }
}

/**
 * Start a sandbox: its name freed (a stopped one's files removed), ports chosen, its state file
 * written before any process starts (so `sandbox down` can always clean up), then the servers
 * started, the cluster assembled and replication awaited.
 */
export async function sandboxUp(o: SandboxUpOptions): Promise<SandboxSummary> {
  const env = o.env ?? process.env
  validateUpOptions(o)
  const phase = o.onPhase ?? (() => {})
  clearStopped(o.name, env)
  const binary = findServerBinary(env, { engine: o.engine, path: o.serverPath })
  const cluster = o.shards > 0
  const nodeCount = cluster ? o.shards * (1 + o.replicas) : 1 + o.replicas
  const base = await choosePorts(o, nodeCount, cluster)
  const state = newState(o, binary)
  const dir = sandboxDir(o.name, env)
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  state.nodes = planNodes(dir, base, nodeCount, o.replicas, cluster)
  await writeState(state, env)
  try {
    phase('starting', `${nodeCount} ${binary.engine}-server ${binary.version} processes`)
    for (const node of state.nodes) startNode(state, node, cluster)
    await Promise.all(state.nodes.map((n) => waitForPing(state, n)))
    if (cluster) {
      phase('assembling', `${o.shards} shards x ${o.replicas} replicas`)
      await assembleCluster(state)
    }
    phase('waiting', 'replication and cluster state')
    await waitHealthy(state)
  } catch (err) {
    await sandboxDown(o.name, env).catch(() => {})
    if (err instanceof UsageError || err instanceof OperationError) throw err
    throw new OperationError(`sandbox '${o.name}' failed to start: ${(err as Error).message}`, {
      hint: `Server logs were in ${dir}; the processes were stopped.`,
    })
  }
  return summarize(state)
}

/** A sandbox of this name that still runs is refused; a stopped one's files are removed. */
function clearStopped(name: string, env: NodeJS.ProcessEnv): void {
  const existing = readState(name, env)
  if (!existing) return
  if (existing.nodes.some((n) => isProcessAlive(readPid(n)))) {
    throw new UsageError(`sandbox '${name}' is already running`, {
      code: 'sandbox-exists',
      hint: `Stop it with: ${kvtopInvocation()} sandbox down --name ${name}, or choose another --name.`,
    })
  }
  rmSync(sandboxDir(name, env), { recursive: true, force: true })
}

/** The first of `nodeCount` consecutive ports: --port when all of them (and a cluster's bus ports) are free, else a free block. */
async function choosePorts(o: SandboxUpOptions, nodeCount: number, cluster: boolean): Promise<number> {
  if (o.port === undefined) return findFreePortBlock(nodeCount, cluster)
  const ports = Array.from({ length: nodeCount }, (_, i) => o.port! + i)
  const taken = await firstTakenPort(cluster ? [...ports, ...ports.map((p) => p + 10000)] : ports)
  if (taken !== undefined) {
    throw new UsageError(`port ${taken} is already in use`, {
      code: 'port-in-use',
      hint: `The sandbox needs ports ${o.port}-${o.port + nodeCount - 1}${cluster ? ' and their bus ports (+10000)' : ''}; pick another --port or leave it out to choose free ports.`,
    })
  }
  return o.port
}

/** The sandbox's state before its nodes: server, flavor and fresh credentials (registered as secrets). */
function newState(o: SandboxUpOptions, binary: ServerBinary): SandboxState {
  const clientUser = o.user ?? (o.flavor === 'memorydb' ? 'kvtop' : 'default')
  const clientPassword =
    o.password ?? (o.flavor === 'memorydb' ? randomBytes(12).toString('base64url') : undefined)
  const state: SandboxState = {
    kind: SANDBOX_STATE_KIND,
    version: SANDBOX_STATE_VERSION,
    name: o.name,
    flavor: o.flavor,
    shards: o.shards,
    replicas: o.replicas,
    engine: binary.engine,
    serverVersion: binary.version,
    serverPath: binary.path,
    createdAt: Date.now(),
    adminPassword: randomBytes(18).toString('base64url'),
    clientUser,
    ...(clientPassword ? { clientPassword } : {}),
    nodes: [],
  }
  registerSecret(state.adminPassword)
  registerSecret(clientPassword)
  return state
}

/** The nodes on consecutive ports from `base`: per shard a primary then its replicas (one shard when not a cluster). */
function planNodes(
  dir: string,
  base: number,
  nodeCount: number,
  replicas: number,
  cluster: boolean,
): SandboxNodeState[] {
  return Array.from({ length: nodeCount }, (_, i) => {
    const port = base + i
    const nodeDir = join(dir, `node-${port}`)
    return {
      port,
      role: (cluster ? i % (1 + replicas) === 0 : i === 0) ? 'primary' : 'replica',
      shard: cluster ? Math.floor(i / (1 + replicas)) : 0,
      dir: nodeDir,
      pidFile: join(nodeDir, 'redis.pid'),
      logFile: join(nodeDir, 'redis.log'),
    }
  })
}

function nodeConfig(state: SandboxState, node: SandboxNodeState, cluster: boolean): string {
  const lines = [
    `port ${node.port}`,
    'bind 127.0.0.1',
    'daemonize yes',
    `pidfile ${node.pidFile}`,
    `logfile ${node.logFile}`,
    `dir ${node.dir}`,
    'save ""',
    'appendonly no',
    'enable-debug-command local',
    'latency-tracking yes',
    `masteruser ${ADMIN_USER}`,
    `masterauth ${state.adminPassword}`,
    ...aclConfigLines({
      flavor: state.flavor,
      adminPassword: state.adminPassword,
      clientUser: state.clientUser,
      clientPassword: state.clientPassword,
    }),
  ]
  if (cluster) {
    lines.push('cluster-enabled yes', 'cluster-config-file nodes.conf', 'cluster-node-timeout 2000')
  } else if (node.role === 'replica') {
    lines.push(`replicaof 127.0.0.1 ${state.nodes[0].port}`)
  }
  return lines.join('\n') + '\n'
}

export function startNode(state: SandboxState, node: SandboxNodeState, cluster: boolean): void {
  mkdirSync(node.dir, { recursive: true, mode: 0o700 })
  const conf = join(node.dir, 'redis.conf')
  writeFileSync(conf, nodeConfig(state, node, cluster), { mode: 0o600 })
  const result = spawnSync(state.serverPath, [conf], { encoding: 'utf8', timeout: 10_000 })
  if (result.status !== 0) {
    const log = existsSync(node.logFile)
      ? readFileSync(node.logFile, 'utf8').split('\n').slice(-5).join('\n')
      : ''
    throw new OperationError(
      `${state.serverPath} did not start on port ${node.port}: ${(result.stderr || result.stdout || log).trim()}`,
    )
  }
}

async function withAdmin<T>(state: SandboxState, port: number, fn: (r: Redis) => Promise<T>): Promise<T> {
  const client = await openNode(adminSpec(state), { host: '127.0.0.1', port })
  try {
    return await fn(client)
  } finally {
    await closeQuietly(client)
  }
}

async function until(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  while (Date.now() < deadline) {
    try {
      if (await check()) return
    } catch (err) {
      lastError = err
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new OperationError(
    `timed out waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ''}`,
  )
}

export async function waitForPing(state: SandboxState, node: SandboxNodeState): Promise<void> {
  await until(`the server on port ${node.port}`, 15_000, () =>
    withAdmin(state, node.port, async (r) => (await r.ping()) === 'PONG'),
  )
}

async function assembleCluster(state: SandboxState): Promise<void> {
  const primaries = state.nodes.filter((n) => n.role === 'primary')
  const per = Math.floor(SLOTS / primaries.length)
  const extra = SLOTS % primaries.length
  let next = 0
  const ids = new Map<number, string>()
  for (let i = 0; i < primaries.length; i++) {
    const count = per + (i < extra ? 1 : 0)
    const from = next
    const to = next + count - 1
    next = to + 1
    await withAdmin(state, primaries[i].port, (r) =>
      r.call('CLUSTER', 'ADDSLOTSRANGE', String(from), String(to)),
    )
  }
  for (const node of state.nodes) {
    ids.set(node.port, String(await withAdmin(state, node.port, (r) => r.call('CLUSTER', 'MYID'))))
  }
  const first = state.nodes[0].port
  await withAdmin(state, first, async (r) => {
    for (const node of state.nodes.slice(1)) await r.call('CLUSTER', 'MEET', '127.0.0.1', String(node.port))
  })
  // Every node must know every other before replicas can name their primary.
  await until('the cluster nodes to meet', 20_000, async () => {
    for (const node of state.nodes) {
      const known = parseClusterNodes(
        String(await withAdmin(state, node.port, (r) => r.call('CLUSTER', 'NODES'))),
      )
      if (known.length < state.nodes.length || known.some((k) => k.flags.includes('handshake'))) return false
    }
    return true
  })
  for (const node of state.nodes.filter((n) => n.role === 'replica')) {
    const primary = primaries[node.shard]
    await until(`port ${node.port} to replicate port ${primary.port}`, 10_000, async () => {
      await withAdmin(state, node.port, (r) => r.call('CLUSTER', 'REPLICATE', ids.get(primary.port)!))
      return true
    })
  }
}

async function waitHealthy(state: SandboxState): Promise<void> {
  const cluster = state.shards > 0
  await until('the sandbox to become healthy', 30_000, async () => {
    for (const node of state.nodes) {
      const info = parseInfo(await withAdmin(state, node.port, (r) => r.info()))
      if (cluster && (info.cluster_state !== 'ok' || info.cluster_slots_ok !== String(SLOTS))) {
        const ci = parseInfo(String(await withAdmin(state, node.port, (r) => r.call('CLUSTER', 'INFO'))))
        if (
          ci.cluster_state !== 'ok' ||
          ci.cluster_slots_ok !== String(SLOTS) ||
          Number(ci.cluster_known_nodes) !== state.nodes.length
        )
          return false
      }
      if (node.role === 'replica' && info.master_link_status !== 'up') return false
      if (info.loading === '1') return false
    }
    return true
  })
}

export interface SandboxDownResult {
  name: string
  stopped: number[]
}

/** Stop exactly the processes this sandbox started (pid files, checked) and remove its files. */
export async function sandboxDown(
  name: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<SandboxDownResult> {
  const state = readState(name, env)
  if (!state) {
    throw new UsageError(`no sandbox named '${name}'`, {
      code: 'no-sandbox',
      hint: `List them with: ${kvtopInvocation()} sandbox status`,
    })
  }
  const stopped: number[] = []
  await Promise.all(
    state.nodes.map(async (node) => {
      const pid = readPid(node)
      if (pid && (await stopProcess(pid, node.port))) stopped.push(node.port)
    }),
  )
  rmSync(sandboxDir(name, env), { recursive: true, force: true })
  return { name, stopped: stopped.sort((a, b) => a - b) }
}

export async function sandboxStatus(env: NodeJS.ProcessEnv = process.env): Promise<SandboxSummary[]> {
  return listStates(env).map((state) => {
    const alive = new Map(state.nodes.map((n) => [n.port, isProcessAlive(readPid(n), n.port)]))
    return summarize(state, alive)
  })
}

export { readPid }
