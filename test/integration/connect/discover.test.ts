import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../../helpers/cli.js'
import { startSandbox, type TestSandbox } from '../../helpers/sandbox.js'

interface DiscoverJson {
  topology: {
    mode: string
    nodes: {
      id: string
      host: string
      port: number
      role: string
      shard: number
      slots: [number, number][]
      up: boolean
    }[]
    shards: unknown[]
    slotsCovered?: number
    clusterState?: string
  }
  capabilities: {
    engine: string
    version: string
    provider: string
    refused: string[]
    clusterEnabled: boolean
  }
}

async function discoverJson(
  url: string,
  extra: string[] = [],
  env: NodeJS.ProcessEnv = {},
): Promise<DiscoverJson> {
  const r = await runCli(['discover', url, '--json', ...extra], { env })
  // A password written in the URL on the command line gets redis-cli's warning, nothing else.
  const warnings = r.stderr.split('\n').filter(Boolean)
  expect(warnings.every((l) => JSON.parse(l).type === 'warning' && /on the command line/.test(l))).toBe(true)
  expect(r.code).toBe(0)
  return JSON.parse(r.stdout) as DiscoverJson
}

describe('discover on each sandbox shape', () => {
  const sandboxes: TestSandbox[] = []
  afterAll(async () => Promise.all(sandboxes.map((s) => s.down())))

  it('standalone: one primary, nothing refused', async () => {
    const sb = await startSandbox({ shards: 0, replicas: 0 })
    sandboxes.push(sb)
    const d = await discoverJson(sb.url)
    expect(d.topology.mode).toBe('standalone')
    expect(d.topology.nodes).toEqual([
      expect.objectContaining({
        host: '127.0.0.1',
        port: sb.summary.nodes[0].port,
        role: 'primary',
        shard: 0,
        up: true,
      }),
    ])
    expect(d.capabilities).toMatchObject({
      engine: 'redis',
      provider: 'self-managed',
      clusterEnabled: false,
      refused: [],
    })
    expect(d.capabilities.version).toMatch(/^\d+\.\d+\.\d+$/)
  })

  it('replicated: found from the replica too, replicas listed with their primary', async () => {
    const sb = await startSandbox({ shards: 0, replicas: 2 })
    sandboxes.push(sb)
    const [primary, r1, r2] = sb.summary.nodes.map((n) => n.port)
    for (const port of [primary, r2]) {
      const d = await discoverJson(`redis://127.0.0.1:${port}`)
      expect(d.topology.mode).toBe('replicated')
      const byPort = new Map(d.topology.nodes.map((n) => [n.port, n]))
      expect(byPort.get(primary)).toMatchObject({ role: 'primary', up: true })
      expect(byPort.get(r1)).toMatchObject({ role: 'replica', up: true, shard: 0 })
      expect(byPort.get(r2)).toMatchObject({ role: 'replica', up: true, shard: 0 })
      expect(d.topology.nodes).toHaveLength(3)
    }
  })

  it('cluster: every node from any one, slots and shards, full coverage', async () => {
    const sb = await startSandbox({ shards: 2, replicas: 1 })
    sandboxes.push(sb)
    const d = await discoverJson(`redis://127.0.0.1:${sb.summary.nodes[3].port}`)
    expect(d.topology).toMatchObject({ mode: 'cluster', slotsCovered: 16384, clusterState: 'ok' })
    expect(d.topology.shards).toHaveLength(2)
    const primaries = d.topology.nodes.filter((n) => n.role === 'primary')
    expect(primaries.map((p) => p.slots)).toEqual([[[0, 8191]], [[8192, 16383]]])
    expect(
      d.topology.nodes
        .filter((n) => n.role === 'replica')
        .map((n) => n.shard)
        .sort(),
    ).toEqual([0, 1])
    expect(d.topology.nodes.every((n) => n.up && /^[0-9a-f]{40}$/.test(n.id))).toBe(true)
    expect(d.capabilities.clusterEnabled).toBe(true)
  })

  it('elasticache flavor: the probe reports what ElastiCache refuses, and executes none of it', async () => {
    const sb = await startSandbox({ shards: 0, replicas: 1, flavor: 'elasticache' })
    sandboxes.push(sb)
    const admin = await sb.admin()
    const before = await admin.info('persistence')
    const d = await discoverJson(sb.url)
    expect(d.capabilities.refused).toEqual(
      expect.arrayContaining([
        'config',
        'sync',
        'psync',
        'bgsave',
        'save',
        'bgrewriteaof',
        'debug',
        'migrate',
        'replicaof',
        'slaveof',
        'shutdown',
      ]),
    )
    expect(d.capabilities.refused).not.toContain('dump')
    expect(d.capabilities.refused).not.toContain('monitor')
    // Nothing ran: no background save was started and the server is still up with its replica.
    const after = await admin.info('persistence')
    expect(after.match(/rdb_bgsave_in_progress:(\d)/)?.[1]).toBe('0')
    expect(after.match(/rdb_saves:(\d+)/)?.[1]).toBe(before.match(/rdb_saves:(\d+)/)?.[1])
    expect(await admin.info('replication')).toMatch(/connected_slaves:1/)
  })

  it('memorydb flavor: cluster only, db 0 only, an ACL user with a password, MemoryDB refusals', async () => {
    const sb = await startSandbox({
      shards: 1,
      replicas: 0,
      flavor: 'memorydb',
      password: 'Mdb-Distinctive-Pw-913',
    })
    sandboxes.push(sb)
    expect(sb.state.clientUser).toBe('kvtop')
    const d = await discoverJson(sb.url)
    expect(d.capabilities.clusterEnabled).toBe(true)
    expect(d.capabilities.refused).toEqual(
      expect.arrayContaining([
        'config',
        'sync',
        'module',
        'acl setuser',
        'acl deluser',
        'cluster addslots',
        'cluster setslot',
      ]),
    )
    const client = await sb.client()
    await expect(client.select(1)).rejects.toThrow(/SELECT is not allowed in cluster mode/)
    // Without the password: refused with exit 3, and the password is never printed.
    const r = await runCli(['discover', `redis://kvtop@127.0.0.1:${sb.summary.nodes[0].port}`])
    expect(r.code).toBe(3)
    expect(r.stderr).toMatch(/authentication (failed|required) at 127\.0\.0\.1:\d+/)
  })
})

