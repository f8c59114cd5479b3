import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseClusterNodes } from '../../../../src/connect/cluster-parsers.js'
import { runCli } from '../../../helpers/cli.js'
import { freePort } from '../../../helpers/ports.js'
import { clusterClient, redisCliCheck } from './helpers.js'

/**
 * Nodes whose cluster bus is not on port + 10000 (`cluster-port`): `scale --add-node` must send
 * CLUSTER MEET with the new node's bus port, or the handshake never completes.
 */
interface Node {
  port: number
  busPort: number
  child: ChildProcess
  redis: Redis
}

const KEYS = 600

describe('kvtop scale --add-node with cluster-port other than port + 10000', { timeout: 180_000 }, () => {
  const nodes: Node[] = []
  const dirs: string[] = []
  const taken = new Set<number>()

  /** A free port no other node of this test uses, and not the +10000 of one. */
  async function port(): Promise<number> {
    for (;;) {
      const p = await freePort()
      if ([p, p + 10000, p - 10000].some((x) => taken.has(x))) continue
      taken.add(p)
      return p
    }
  }

  async function startNode(): Promise<Node> {
    const p = await port()
    const busPort = await port()
    const dir = mkdtempSync(join(tmpdir(), 'kvtop-cport-'))
    dirs.push(dir)
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(p),
        '--cluster-port',
        String(busPort),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        'no',
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        'nodes.conf',
        '--cluster-node-timeout',
        '2000',
      ],
      { stdio: 'ignore' },
    )
    const redis = new Redis({ port: p, lazyConnect: true, retryStrategy: () => 100 })
    redis.on('error', () => {})
    const node: Node = { port: p, busPort, child, redis }
    nodes.push(node)
    for (let i = 0; ; i++) {
      try {
        if (redis.status === 'wait') await redis.connect()
        if ((await redis.ping()) === 'PONG') break
      } catch (err) {
        if (i > 50) throw err
      }
      await new Promise((r) => setTimeout(r, 100))
    }
    return node
  }

  const clusterNodes = async (n: Node) => parseClusterNodes(String(await n.redis.call('CLUSTER', 'NODES')))

  beforeAll(async () => {
    const [a, b, c] = [await startNode(), await startNode(), await startNode()]
    await a.redis.call('CLUSTER', 'ADDSLOTSRANGE', '0', '5460')
    await b.redis.call('CLUSTER', 'ADDSLOTSRANGE', '5461', '10922')
    await c.redis.call('CLUSTER', 'ADDSLOTSRANGE', '10923', '16383')
    for (const n of [b, c])
      await a.redis.call('CLUSTER', 'MEET', '127.0.0.1', String(n.port), String(n.busPort))
    for (let i = 0; ; i++) {
      const infos = await Promise.all([a, b, c].map((n) => n.redis.call('CLUSTER', 'INFO')))
      if (infos.every((t) => /cluster_state:ok/.test(String(t)) && /cluster_known_nodes:3\b/.test(String(t))))
        break
      if (i > 150) throw new Error(`the hand-built cluster did not form:\n${infos.join('\n')}`)
      await new Promise((r) => setTimeout(r, 100))
    }
    const client = await clusterClient(a.port)
    try {
      for (let i = 0; i < KEYS; i += 100)
        await Promise.all(Array.from({ length: 100 }, (_, j) => client.set(`cport:${i + j}`, `v${i + j}`)))
    } finally {
      client.disconnect()
    }
  })

  afterAll(() => {
    for (const n of nodes) {
      n.redis.disconnect()
      if (n.child.exitCode === null && n.child.signalCode === null) n.child.kill('SIGKILL')
    }
    for (const d of dirs) rmSync(d, { recursive: true, force: true })
  })

  it('the parser reads each node bus port from CLUSTER NODES', async () => {
    const view = await clusterNodes(nodes[0])
    for (const n of nodes.slice(0, 3))
      expect(view.find((r) => r.port === n.port)).toMatchObject({ port: n.port, busPort: n.busPort })
  })

  it('adds the node with CLUSTER MEET ip port cport: exit 0, the new node owns slots, no key lost', async () => {
    const extra = await startNode()
    const address = `127.0.0.1:${extra.port}`
    const r = await runCli(
      [
        'scale',
        `redis://127.0.0.1:${nodes[0].port}`,
        '--add-node',
        address,
        '--shards',
        '4',
        '--yes',
        '--json',
      ],
      { timeoutMs: 150_000 },
    )
    expect(r.code, r.stderr).toBe(0)
    const out = JSON.parse(r.stdout)
    expect(out.result.added).toMatchObject([{ address, role: 'primary' }])
    expect(
      out.result.shards.find((s: { address: string }) => s.address === address).slotCount,
    ).toBeGreaterThan(4000)
    // Every node knows the new one by its real bus port, and the new node itself owns slots.
    for (const n of nodes) {
      const record = (await clusterNodes(n)).find((x) => x.port === extra.port)
      expect(record, `${n.port}'s view`).toMatchObject({ busPort: extra.busPort, health: 'online' })
    }
    const mine = (await clusterNodes(extra)).find((x) => x.myself)!
    expect(mine.slots.length).toBeGreaterThan(0)
    const sizes = await Promise.all(nodes.map(async (n) => Number(await n.redis.dbsize())))
    expect(sizes.reduce((s, x) => s + x, 0)).toBe(KEYS)
    expect(sizes[3]).toBeGreaterThan(0)
    const check = redisCliCheck(nodes[0].port)
    expect(check.clean, check.output).toBe(true)
  })
})
