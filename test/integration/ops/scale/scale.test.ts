import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis, type Cluster } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { findFreePortBlock } from '../../../../src/sandbox/ports.js'
import { isProcessAlive } from '../../../../src/sandbox/process.js'
import { readPid } from '../../../../src/sandbox/sandbox.js'
import { runLoad } from '../../../../src/sandbox/load.js'
import { readState } from '../../../../src/sandbox/state.js'
import { runCli } from '../../../helpers/cli.js'
import { sandboxEnv, startSandbox, type TestSandbox } from '../../../helpers/sandbox.js'
import { AckWriter } from './ack-writer.js'
import { clusterClient, digestDifferences, redisCliCheck, seededDigests } from './helpers.js'

const SEEDED = 6000
/** The client's password: MIGRATE must log in to the target with it (AUTH), and no output may show it. */
const PASSWORD = 'scale-test-Secret-42'

function json(stdout: string): any {
  return JSON.parse(stdout)
}

describe('kvtop scale on a sandbox cluster under live traffic', { timeout: 240_000 }, () => {
  let sb: TestSandbox
  let reader: Cluster
  let before: Awaited<ReturnType<typeof seededDigests>>
  const clients: Cluster[] = []
  const redises: Redis[] = []
  let outsider: ChildProcess | undefined
  let outsiderDir: string | undefined

  beforeAll(async () => {
    sb = await startSandbox({ shards: 2, replicas: 0, password: PASSWORD })
    await runLoad({ url: sb.url }, { rate: 0, durationSeconds: 0, keys: SEEDED, seed: 7 })
    reader = await clusterClient(sb.summary.nodes[0].port, PASSWORD)
    clients.push(reader)
    before = await seededDigests(reader, SEEDED)
  })

  afterAll(async () => {
    for (const c of clients) c.disconnect()
    for (const r of redises) r.disconnect()
    if (outsider && outsider.exitCode === null) outsider.kill('SIGKILL')
    await sb?.down()
    if (outsiderDir) rmSync(outsiderDir, { recursive: true, force: true })
  })

  it('refuses to change the cluster without --yes when stdin is not a terminal', async () => {
    const r = await runCli(['scale', sb.url, '--shards', '3'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/--yes/)
    expect(readState(sb.name, sandboxEnv())!.nodes).toHaveLength(2)
  })

  it('--dry-run prints a balanced plan and changes nothing', async () => {
    const r = await runCli(['scale', sb.url, '--shards', '3', '--dry-run', '--json'])
    expect(r.code, r.stderr).toBe(0)
    const { plan, dryRun } = json(r.stdout)
    expect(dryRun).toBe(true)
    expect(plan).toMatchObject({ kind: 'scale-out', shardsBefore: 2, shardsAfter: 3 })
    expect(plan.newNodes).toMatchObject({ count: 1, primaries: 1, source: 'sandbox', sandbox: sb.name })
    expect(plan.totals.slots).toBe(5461)
    expect(plan.balance.balanced).toBe(true)
    expect(plan.balance.maxDeviationPercent).toBeLessThanOrEqual(2)
    expect(readState(sb.name, sandboxEnv())!.nodes).toHaveLength(2)
  })

  it('scales 2 -> 3 -> 2 shards under a writer: every acknowledged write is present, balanced, check clean', async () => {
    const writerClient = await clusterClient(sb.summary.nodes[0].port, PASSWORD)
    clients.push(writerClient)
    const writer = new AckWriter(writerClient, { prefix: 'ack', concurrency: 8, pauseMs: 2 })
    writer.start()
    try {
      await new Promise((r) => setTimeout(r, 300))
      const out = await runCli(['scale', sb.url, '--shards', '3', '--yes', '--json'], { timeoutMs: 120_000 })
      expect(out.code, out.stderr).toBe(0)
      expect(out.stdout + out.stderr).not.toContain(PASSWORD)
      const up = json(out.stdout).result
      expect(up.complete).toBe(true)
      expect(up.shards).toHaveLength(3)
      expect(up.balance.balanced).toBe(true)
      expect(up.balance.max - up.balance.min).toBeLessThanOrEqual(Math.ceil(16384 / 3 / 50))
      expect(up.added).toHaveLength(1)
      const added = up.added[0]
      // The new node belongs to the sandbox: recorded in its state, stopped by `sandbox down`.
      const state = readState(sb.name, sandboxEnv())!
      expect(state.shards).toBe(3)
      const grown = state.nodes.find((n) => `127.0.0.1:${n.port}` === added.address)!
      expect(grown).toBeDefined()
      expect(isProcessAlive(readPid(grown), grown.port)).toBe(true)
      expect(redisCliCheck(sb.summary.nodes[0].port, PASSWORD).clean).toBe(true)

      const inOut = await runCli(['scale', sb.url, '--shards', '2', '--yes', '--json'], {
        timeoutMs: 120_000,
      })
      expect(inOut.code, inOut.stderr).toBe(0)
      const down = json(inOut.stdout).result
      expect(down.complete).toBe(true)
      expect(down.shards).toHaveLength(2)
      expect(down.balance.balanced).toBe(true)
      expect(down.removed.map((r: { action: string }) => r.action)).toEqual(['stopped'])
      const after = readState(sb.name, sandboxEnv())!
      expect(after.nodes).toHaveLength(2)
      expect(after.shards).toBe(2)
      expect(isProcessAlive(readPid(grown), grown.port)).toBe(false)
    } finally {
      await writer.stop()
    }
    const check = await writer.check(reader)
    expect(check.acked).toBeGreaterThan(500)
    expect(check.missing, JSON.stringify(check.errorKinds)).toEqual([])
    expect(check.wrong).toEqual([])
    expect(check.counterViolations).toEqual([])
    const cli = redisCliCheck(sb.summary.nodes[0].port, PASSWORD)
    expect(cli.clean, cli.output).toBe(true)
    // The seeded keys of every type (binary ones included) came through unchanged.
    expect(digestDifferences(before, await seededDigests(reader, SEEDED))).toEqual([])
  })

  it('adds a replica to every shard and removes them again (0 -> 1 -> 0)', async () => {
    const up = await runCli(['scale', sb.url, '--replicas', '1', '--yes', '--json'], { timeoutMs: 120_000 })
    expect(up.code, up.stderr).toBe(0)
    const added = json(up.stdout).result
    expect(added.added.map((a: { role: string }) => a.role)).toEqual(['replica', 'replica'])
    expect(added.shards.map((s: { replicas: number }) => s.replicas)).toEqual([1, 1])
    expect(added.slotsMoved).toBe(0)
    const state = readState(sb.name, sandboxEnv())!
    expect(state.replicas).toBe(1)
    expect(state.nodes.filter((n) => n.role === 'replica')).toHaveLength(2)

    const down = await runCli(['scale', sb.url, '--replicas', '0', '--yes', '--json'], { timeoutMs: 120_000 })
    expect(down.code, down.stderr).toBe(0)
    const removed = json(down.stdout).result
    expect(removed.removed).toHaveLength(2)
    expect(removed.shards.map((s: { replicas: number }) => s.replicas)).toEqual([0, 0])
    const after = readState(sb.name, sandboxEnv())!
    expect(after.nodes).toHaveLength(2)
    expect(after.replicas).toBe(0)
    expect(redisCliCheck(sb.summary.nodes[0].port, PASSWORD).clean).toBe(true)
  })

  it('adds a node given with --add-node, and resets (not stops) it when its shard is removed', async () => {
    const port = await findFreePortBlock(1, true)
    outsiderDir = mkdtempSync(join(tmpdir(), 'kvtop-outsider-'))
    outsider = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        outsiderDir,
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
        '--requirepass',
        PASSWORD,
      ],
      { stdio: 'ignore' },
    )
    const address = `127.0.0.1:${port}`
    const ping = () =>
      spawnSync('redis-cli', ['-p', String(port), '-a', PASSWORD, '--no-auth-warning', 'PING'], {
        encoding: 'utf8',
      }).stdout.trim()
    for (let i = 0; i < 50 && ping() !== 'PONG'; i++) await new Promise((r) => setTimeout(r, 200))
    const direct = new Redis({ port, password: PASSWORD, lazyConnect: true })
    direct.on('error', () => {})
    redises.push(direct)
    await direct.connect()

    const short = await runCli(['scale', sb.url, '--shards', '4', '--add-node', address, '--yes'])
    expect(short.code).toBe(2)
    expect(short.stderr).toMatch(/needs 2 new node\(s\) but --add-node gave 1/)

    const add = await runCli(['scale', sb.url, '--shards', '3', '--add-node', address, '--yes', '--json'], {
      timeoutMs: 120_000,
    })
    expect(add.code, add.stderr).toBe(0)
    const added = json(add.stdout)
    expect(added.plan.newNodes).toMatchObject({ source: 'add-node', addresses: [address] })
    expect(added.result.added).toMatchObject([{ address, role: 'primary' }])
    expect(
      added.result.shards.find((s: { address: string }) => s.address === address).slotCount,
    ).toBeGreaterThan(5000)
    // Not the sandbox's: not recorded in its state.
    expect(readState(sb.name, sandboxEnv())!.nodes).toHaveLength(2)

    const drop = await runCli(['scale', sb.url, '--remove', address, '--yes', '--json'], {
      timeoutMs: 120_000,
    })
    expect(drop.code, drop.stderr).toBe(0)
    const dropped = json(drop.stdout).result
    expect(dropped.removed).toMatchObject([{ address, action: 'reset' }])
    expect(outsider.exitCode).toBeNull()
    expect(String(await direct.call('CLUSTER', 'INFO'))).toMatch(/cluster_known_nodes:1\r?\n/)
    expect(redisCliCheck(sb.summary.nodes[0].port, PASSWORD).clean).toBe(true)
  })
})

describe('kvtop scale on a managed-service rehearsal', () => {
  let sb: TestSandbox
  beforeAll(async () => {
    sb = await startSandbox({ shards: 2, replicas: 0, flavor: 'elasticache' })
  })
  afterAll(async () => sb?.down())

  it('refuses, naming MIGRATE and pointing to `scale aws`', async () => {
    const r = await runCli(['scale', sb.url, '--shards', '3', '--yes'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/refuses MIGRATE/)
    expect(r.stderr).toMatch(/kvtop scale aws/)
  })
})
