import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { MonitorEvent } from '../../../src/metrics/alerts.js'
import type { MonitorEngine } from '../../../src/metrics/engine.js'
import { openMonitor } from '../../../src/metrics/service.js'
import type { SlowlogEntry } from '../../../src/metrics/slowlog.js'
import type { Snapshot } from '../../../src/metrics/types.js'
import { runLoad } from '../../../src/sandbox/load.js'
import { runCli } from '../../helpers/cli.js'
import { startSandbox, type TestSandbox } from '../../helpers/sandbox.js'

const INTERVAL = 250

/** Poll every INTERVAL until `done` holds; every snapshot's events and slowlog entries are collected. */
async function pollUntil(
  engine: MonitorEngine,
  done: (s: Snapshot) => boolean,
  timeoutMs: number,
  seen: { events: MonitorEvent[]; slowlog: SlowlogEntry[]; snapshots: Snapshot[] } = {
    events: [],
    slowlog: [],
    snapshots: [],
  },
) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const t0 = Date.now()
    const snap = await engine.poll()
    seen.events.push(...snap.events)
    seen.slowlog.push(...snap.slowlog)
    seen.snapshots.push(snap)
    if (done(snap)) return { snap, ...seen }
    if (Date.now() > deadline)
      throw new Error(
        `condition not met within ${timeoutMs} ms; last snapshot: ${JSON.stringify(snap.nodes.map((n) => [n.port, n.role, n.state, n.replication]))}`,
      )
    await new Promise((r) => setTimeout(r, Math.max(0, t0 + INTERVAL - Date.now())))
  }
}

class Load {
  private controller?: AbortController
  private running?: Promise<unknown>
  constructor(private readonly url: string) {}
  start(rate = 1500): void {
    this.controller = new AbortController()
    this.running = runLoad(
      { url: this.url },
      { rate, durationSeconds: Infinity, keys: 400, seed: 7, signal: this.controller.signal },
    ).catch(() => {})
  }
  async stop(): Promise<void> {
    this.controller?.abort()
    await this.running
  }
}