describe('bad input and unreachable endpoints', () => {
  let sb: TestSandbox
  const password = 'Zq7-Distinctive-Secret-555'
  beforeAll(async () => {
    sb = await startSandbox({ shards: 0, replicas: 0, password })
  })
  afterAll(async () => sb?.down())

  it('malformed URL -> exit 2 naming the problem, password hidden', async () => {
    const r = await runCli(['discover', `redis://app:${password}@127.0.0.1:port`])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain("invalid port 'port'")
    expect(r.stderr + r.stdout).not.toContain(password)
  })

  it('nothing listening -> exit 3 naming host:port', async () => {
    const r = await runCli(['discover', 'redis://127.0.0.1:1', '--timeout', '1'])
    expect(r.code).toBe(3)
    expect(r.stderr).toContain('cannot connect to 127.0.0.1:1: connection refused')
  })

  it('a host that accepts but never answers -> exit 3 within --timeout', async () => {
    const net = await import('node:net')
    let acceptedAt: number | undefined
    const server = net.createServer(() => {
      acceptedAt ??= Date.now()
    })
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', () => res()))
    const port = (server.address() as { port: number }).port
    try {
      const r = await runCli(['discover', `redis://127.0.0.1:${port}`, '--timeout', '0.8', '--json'])
      expect(r.code).toBe(3)
      // From the connection to exit (node's start-up is not what --timeout bounds): 0.8 s and a
      // margin for a loaded machine.
      expect(Date.now() - acceptedAt!).toBeLessThan(0.8 * 1000 + 2000)
      expect(JSON.parse(r.stdout).error).toMatchObject({ code: 'timeout', exitCode: 3 })
      expect(r.stderr).toContain(`no answer from 127.0.0.1:${port} within 0.8s`)
    } finally {
      server.close()
    }
  })

  it('wrong password -> exit 3 "authentication failed", JSON error keeps exit code, no secret anywhere', async () => {
    const r = await runCli([
      'discover',
      `redis://default:Wrong-${password}@127.0.0.1:${sb.summary.nodes[0].port}`,
      '--json',
    ])
    expect(r.code).toBe(3)
    expect(r.stderr).toContain('authentication failed')
    expect(JSON.parse(r.stdout)).toEqual({
      error: expect.objectContaining({ code: 'auth-failed', exitCode: 3 }),
    })
    expect(r.stdout + r.stderr).not.toContain(password)
  })

  it('a user the ACL denies INFO -> exit 3 naming the refusal and the grant, for discover and status', async () => {
    const port = sb.summary.nodes[0].port
    const admin = await sb.admin(port)
    const secret = 'Limited-Secret-913'
    try {
      await admin.call('ACL', 'SETUSER', 'no-info', 'on', `>${secret}`, '~*', '+@all', '-info')
      for (const command of ['discover', 'status']) {
        const r = await runCli([command, `redis://no-info:${secret}@127.0.0.1:${port}`, '--json'])
        expect(r.code).toBe(3)
        // discover prints one JSON document; status an NDJSON event stream ending in the error.
        const out = r.stdout.trim()
        const last = JSON.parse(out.startsWith('{\n') ? out : out.split('\n').pop()!) as {
          error?: unknown
        }
        expect(last.error ?? last).toMatchObject({ code: 'no-permission', exitCode: 3 })
        expect(r.stderr).toContain(
          `the user at 127.0.0.1:${port} may not run a command kvtop needs to connect: NOPERM this user has no permissions to run the 'info' command`,
        )
        expect(r.stderr).toContain('Grant the ACL user +info')
        expect(r.stdout + r.stderr).not.toContain(secret)
      }
    } finally {
      await admin.call('ACL', 'DELUSER', 'no-info')
      admin.disconnect()
    }
  })

  it('the right password from KVTOP_PASSWORD works and never appears in output', async () => {
    const r = await runCli(['discover', `redis://127.0.0.1:${sb.summary.nodes[0].port}`, '--json'], {
      env: { KVTOP_PASSWORD: password },
    })
    expect(r.code).toBe(0)
    expect(r.stdout + r.stderr).not.toContain(password)
    const r2 = await runCli(['discover', `redis://default:${password}@127.0.0.1:${sb.summary.nodes[0].port}`])
    expect(r2.code).toBe(0)
    expect(r2.stdout).toContain(`redis://default@127.0.0.1:${sb.summary.nodes[0].port}`)
    expect(r2.stdout + r2.stderr).not.toContain(password)
  })

  it('TLS against a plain port -> exit 3 saying so', async () => {
    const r = await runCli([
      'discover',
      `rediss://127.0.0.1:${sb.summary.nodes[0].port}`,
      '--insecure',
      '--timeout',
      '1',
    ])
    expect(r.code).toBe(3)
    expect(r.stderr).toMatch(/TLS negotiation with 127\.0\.0\.1:\d+/)
    expect(r.stderr).toContain('use redis://')
  })

  it('sandbox up on a port in use -> exit 2 naming the port', async () => {
    const port = sb.summary.nodes[0].port
    const r = await runCli([
      'sandbox',
      'up',
      '--shards',
      '0',
      '--replicas',
      '0',
      '--port',
      String(port),
      '--name',
      'taken',
    ])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain(`port ${port} is already in use`)
  })

  it('unknown flags and commands -> exit 2', async () => {
    expect((await runCli(['discover', '--bogus'])).code).toBe(2)
    expect((await runCli(['no-such-command'])).code).toBe(2)
  })
})
