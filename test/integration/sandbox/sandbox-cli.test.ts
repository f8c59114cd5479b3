import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { runCli } from '../../helpers/cli.js'
import { sandboxDown } from '../../../src/sandbox/sandbox.js'

/** Running, and not a zombie waiting for a non-reaping init to collect it. */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return false
  }
}

interface SandboxJson {
  name: string
  mode: string
  flavor: string
  url: string
  version: string
  nodes: { port: number; role: string; shard: number; pid: number; up: boolean }[]
}

describe('kvtop sandbox up / status / down', () => {
  const started: string[] = []
  afterAll(async () => {
    for (const name of started) await sandboxDown(name).catch(() => {})
  })

  it('runs two named sandboxes at once and stops exactly the processes of the one named', async () => {
    const a = await runCli(['sandbox', 'up', '--name', 'cli-a', '--shards', '0', '--replicas', '1', '--json'])
    started.push('cli-a')
    expect(a.code).toBe(0)
    const sa = JSON.parse(a.stdout) as SandboxJson
    expect(sa).toMatchObject({ name: 'cli-a', mode: 'replicated', flavor: 'redis' })
    expect(sa.url).toBe(`redis://127.0.0.1:${sa.nodes[0].port}`)
    expect(sa.nodes.map((n) => n.role)).toEqual(['primary', 'replica'])

    const b = await runCli(['sandbox', 'up', '--name', 'cli-b', '--shards', '0', '--replicas', '0', '--json'])
    started.push('cli-b')
    expect(b.code).toBe(0)
    const sb = JSON.parse(b.stdout) as SandboxJson

    const status = await runCli(['sandbox', 'status', '--json'])
    const listed = (JSON.parse(status.stdout) as { sandboxes: SandboxJson[] }).sandboxes
    expect(listed.map((s) => s.name)).toEqual(expect.arrayContaining(['cli-a', 'cli-b']))
    const statusA = listed.find((s) => s.name === 'cli-a')!
    expect(statusA.nodes.every((n) => n.up && n.pid > 0)).toBe(true)

    const pidsA = statusA.nodes.map((n) => n.pid)
    const down = await runCli(['sandbox', 'down', '--name', 'cli-a', '--json'])
    expect(down.code).toBe(0)
    expect(JSON.parse(down.stdout).sandboxes[0].stopped).toEqual(sa.nodes.map((n) => n.port))
    await new Promise((r) => setTimeout(r, 200))
    expect(pidsA.some(alive)).toBe(false)
    expect(existsSync(join(process.env.KVTOP_SANDBOX_DIR!, 'cli-a'))).toBe(false)
    // The other sandbox is untouched.
    const after = (
      JSON.parse((await runCli(['sandbox', 'status', '--json'])).stdout) as { sandboxes: SandboxJson[] }
    ).sandboxes
    expect(after.map((s) => s.name)).not.toContain('cli-a')
    expect(after.find((s) => s.name === 'cli-b')!.nodes[0]).toMatchObject({
      port: sb.nodes[0].port,
      up: true,
    })
  })

  it('refuses a second sandbox of the same name, and down of an unknown one, with exit 2', async () => {
    const again = await runCli(['sandbox', 'up', '--name', 'cli-b', '--shards', '0', '--replicas', '0'])
    expect(again.code).toBe(2)
    expect(again.stderr).toContain("sandbox 'cli-b' is already running")
    const missing = await runCli(['sandbox', 'down', '--name', 'never-started'])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain("no sandbox named 'never-started'")
  })

  it('without a server binary: exit 2 with the install command', async () => {
    const r = await runCli(['sandbox', 'up', '--name', 'nobin', '--shards', '0'], {
      env: { PATH: '/nonexistent', KVTOP_REDIS_SERVER: '' },
    })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('no redis-server or valkey-server binary found')
    expect(r.stderr).toMatch(/apt-get install -y redis-server|brew install redis|dnf install/)
  })

  it('rejects impossible shapes with exit 2', async () => {
    const r = await runCli(['sandbox', 'up', '--name', 'bad', '--flavor', 'memorydb', '--shards', '0'])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('memorydb flavor is always cluster mode')
  })

  it("a sandbox whose state file an earlier kvtop wrote (no kind, `version` the server's) is listed and stopped", async () => {
    const up = await runCli([
      'sandbox',
      'up',
      '--name',
      'cli-old',
      '--shards',
      '0',
      '--replicas',
      '0',
      '--json',
    ])
    started.push('cli-old')
    expect(up.code).toBe(0)
    const summary = JSON.parse(up.stdout) as SandboxJson
    const port = summary.nodes[0].port
    const dir = join(process.env.KVTOP_SANDBOX_DIR!, 'cli-old')
    const nodeDir = join(dir, `node-${port}`)
    // The file as builds before the shared state-file format wrote it, by hand.
    writeFileSync(
      join(dir, 'sandbox.json'),
      `{
  "name": "cli-old",
  "flavor": "redis",
  "shards": 0,
  "replicas": 0,
  "engine": "redis",
  "version": "${summary.version}",
  "serverPath": "/usr/bin/redis-server",
  "createdAt": 1764000000000,
  "adminPassword": "old-admin-secret",
  "clientUser": "default",
  "nodes": [
    {
      "port": ${port},
      "role": "primary",
      "shard": 0,
      "dir": "${nodeDir}",
      "pidFile": "${join(nodeDir, 'redis.pid')}",
      "logFile": "${join(nodeDir, 'redis.log')}"
    }
  ]
}`,
      { mode: 0o600 },
    )

    const listed = (
      JSON.parse((await runCli(['sandbox', 'status', '--json'])).stdout) as { sandboxes: SandboxJson[] }
    ).sandboxes.find((s) => s.name === 'cli-old')!
    expect(listed).toMatchObject({ version: summary.version, url: `redis://127.0.0.1:${port}` })
    expect(listed.nodes).toEqual([{ port, role: 'primary', shard: 0, pid: summary.nodes[0].pid, up: true }])

    const down = await runCli(['sandbox', 'down', '--name', 'cli-old', '--json'])
    expect(down.code).toBe(0)
    expect(JSON.parse(down.stdout).sandboxes[0].stopped).toEqual([port])
    await new Promise((r) => setTimeout(r, 200))
    expect(alive(summary.nodes[0].pid)).toBe(false)
    expect(existsSync(dir)).toBe(false)
  })

  it('load drives a mixed workload with binary keys and reports no errors', async () => {
    const port = (
      JSON.parse((await runCli(['sandbox', 'status', '--json'])).stdout) as { sandboxes: SandboxJson[] }
    ).sandboxes.find((s) => s.name === 'cli-b')!.nodes[0].port
    const r = await runCli([
      'sandbox',
      'load',
      `redis://127.0.0.1:${port}`,
      '--keys',
      '800',
      '--duration',
      '1',
      '--rate',
      '2000',
      '--json',
    ])
    expect(r.code).toBe(0)
    const report = JSON.parse(r.stdout)
    expect(report).toMatchObject({ seeded: 800, errors: 0 })
    // How many ops a loaded machine fits in one second varies; the rate is a ceiling.
    expect(report.ops).toBeGreaterThan(0)
    expect(report.ops).toBeLessThanOrEqual(2000 * 1.25)
    const { Redis } = await import('ioredis')
    const client = new Redis({ port, protocol: 2 })
    try {
      const types = new Set<string>()
      for (const key of await client.keysBuffer('kvtop:*')) types.add(await client.type(key))
      expect([...types].sort()).toEqual(['hash', 'list', 'set', 'stream', 'string', 'zset'])
      const binary = await client.keysBuffer('kvtop:bin:*')
      expect(binary.length).toBe(100)
      expect(binary.every((k) => k.includes(Buffer.from([0xff, 0xfe, 0x0d, 0x0a, 0x00])))).toBe(true)
    } finally {
      client.disconnect()
    }
  })
})