describe('monitoring a 2x1 cluster under load', () => {
  let sb: TestSandbox
  let engine: MonitorEngine
  let load: Load
  const stopped: number[] = []
  const byPort = (s: Snapshot, port: number) => s.nodes.find((n) => n.port === port)!

  beforeAll(async () => {
    sb = await startSandbox({ shards: 2, replicas: 1 })
    load = new Load(sb.url)
    load.start()
    engine = await openMonitor({ url: sb.url }, { intervalMs: INTERVAL })
  })
  afterAll(async () => {
    for (const pid of stopped) {
      try {
        process.kill(pid, 'SIGCONT')
      } catch {
        // gone
      }
    }
    await load?.stop()
    await engine?.stop()
    await sb?.down()
  })

  it('every node appears with its role, and ops/s is non-zero under load', async () => {
    // Up to 1500 client ops/s over two primaries; replicas apply the write stream. The bounds are
    // far below that, and any round may show them: on a loaded machine one 250 ms window can catch
    // the load generator or a replica's stream paused. What is tested is that rates are measured on
    // every node, not how fast this machine is.
    const busy = (s: Snapshot) =>
      s.nodes.every((n) => n.role !== 'primary' || n.hitRatio !== undefined) &&
      s.nodes.every((n) => (n.opsPerSec ?? 0) > (n.role === 'primary' ? 50 : 5)) &&
      (s.cluster.opsPerSec ?? 0) > 200
    const { snap } = await pollUntil(engine, (s) => s.round >= 3 && s.nodes.length === 4 && busy(s), 20000)
    expect(snap.nodes).toHaveLength(4)
    for (const n of sb.summary.nodes)
      expect(byPort(snap, n.port)).toMatchObject({ role: n.role, shard: n.shard, up: true, state: 'ok' })
    expect(snap.deployment).toMatchObject({
      mode: 'cluster',
      shards: 2,
      nodes: 4,
      slotsCovered: 16384,
      clusterState: 'ok',
      engine: 'redis',
    })
    for (const p of snap.nodes.filter((n) => n.role === 'primary')) expect(p.opsPerSec).toBeGreaterThan(50)
    for (const r of snap.nodes.filter((n) => n.role === 'replica')) expect(r.opsPerSec).toBeGreaterThan(5)
    expect(snap.cluster.opsPerSec).toBeGreaterThan(200)
    expect(snap.nodes.every((n) => n.topCommands.length > 0 && (n.memory.used ?? 0) > 0)).toBe(true)
    const primary = snap.nodes.find((n) => n.role === 'primary')!
    expect(primary.hitRatio).toBeGreaterThan(0.5)
    expect(primary.topCommands.map((c) => c.command)).not.toContain('info') // kvtop's own polling is not in the figures
    for (const r of snap.nodes.filter((n) => n.role === 'replica'))
      expect(r.replication).toMatchObject({ link: 'up' })
  })

  it('a slow command appears exactly once in the slowlog, with its node', async () => {
    const target = sb.summary.nodes.find((n) => n.role === 'primary' && n.shard === 1)!
    const admin = await sb.admin(target.port)
    await admin.call('DEBUG', 'SLEEP', '0.05')
    const seen = { events: [] as MonitorEvent[], slowlog: [] as SlowlogEntry[], snapshots: [] as Snapshot[] }
    await pollUntil(engine, () => seen.slowlog.some((e) => e.command === 'DEBUG SLEEP'), 5000, seen)
    // A few more rounds: it must not come back.
    for (let i = 0; i < 3; i++) await pollUntil(engine, () => true, 1000, seen)
    const sleeps = seen.slowlog.filter((e) => e.command === 'DEBUG SLEEP')
    expect(sleeps).toHaveLength(1)
    expect(sleeps[0]).toMatchObject({
      address: `127.0.0.1:${target.port}`,
      shard: 1,
      role: 'primary',
      args: ['DEBUG', 'SLEEP', '0.05'],
      pattern: 'DEBUG SLEEP',
    })
    expect(sleeps[0].durationUs).toBeGreaterThanOrEqual(50_000)
    expect(engine.slowlog.list().filter((e) => e.command === 'DEBUG SLEEP')).toHaveLength(1)
  })

  it('the CLI: status, status --watch, replication, slowlog (--group), and top without a terminal', async () => {
    const [status, watch, replication, slowlog, top] = await Promise.all([
      runCli(['status', sb.url, '--json', '--interval', '0.3']),
      runCli(['status', sb.url, '--json', '--watch', '--count', '2', '--interval', '0.3']),
      runCli(['replication', sb.url, '--json', '--interval', '0.3']),
      runCli(['slowlog', sb.url, '--json', '--group']),
      runCli(['top', sb.url]),
    ])
    expect(status.stderr).toBe('')
    expect(status.code).toBe(0)
    const st = JSON.parse(status.stdout) as Snapshot
    expect(st.nodes).toHaveLength(4)
    for (const n of st.nodes) {
      expect(n).toMatchObject({
        host: '127.0.0.1',
        up: true,
        role: expect.stringMatching(/^(primary|replica)$/),
      })
      expect(n.id).toMatch(/^[0-9a-f]{40}$/)
      expect(typeof n.opsPerSec).toBe('number')
      expect(typeof n.lastSeenAt).toBe('number')
      if (n.role === 'primary') expect(n.slots.length).toBe(1)
      else
        expect(n.replication).toEqual(
          expect.objectContaining({
            lagBytes: expect.any(Number),
            lagSeconds: expect.any(Number),
            link: 'up',
          }),
        )
    }
    // A rate over one 0.3 s window (the first test asserts its size, on a round that shows it).
    expect(st.cluster.opsPerSec).toEqual(expect.any(Number))

    expect(watch.code).toBe(0)
    const lines = watch.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; at: number; round?: number })
    const rounds = lines.filter((l) => l.type === 'status')
    expect(rounds.map((r) => r.round)).toEqual([1, 2])
    expect(lines.every((l) => typeof l.type === 'string' && typeof l.at === 'number')).toBe(true)

    expect(replication.code).toBe(0)
    const rep = JSON.parse(replication.stdout) as {
      mode: string
      shards: {
        shard: number
        primaryOffset: number
        replicas: { offset: number; lagBytes: number; link: string; backlogHeadroomBytes: number }[]
      }[]
    }
    expect(rep.mode).toBe('cluster')
    expect(rep.shards.map((x) => x.shard)).toEqual([0, 1])
    for (const shard of rep.shards) {
      expect(shard.primaryOffset).toBeGreaterThan(0)
      expect(shard.replicas).toHaveLength(1)
      expect(shard.replicas[0]).toMatchObject({ link: 'up' })
      expect(shard.replicas[0].offset).toBeGreaterThan(0)
      expect(shard.replicas[0].backlogHeadroomBytes).toBeGreaterThan(0)
    }

    expect(slowlog.code).toBe(0)
    const report = JSON.parse(slowlog.stdout) as { entries: SlowlogEntry[]; nodes: number; nodesRead: number }
    expect(report).toMatchObject({ nodes: 4, nodesRead: 4 })
    const target = sb.summary.nodes.find((n) => n.role === 'primary' && n.shard === 1)!
    expect(
      report.entries.filter((e) => e.command === 'DEBUG SLEEP').map((e) => [e.address, e.shard, e.role]),
    ).toEqual([[`127.0.0.1:${target.port}`, 1, 'primary']])
    const groups = (
      JSON.parse(slowlog.stdout) as { groups: { pattern: string; count: number; nodes: string[] }[] }
    ).groups
    expect(groups.find((g) => g.pattern === 'DEBUG SLEEP')).toMatchObject({
      count: 1,
      nodes: [expect.stringMatching(/^[0-9a-f]{40}$/)],
    })

    expect(top.code).toBe(2)
    expect(top.stdout).toBe('')
    expect(top.stderr).toContain('kvtop top needs an interactive terminal')
    expect(top.stderr).toContain(`kvtop status ${sb.url} --watch`)
  })

  it('a paused replica (SIGSTOP) lags more and more, and is back to 0 after SIGCONT', async () => {
    const replica = sb.summary.nodes.find((n) => n.role === 'replica' && n.shard === 0)!
    stopped.push(replica.pid!)
    process.kill(replica.pid!, 'SIGSTOP')
    const lags: number[] = []
    try {
      const { snap } = await pollUntil(
        engine,
        (s) => {
          const lag = byPort(s, replica.port).replication?.lagBytes
          if (lag !== undefined) lags.push(lag)
          return (
            lags.length >= 4 && lags[lags.length - 1] > lags[lags.length - 3] && lags[lags.length - 3] > 0
          )
        },
        6000,
      )
      const r = byPort(snap, replica.port)
      expect(r).toMatchObject({ up: false, state: 'timeout' })
      expect(r.replication!.lagSeconds).toBeGreaterThan(0.2)
      // The other nodes kept answering, every round.
      expect(snap.nodes.filter((n) => n.port !== replica.port).every((n) => n.state === 'ok')).toBe(true)
      // Rounds end at the per-node timeout (200 ms), not when the stopped node answers (it cannot).
      expect(snap.roundMs).toBeLessThan(3000)
    } finally {
      process.kill(replica.pid!, 'SIGCONT')
      stopped.splice(stopped.indexOf(replica.pid!), 1)
    }
    // With the writes stopped, the replica catches up completely.
    await load.stop()
    const { snap } = await pollUntil(
      engine,
      (s) => byPort(s, replica.port).state === 'ok' && byPort(s, replica.port).replication?.lagBytes === 0,
      8000,
    )
    expect(byPort(snap, replica.port).replication).toMatchObject({ lagBytes: 0, lagSeconds: 0, link: 'up' })
    load.start()
  })

  it('CLUSTER FAILOVER on a replica is reported as a failover event', async () => {
    const oldPrimary = sb.summary.nodes.find((n) => n.role === 'primary' && n.shard === 1)!
    const replica = sb.summary.nodes.find((n) => n.role === 'replica' && n.shard === 1)!
    const before = engine.topology
    const oldId = before.nodes.find((n) => n.port === oldPrimary.port)!.id
    const newId = before.nodes.find((n) => n.port === replica.port)!.id
    const admin = await sb.admin(replica.port)
    await admin.call('CLUSTER', 'FAILOVER')
    const { snap, events } = await pollUntil(
      engine,
      (s) => s.events.some((e) => e.type === 'failover'),
      10_000,
    )
    const failovers = events.filter((e) => e.type === 'failover')
    expect(failovers).toHaveLength(1)
    expect(failovers[0]).toMatchObject({
      type: 'failover',
      shard: 1,
      from: oldId,
      to: newId,
      fromAddress: `127.0.0.1:${oldPrimary.port}`,
      toAddress: `127.0.0.1:${replica.port}`,
    })
    expect(typeof failovers[0].at).toBe('number')
    expect(byPort(snap, replica.port).role).toBe('primary')
    // Within a round or two the old primary is listed as the new primary's replica.
    const { snap: settled } = await pollUntil(
      engine,
      (s) => byPort(s, oldPrimary.port).role === 'replica',
      5000,
    )
    expect(byPort(settled, oldPrimary.port).shard).toBe(1)
    expect(settled.shards[1].primaryId).toBe(newId)
  })

  it('a killed replica is shown down within two intervals while the others keep updating', async () => {
    const victim = sb.summary.nodes.find((n) => n.role === 'replica' && n.shard === 0)!
    await pollUntil(engine, (s) => byPort(s, victim.port).state === 'ok', 5000)
    const killedAt = Date.now()
    process.kill(victim.pid!, 'SIGKILL')
    const seen = { events: [] as MonitorEvent[], slowlog: [] as SlowlogEntry[], snapshots: [] as Snapshot[] }
    const { snap } = await pollUntil(engine, (s) => !byPort(s, victim.port).up, 3000, seen)
    expect(snap.at - killedAt).toBeLessThanOrEqual(2 * INTERVAL + snap.roundMs + 50)
    expect(byPort(snap, victim.port)).toMatchObject({ state: 'down', up: false })
    expect(seen.events.filter((e) => e.type === 'node-down').map((e) => e.address)).toEqual([
      `127.0.0.1:${victim.port}`,
    ])
    // Three more rounds: the others answer every time and their figures move on.
    const lastSeen = new Map(snap.nodes.map((n) => [n.port, n.lastSeenAt]))
    const more = { events: [] as MonitorEvent[], slowlog: [] as SlowlogEntry[], snapshots: [] as Snapshot[] }
    await pollUntil(engine, () => more.snapshots.length >= 3, 3000, more)
    for (const s of more.snapshots) {
      expect(byPort(s, victim.port).up).toBe(false)
      for (const n of s.nodes.filter((x) => x.port !== victim.port)) expect(n.state).toBe('ok')
    }
    const last = more.snapshots[more.snapshots.length - 1]
    for (const n of last.nodes.filter((x) => x.port !== victim.port))
      expect(n.lastSeenAt!).toBeGreaterThan(lastSeen.get(n.port)!)
    expect(last.alerts.map((a) => a.type)).toContain('node-down')
  })
})

