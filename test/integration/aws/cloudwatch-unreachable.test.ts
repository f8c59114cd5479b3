import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { resolveAwsConnection } from '../../../src/aws/connect.js'
import { runTop } from '../../../src/dashboard/run.js'
import { openCloudWatchSource, openMonitorOrCloudWatch } from '../../../src/aws/status-feed.js'
import { runCli } from '../../helpers/cli.js'
import { startFakeAws, type FakeAws } from '../../helpers/fake-aws/index.js'
import { FakeTerminal } from '../../unit/dashboard/terminal.js'

/**
 * From a laptop outside the VPC: AWS (the fake) describes the deployment and CloudWatch answers,
 * but the node endpoints it reports cannot be reached — a closed port on 127.0.0.1 (connection
 * refused) or a listener that never says a word (timeout). `status --cloudwatch`, `top
 * --cloudwatch` and `triage` show CloudWatch alone, with one line saying why.
 */
const LINE =
  /nodes unreachable from here \(.+\): showing CloudWatch only; run kvtop from inside the VPC \(bastion, SSM port forwarding\) for live figures/

let fake: FakeAws
let silent: Server
const sockets: Socket[] = []
let closedPort: number
let nodePorts: number[]
let silentPort: number
let dir: string

async function freePort(): Promise<number> {
  const s = createServer()
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  const port = (s.address() as { port: number }).port
  await new Promise<void>((r) => s.close(() => r()))
  return port
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kvtop-cw-unreachable-'))
  fake = await startFakeAws()
  closedPort = await freePort()
  nodePorts = [await freePort(), await freePort(), await freePort(), await freePort()]
  // Accepts connections and never answers: the ready check times out.
  silent = createServer((socket) => {
    sockets.push(socket)
    socket.on('error', () => {})
  })
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r))
  silentPort = (silent.address() as { port: number }).port

  // ElastiCache, cluster mode, TLS: every endpoint a closed port (connection refused).
  fake.state.addReplicationGroup({
    id: 'orders',
    shards: 2,
    replicas: 1,
    clusterMode: true,
    tls: true,
    endpoint: { host: '127.0.0.1', port: closedPort },
    nodeEndpoints: nodePorts.map((port) => ({ host: '127.0.0.1', port })),
  })
  // MemoryDB without TLS behind a silent listener (timeout); node endpoints are AWS host names.
  fake.state.addMemoryDBCluster({
    name: 'sessions',
    shards: 2,
    replicas: 1,
    tls: false,
    endpoint: { host: '127.0.0.1', port: silentPort },
  })
  // One node ran hot in the last hours: a CloudWatch finding for triage.
  fake.state.metricOverrides.set('AWS/MemoryDB|EngineCPUUtilization|sessions-0002-001', 95)
  for (const id of ['sessions-0001-001', 'sessions-0001-002', 'sessions-0002-002'])
    fake.state.metricOverrides.set(`AWS/MemoryDB|EngineCPUUtilization|${id}`, 20)
  for (const c of fake.state.mdbClusters.get('sessions')!.shards.flatMap((s) => s.nodes)) {
    fake.state.metricOverrides.set(`AWS/MemoryDB|DatabaseMemoryUsagePercentage|${c.name}`, 40)
    fake.state.metricOverrides.set(`AWS/MemoryDB|Evictions|${c.name}`, 0)
    fake.state.metricOverrides.set(`AWS/MemoryDB|CPUUtilization|${c.name}`, 10)
  }
})

