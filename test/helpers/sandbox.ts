import { randomBytes } from 'node:crypto'
import { Cluster, type Redis } from 'ioredis'
import { closeQuietly, openNode, type ConnectionSpec } from '../../src/connect/client.js'
import { parseEndpointUrl } from '../../src/connect/endpoint.js'
import { isProcessAlive } from '../../src/sandbox/process.js'
import {
  sandboxDown,
  sandboxUp,
  adminSpec,
  readPid,
  startNode,
  waitForPing,
  type SandboxSummary,
  type SandboxUpOptions,
} from '../../src/sandbox/sandbox.js'
import { readState, type SandboxState } from '../../src/sandbox/state.js'

export interface TestSandbox {
  name: string
  summary: SandboxSummary
  state: SandboxState
  /** URL with the client's password in it (for commands under test). */
  url: string
  /** Connection spec of the client's user. */
  spec: ConnectionSpec
  /** A connection as the sandbox's admin user (full rights) to the node on `port`. */
  admin(port?: number): Promise<Redis>
  /** A connection as the client's user. */
  client(port?: number): Promise<Redis>
  down(): Promise<void>
}

export function sandboxEnv(): NodeJS.ProcessEnv {
  if (!process.env.KVTOP_SANDBOX_DIR) throw new Error('test/helpers/global-setup.ts did not run')
  return process.env
}

/** Start a sandbox with a unique name under the test root. Call down() in afterAll. */
export async function startSandbox(options: Partial<SandboxUpOptions> = {}): Promise<TestSandbox> {
  const name = options.name ?? `t-${randomBytes(4).toString('hex')}`
  const env = sandboxEnv()
  const summary = await sandboxUp({ shards: 0, replicas: 0, flavor: 'redis', ...options, name, env })
  const state = readState(name, env)!
  // The sandbox's URL names its user as `user@` (a profile URL): read it so, then add the password.
  const endpoint = parseEndpointUrl(summary.url, { bareUserinfo: 'user' })
  if (state.clientPassword) endpoint.password = state.clientPassword
  const url = state.clientPassword
    ? summary.url
        .replace(
          'redis://',
          `redis://${state.clientUser === 'default' ? '' : state.clientUser}:${encodeURIComponent(state.clientPassword)}@`,
        )
        .replace(/@([^@]*)@/, '@')
    : summary.url
  const spec: ConnectionSpec = { endpoint, insecure: false, timeoutMs: 5000, natMap: new Map() }
  const opened: Redis[] = []
  const track = (r: Redis) => (opened.push(r), r)
  return {
    name,
    summary,
    state,
    url,
    spec,
    admin: async (port = summary.nodes[0].port) =>
      track(await openNode(adminSpec(state), { host: '127.0.0.1', port })),
    client: async (port = summary.nodes[0].port) => track(await openNode(spec, { host: '127.0.0.1', port })),
    down: async () => {
      await Promise.all(opened.map((r) => closeQuietly(r)))
      await sandboxDown(name, env).catch(() => {})
    },
  }
}

/**
 * A cluster client on the sandbox's primaries (as started) with the admin user: routes by slot and
 * follows MOVED/ASK. Its connection errors are left to the calls. Disconnect it when done.
 */
export function adminClusterClient(sb: TestSandbox): Cluster {
  const admin = adminSpec(sb.state).endpoint
  const c = new Cluster(
    sb.state.nodes.filter((n) => n.role === 'primary').map((n) => ({ host: '127.0.0.1', port: n.port })),
    { redisOptions: { username: admin.username, password: admin.password } },
  )
  c.on('error', () => {})
  return c
}

/**
 * Stop a standalone sandbox's server (a fork child streaming a snapshot with it: the key-save delay
 * is lifted first) with SHUTDOWN SAVE, and start it again on the same port from that RDB: a restart
 * in the middle of an operation.
 */
export async function restartStandalone(sb: TestSandbox): Promise<void> {
  const node = sb.state.nodes[0]
  const pid = readPid(node)
  const conn = await openNode(adminSpec(sb.state), { host: '127.0.0.1', port: node.port })
  try {
    await conn.config('SET', 'rdb-key-save-delay', '0')
    await conn.call('SHUTDOWN', 'SAVE').catch(() => {})
  } finally {
    await closeQuietly(conn)
  }
  for (let i = 0; i < 200 && pid !== undefined && isProcessAlive(pid); i++)
    await new Promise((r) => setTimeout(r, 50))
  if (pid !== undefined && isProcessAlive(pid)) throw new Error(`sandbox server pid ${pid} did not stop`)
  startNode(sb.state, node, false)
  await waitForPing(sb.state, node)
}
