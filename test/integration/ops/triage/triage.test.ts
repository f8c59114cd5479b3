import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Cluster, Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { adminSpec } from '../../../../src/sandbox/sandbox.js'
import { runCli } from '../../../helpers/cli.js'
import { startSandbox, type TestSandbox } from '../../../helpers/sandbox.js'

interface Finding {
  severity: 'critical' | 'warning' | 'info'
  category: string
  node?: string
  summary: string
}

let sb: TestSandbox
let dir: string
const opened: (Redis | Cluster)[] = []

function adminClient(port: number): Redis {
  const a = adminSpec(sb.state).endpoint
  const r = new Redis({ host: '127.0.0.1', port, username: a.username, password: a.password })
  r.on('error', () => {})
  opened.push(r)
  return r
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kvtop-triage-'))
  sb = await startSandbox({ shards: 3, replicas: 1 })
})

afterAll(async () => {
  for (const c of opened) c.disconnect()
  await sb?.down()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

const triage = (args: string[]) =>
  runCli(['triage', `--profile`, `sandbox:${sb.name}`, ...args], { timeoutMs: 90_000 })

describe('kvtop triage', () => {
  it('a healthy sandbox: no warning, no critical; --out writes report.md and triage.json without secrets', async () => {
    const out = join(dir, 'healthy')
    const r = await triage(['--duration', '2', '--out', out, '--json'])
    expect(r.code, r.stderr).toBe(0)
    const report = JSON.parse(r.stdout) as { findings: Finding[]; counts: Record<string, number> }
    expect(report.findings.filter((f) => f.severity !== 'info')).toEqual([])
    expect(report.counts).toMatchObject({ critical: 0, warning: 0 })
    const md = readFileSync(join(out, 'report.md'), 'utf8')
    const json = readFileSync(join(out, 'triage.json'), 'utf8')
    expect(md).toContain('# kvtop triage')
    expect(md).toContain('**0 critical, 0 warnings')
    expect(JSON.parse(json).counts).toEqual(report.counts)
    for (const text of [md, json, r.stdout, r.stderr]) {
      expect(text).not.toContain(sb.state.adminPassword)
      if (sb.state.clientPassword) expect(text).not.toContain(sb.state.clientPassword)
    }
    // An earlier report is not replaced without --force.
    const again = await triage(['--duration', '1', '--out', out, '--scan-keys', '0'])
    expect(again.code).toBe(2)
    expect(again.stderr).toContain('report.md already exists')
  })

  it('finds each planted problem on the right node', async () => {
    const a = adminSpec(sb.state).endpoint
    const primaries = sb.summary.nodes.filter((n) => n.role === 'primary')
    const cluster = new Cluster(
      primaries.map((n) => ({ host: '127.0.0.1', port: n.port })),
      { redisOptions: { username: a.username, password: a.password } },
    )
    cluster.on('error', () => {})
    opened.push(cluster)
    const nodeOf = async (key: string) => {
      const slot = Number(await cluster.call('CLUSTER', 'KEYSLOT', key))
      const nodes = String(await cluster.call('CLUSTER', 'NODES'))
      for (const line of nodes.trim().split('\n')) {
        const parts = line.split(' ')
        if (!parts[2].includes('master')) continue
        for (const r of parts.slice(8)) {
          const [from, to] = r.split('-').map(Number)
          if (slot >= from && slot <= (to ?? from)) return parts[1].replace(/@.*/, '')
        }
      }
      throw new Error(`no owner for ${key}`)
    }

    // A 5 MB key.
    await cluster.set('big:blob', Buffer.alloc(5 * 1024 * 1024, 7))
    const bigNode = await nodeOf('big:blob')
    // A DEBUG SLEEP in one primary's slowlog.
    const sleepy = primaries[1]
    await adminClient(sleepy.port).call('DEBUG', 'SLEEP', '0.2')
    // A client blocked on BLPOP.
    const blockedNode = await nodeOf('queue:jobs')
    const blocker = adminClient(Number(blockedNode.split(':')[1]))
    void blocker.blpop('queue:jobs', 0).catch(() => {})
    // An open slot: the first primary importing a slot of the second.
    const [importer, owner] = [adminClient(primaries[0].port), adminClient(primaries[2].port)]
    const ownerId = String(await owner.call('CLUSTER', 'MYID'))
    const ownerSlot = Number(
      String(await owner.call('CLUSTER', 'NODES')).match(/myself,master - \d+ \d+ \d+ connected (\d+)/)![1],
    )
    await importer.call('CLUSTER', 'SETSLOT', String(ownerSlot), 'IMPORTING', ownerId)
    // Memory near maxmemory with evictions on the third primary, under writes during the run.
    const full = primaries[2]
    const fullAdmin = adminClient(full.port)
    const used = Number(/used_memory:(\d+)/.exec(String(await fullAdmin.info('memory')))![1])
    await fullAdmin.config('SET', 'maxmemory-policy', 'allkeys-lru')
    await fullAdmin.config('SET', 'maxmemory', String(used + 2 * 1024 * 1024))
    // A killed replica.
    const victim = sb.summary.nodes.find((n) => n.role === 'replica' && n.shard === 0)!
    process.kill(victim.pid!, 'SIGKILL')

    // The writer fills only the full primary (a hash tag it owns): the key sample elsewhere stays small.
    let tag = 0
    while ((await nodeOf(`{t${tag}}`)) !== `127.0.0.1:${full.port}`) tag++
    let writing = true
    const writer = (async () => {
      for (let i = 0; writing; i++) {
        await cluster.set(`{t${tag}}fill:${i}`, Buffer.alloc(2000, 1)).catch(() => {})
      }
    })()
    try {
      const r = await triage(['--duration', '3', '--json', '--scan-keys', '30000'])
      expect(r.code, r.stderr).toBe(0)
      const { findings } = JSON.parse(r.stdout) as { findings: Finding[] }
      const find = (category: string, node: string, text: RegExp) =>
        findings.find((f) => f.category === category && f.node === node && text.test(f.summary))
      const victimAddress = `127.0.0.1:${victim.port}`
      expect(
        find('topology', victimAddress, /replica .* is down/),
        JSON.stringify(findings, null, 1),
      ).toMatchObject({
        severity: 'warning',
      })
      expect(
        find('keys', bigNode, /big key "big:blob" \(string, [56]\.\d MiB/),
        JSON.stringify(findings, null, 1),
      ).toBeDefined()
      expect(find('workload', `127.0.0.1:${sleepy.port}`, /slowlog: debug sleep/i)).toMatchObject({
        severity: 'warning',
      })
      expect(find('resources', `127.0.0.1:${full.port}`, /maxmemory/)).toBeDefined()
      expect(find('resources', `127.0.0.1:${full.port}`, /evicts/)).toBeDefined()
      expect(find('clients', blockedNode, /1 client blocked/)).toBeDefined()
      // Only the importing side is marked: the finding says the owner is not migrating it.
      expect(
        find(
          'topology',
          `127.0.0.1:${primaries[0].port}`,
          new RegExp(
            `^open slot ${ownerSlot}: 127\\.0\\.0\\.1:${primaries[0].port} importing from 127\\.0\\.0\\.1:${primaries[2].port} \\(127\\.0\\.0\\.1:${primaries[2].port} is not migrating it\\)$`,
          ),
        ),
        JSON.stringify(findings, null, 1),
      ).toBeDefined()
      // Worst first.
      const ranks = findings.map((f) => ['critical', 'warning', 'info'].indexOf(f.severity))
      expect(ranks).toEqual([...ranks].sort((x, y) => x - y))

      const text = await triage(['--duration', '1', '--scan-keys', '100'])
      expect(text.code).toBe(0)
      expect(text.stdout).toMatch(/WARNING \[127\.0\.0\.1:\d+\] replica 127\.0\.0\.1:\d+ \(shard 0\) is down/)
      expect(text.stdout).toContain('why:')
    } finally {
      writing = false
      await writer
    }
  })

  it('an unreachable deployment exits 3', async () => {
    const r = await runCli(['triage', 'redis://127.0.0.1:1', '--duration', '1'])
    expect(r.code).toBe(3)
    expect(r.stderr).toMatch(/Error: .*127\.0\.0\.1:1/)
    expect(existsSync(join(dir, 'none'))).toBe(false)
  })
})