afterAll(async () => {
  for (const s of sockets) s.destroy()
  await new Promise<void>((r) => silent?.close(() => r()))
  await fake?.close()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

interface StatusDoc {
  dataPlane?: { reachable: boolean; reason?: string; code?: string }
  deployment: { provider?: string; mode: string; shards: number; nodes: number }
  external: { source: string; at?: number; error?: string }
  nodes: {
    id: string
    address: string
    role: string
    state: string
    up: boolean
    external?: Record<string, number>
  }[]
}

describe('status --cloudwatch, nodes unreachable from here', () => {
  it('connection refused: CloudWatch figures for every node AWS describes, dataPlane unreachable, exit 0', async () => {
    const r = await runCli(
      ['status', '--elasticache', 'orders', '--cloudwatch', '--json', '--timeout', '2'],
      { env: fake.env(), timeoutMs: 60_000 },
    )
    expect(r.code, r.stderr).toBe(0)
    const doc = JSON.parse(r.stdout) as StatusDoc
    expect(doc.dataPlane).toMatchObject({ reachable: false, code: 'refused' })
    expect(doc.dataPlane!.reason).toContain(`127.0.0.1:${closedPort}`)
    expect(doc.deployment).toMatchObject({ provider: 'elasticache', mode: 'cluster', shards: 2, nodes: 4 })
    expect(doc.external.source).toBe('cloudwatch')
    expect(doc.external.error).toBeUndefined()
    expect(doc.nodes.map((n) => n.id).sort()).toEqual([
      'orders-0001-001',
      'orders-0001-002',
      'orders-0002-001',
      'orders-0002-002',
    ])
    for (const n of doc.nodes) {
      expect(n).toMatchObject({ state: 'unreachable', up: false })
      expect(typeof n.external?.cpu, n.id).toBe('number')
      // Roles come from CloudWatch's IsMaster (cluster mode: AWS does not say).
      expect(n.role, n.id).toBe(n.id.endsWith('-001') ? 'primary' : 'replica')
      if (n.role === 'replica') expect(typeof n.external!.replicationLag).toBe('number')
    }
    // The one line, on stderr beside the JSON document.
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toMatch(LINE)
  })

  it('timeout (a silent listener), as a table: the line first, then AWS node names and CloudWatch figures', async () => {
    const r = await runCli(['status', '--memorydb', 'sessions', '--cloudwatch', '--timeout', '0.5'], {
      env: fake.env(),
      timeoutMs: 60_000,
    })
    expect(r.code, r.stderr).toBe(0)
    const lines = r.stdout.split('\n')
    expect(lines[0]).toMatch(LINE)
    expect(lines[0]).toContain(`no answer from 127.0.0.1:${silentPort}`)
    expect(lines[1]).toMatch(
      /^memorydb \| valkey 7\.3 \| cluster \| 2 shards \| 4 nodes \(as AWS describes them\) \| cloudwatch as of \d\d:\d\d:\d\d$/,
    )
    expect(r.stdout).toMatch(/NODE +ADDRESS +ROLE +SHARD +CPU +ENGINE CPU +MEM%/)
    // The hot node: engine CPU 95%, its endpoint as AWS reports it.
    expect(r.stdout).toMatch(
      /sessions-0002-001 +sessions-0002-001\.sessions\.xyz789\.memorydb\.us-east-1\.amazonaws\.com:6379 +primary +1 +10% +95% +40%/,
    )
    expect(r.stdout).toMatch(/sessions-0001-002 +\S+ +replica +0 /)
  })

  it('--watch: the line once, then a table per round; with --json one status line per round', async () => {
    const args = ['status', '--memorydb', 'sessions', '--cloudwatch', '--timeout', '0.5', '--watch']
    const text = await runCli([...args, '--count', '2', '--interval', '0.2'], { env: fake.env() })
    expect(text.code, text.stderr).toBe(0)
    expect(text.stdout.match(new RegExp(LINE, 'g'))).toHaveLength(1)
    expect(text.stdout.match(/^--- \d\d:\d\d:\d\d \(round \d+, \d+ ms\) ---$/gm)).toHaveLength(2)
    expect(text.stdout.match(/^NODE +ADDRESS +ROLE/gm)).toHaveLength(2)
    const json = await runCli([...args, '--count', '2', '--interval', '0.2', '--json'], { env: fake.env() })
    expect(json.code, json.stderr).toBe(0)
    const lines = json.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as StatusDoc & { type: string; round: number })
    expect(lines.map((l) => [l.type, l.round, l.dataPlane?.code])).toEqual([
      ['status', 1, 'timeout'],
      ['status', 2, 'timeout'],
    ])
    expect(json.stderr).toMatch(LINE)
  })

  it('without --cloudwatch: exit 3, the hint naming --cloudwatch', async () => {
    const r = await runCli(['status', '--elasticache', 'orders', '--timeout', '2'], {
      env: fake.env(),
      timeoutMs: 60_000,
    })
    expect(r.code).toBe(3)
    expect(r.stderr).toContain('connection refused')
    expect(r.stderr).toContain('add --cloudwatch')
  })

  it('CloudWatch denied as well: exit 3, the connection error with why CloudWatch did not help', async () => {
    const before = fake.calls('cloudwatch', 'GetMetricData').length
    // One call reads every node (AccessDenied is not retried): the denial is used up by this run.
    fake.deny('cloudwatch', 'GetMetricData', 1)
    const r = await runCli(['status', '--elasticache', 'orders', '--cloudwatch', '--timeout', '2'], {
      env: fake.env(),
      timeoutMs: 60_000,
    })
    expect(r.code).toBe(3)
    expect(r.stderr).toContain(`cannot connect to 127.0.0.1:${closedPort}: connection refused`)
    expect(r.stderr).toMatch(/CloudWatch could not be read either: .*not authorized/)
    expect(fake.calls('cloudwatch', 'GetMetricData').length).toBe(before + 1)
  })
})

describe('triage, nodes unreachable from here', () => {
  it("CloudWatch's findings alone, the line in the summary and in report.md, dataPlane in triage.json, exit 0", async () => {
    const out = join(dir, 'triage')
    const r = await runCli(
      ['triage', '--memorydb', 'sessions', '--timeout', '0.5', '--duration', '1', '--out', out, '--json'],
      { env: fake.env(), timeoutMs: 60_000 },
    )
    expect(r.code, r.stderr).toBe(0)
    const report = JSON.parse(r.stdout) as {
      dataPlane: { reachable: boolean; code: string }
      findings: { severity: string; category: string; node?: string; summary: string }[]
      nodes: { address: string; role: string; up: boolean }[]
      cloudwatch: { nodes: Record<string, Record<string, number>> }
    }
    expect(report.dataPlane).toMatchObject({ reachable: false, code: 'timeout' })
    const hot = 'sessions-0002-001.sessions.xyz789.memorydb.us-east-1.amazonaws.com:6379'
    expect(report.findings).toEqual([
      expect.objectContaining({
        severity: 'warning',
        category: 'cloudwatch',
        node: hot,
        summary: 'CloudWatch: sessions-0002-001 reached 95% (engine) CPU in the last 3 hours',
      }),
    ])
    expect(report.nodes).toHaveLength(4)
    expect(report.nodes.filter((n) => n.role === 'primary')).toHaveLength(2)
    expect(report.nodes.every((n) => !n.up)).toBe(true)
    expect(Object.keys(report.cloudwatch.nodes)).toHaveLength(4)
    // --json: the line on stderr (with the phase events).
    expect(r.stderr).toMatch(LINE)

    const md = readFileSync(join(out, 'report.md'), 'utf8')
    expect(md).toMatch(LINE)
    expect(md).toContain('### WARNING: CloudWatch: sessions-0002-001')
    expect(md).toContain('## Nodes (as AWS describes them)')
    expect(md).not.toContain('## Workload')
    const json = JSON.parse(readFileSync(join(out, 'triage.json'), 'utf8')) as { dataPlane: unknown }
    expect(json.dataPlane).toMatchObject({ reachable: false, code: 'timeout' })

    const text = await runCli(['triage', '--memorydb', 'sessions', '--timeout', '0.5', '--duration', '1'], {
      env: fake.env(),
      timeoutMs: 60_000,
    })
    expect(text.code, text.stderr).toBe(0)
    expect(text.stdout.split('\n')[0]).toMatch(LINE)
    expect(text.stdout).toContain('| CloudWatch, last 3 hours')
    expect(text.stdout).toContain(`WARNING [${hot}] CloudWatch: sessions-0002-001 reached 95%`)
  })
})

describe('top --cloudwatch, nodes unreachable from here', () => {
  it('draws the CloudWatch-only view on a terminal: the header line and every node with its figures', async () => {
    const saved = { ...process.env }
    Object.assign(process.env, fake.env())
    const endpoint = await resolveAwsConnection(undefined, { memorydb: 'sessions', timeout: 0.5 })
    try {
      const external = await openCloudWatchSource(endpoint, {})
      const feed = await openMonitorOrCloudWatch(endpoint, { external, intervalMs: 200 })
      expect(feed.live).toBeUndefined()
      const term = new FakeTerminal(200, 50)
      const running = runTop(feed.cloudwatchOnly!, {
        input: term.input,
        output: term.output,
        terminal: 'xterm-256color',
      })
      await new Promise((r) => setTimeout(r, 600))
      await term.type('q')
      const summary = await running
      expect(summary.rounds).toBeGreaterThanOrEqual(2)
      // Spaces go out as cursor moves: words are checked one by one.
      for (const word of ['unreachable', 'CloudWatch', 'bastion,', 'sessions-0002-001', 'ENGINE', '95%'])
        expect(term.written, word).toContain(word)
      expect(term.written).toContain(`127.0.0.1:${silentPort}`)
    } finally {
      endpoint.close()
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k]
      Object.assign(process.env, saved)
    }
  })
})