describe('monitoring a primary with a replica, ElastiCache flavor (no CONFIG, no DEBUG for the client)', () => {
  let sb: TestSandbox
  let engine: MonitorEngine
  beforeAll(async () => {
    sb = await startSandbox({ shards: 0, replicas: 1, flavor: 'elasticache' })
    engine = await openMonitor({ url: sb.url }, { intervalMs: INTERVAL })
  })
  afterAll(async () => {
    await engine?.stop()
    await sb?.down()
  })

  it('both nodes with their roles and the replication model; a killed replica stays listed, down', async () => {
    const [primary, replica] = sb.summary.nodes
    const { snap } = await pollUntil(engine, (s) => s.round >= 2 && s.nodes.every((n) => n.up), 5000)
    expect(snap.deployment).toMatchObject({ mode: 'replicated', shards: 1, nodes: 2 })
    expect(snap.nodes.map((n) => [n.port, n.role])).toEqual([
      [primary.port, 'primary'],
      [replica.port, 'replica'],
    ])
    expect(snap.replication[0]).toMatchObject({
      shard: 0,
      primaryAddress: `127.0.0.1:${primary.port}`,
      primaryUp: true,
    })
    expect(snap.replication[0].replicas[0]).toMatchObject({
      address: `127.0.0.1:${replica.port}`,
      link: 'up',
      lagBytes: 0,
    })
    expect(snap.replication[0].replicas[0].backlogHeadroomBytes).toBeGreaterThan(0)
    process.kill(replica.pid!, 'SIGKILL')
    // Down for kvtop at once; the primary drops its link a moment later.
    const { snap: after } = await pollUntil(
      engine,
      (s) =>
        s.nodes.some((n) => n.port === replica.port && !n.up) &&
        s.replication[0].replicas[0]?.link === 'down',
      3000,
    )
    expect(after.nodes.map((n) => [n.port, n.role, n.up])).toEqual([
      [primary.port, 'primary', true],
      [replica.port, 'replica', false],
    ])
    expect(after.replication[0].replicas[0].link).toBe('down')
  })
})
