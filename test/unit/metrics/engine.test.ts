import { afterEach, describe, expect, it, vi } from 'vitest'
import { MonitorEngine, mapLimit } from '../../../src/metrics/engine.js'
import type { ExternalMetricsSource } from '../../../src/metrics/external.js'
import { FakeNode, replicatedSet, topologyOf } from './fake-node.js'

const engines: MonitorEngine[] = []
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.stop()))
})

function engineFor(
  nodes: FakeNode[],
  options: Partial<ConstructorParameters<typeof MonitorEngine>[2]> = {},
  connectFails?: Set<number>,
) {
  const byPort = new Map(nodes.map((n) => [n.port, n]))
  let connects = 0
  const engine = new MonitorEngine(undefined, topologyOf(nodes), {
    intervalMs: 200,
    timeoutMs: 150,
    connect: async ({ port }) => {
      connects++
      const n = byPort.get(port)
      if (!n || connectFails?.has(port)) throw new Error(`connect ECONNREFUSED 127.0.0.1:${port}`)
      return n.connection()
    },
    ...options,
  })
  engines.push(engine)
  return { engine, connects: () => connects }
}

describe('MonitorEngine with simulated nodes', () => {
  it('ops/s counts what clients did, not what kvtop itself sent', async () => {
    const nodes = replicatedSet([7000, 7001])
    const { engine } = engineFor(nodes)
    await engine.poll()
    nodes[0].load(500)
    nodes[1].load(40, 'set')
    const snap = await engine.poll()
    const [p, r] = snap.nodes
    // Exactly the client commands: multiply back by the time between the node's two INFO samples.
    const states = (engine as unknown as { states: Map<string, { infoAt: number; prevAt: number }> }).states
    const pi = states.get(p.id)!
    const ri = states.get(r.id)!
    expect(Math.round(p.opsPerSec! * ((pi.infoAt - pi.prevAt) / 1000))).toBe(500)
    expect(Math.round(r.opsPerSec! * ((ri.infoAt - ri.prevAt) / 1000))).toBe(40)
    expect(p.topCommands.map((c) => c.command)).toEqual(['get'])
    expect(r.topCommands.map((c) => c.command)).toEqual(['set'])
  })

  it('a stalled node never delays the others; it is not asked again while its reply is pending', async () => {
    const nodes = replicatedSet([7100, 7101, 7102])
    const { engine } = engineFor(nodes)
    await engine.poll()
    nodes[2].stalled = true
    const t0 = Date.now()
    const snap = await engine.poll()
    const took = Date.now() - t0
    // Bounded by the per-node timeout (150 ms), not by the stalled node (which never answers on its own).
    expect(took).toBeLessThan(1500)
    expect(snap.nodes.map((n) => [n.port, n.state])).toEqual([
      [7100, 'ok'],
      [7101, 'ok'],
      [7102, 'timeout'],
    ])
    expect(snap.nodes[2].up).toBe(false)
    const sent = nodes[2].pipelines
    const again = await engine.poll()
    expect(again.nodes[2].state).toBe('timeout')
    expect(nodes[2].pipelines).toBe(sent)
    expect(again.nodes[0].state).toBe('ok')
    expect(again.events.length).toBe(0) // node-down was raised once, in the first round
    expect(snap.events.filter((e) => e.type === 'node-down').map((e) => e.address)).toEqual([
      '127.0.0.1:7102',
    ])
    nodes[2].release()
    await new Promise((r) => setTimeout(r, 20))
    const back = await engine.poll()
    expect(back.nodes[2].state).toBe('ok')
    expect(back.events.map((e) => e.type)).toContain('node-up')
  })

  it('a node that refuses connections is down and retried with back-off, not every round', async () => {
    const nodes = replicatedSet([7200, 7201])
    const fails = new Set([7201])
    let attempts = 0
    const byPort = new Map(nodes.map((n) => [n.port, n]))
    const engine = new MonitorEngine(undefined, topologyOf(nodes), {
      intervalMs: 50,
      timeoutMs: 40,
      reconnectBaseMs: 100,
      reconnectMaxMs: 400,
      connect: async ({ port }) => {
        if (port === 7201) attempts++
        if (fails.has(port)) throw new Error('connect ECONNREFUSED')
        return byPort.get(port)!.connection()
      },
    })
    engines.push(engine)
    const t0 = Date.now()
    let snap = await engine.poll()
    while (Date.now() - t0 < 1000) snap = await engine.poll()
    expect(snap.nodes[1]).toMatchObject({ state: 'down', up: false, error: 'connect ECONNREFUSED' })
    // 100, 200, 400, 400 ms back-off in one second: a handful of attempts, not one per round.
    expect(attempts).toBeGreaterThanOrEqual(2)
    expect(attempts).toBeLessThanOrEqual(6)
    fails.delete(7201)
    await new Promise((r) => setTimeout(r, 450))
    await engine.poll()
    snap = await engine.poll()
    expect(snap.nodes[1].state).toBe('ok')
  })

  it('slowlog entries are reported once, with their node, across rounds', async () => {
    const nodes = replicatedSet([7300, 7301])
    const { engine } = engineFor(nodes)
    nodes[1].addSlow(['KEYS', '*'])
    const first = await engine.poll()
    expect(first.slowlog.map((e) => [e.address, e.pattern])).toEqual([['127.0.0.1:7301', 'KEYS *']])
    expect((await engine.poll()).slowlog).toEqual([])
    nodes[0].addSlow(['DEBUG', 'SLEEP', '0.05'], 50000)
    const third = await engine.poll()
    expect(third.slowlog.map((e) => [e.address, e.command, e.durationUs, e.role, e.shard])).toEqual([
      ['127.0.0.1:7300', 'DEBUG SLEEP', 50000, 'primary', 0],
    ])
    expect(engine.slowlog.list().length).toBe(2)
  })

  it('a burst bigger than one read is read in full in the same round', async () => {
    const nodes = replicatedSet([7400])
    const { engine } = engineFor(nodes, { slowlogCount: 4 })
    await engine.poll()
    for (let i = 0; i < 10; i++) nodes[0].addSlow(['GET', `k:${i}`])
    const snap = await engine.poll()
    expect(snap.slowlog).toHaveLength(10)
    expect(snap.events.filter((e) => e.type === 'slowlog-gap')).toEqual([])
  })

  it('an external source is polled on its own schedule and shown per node; its failure is an event, not a crash', async () => {
    const nodes = replicatedSet([7500, 7501])
    let fail = false
    const source: ExternalMetricsSource = {
      name: 'cloudwatch',
      intervalMs: 60_000,
      poll: async (ns) => {
        if (fail) throw new Error('ThrottlingException')
        return new Map(
          ns.map((n) => [n.id, { CPUUtilization: n.port === 7500 ? 12.5 : 3, CurrConnections: 7 }]),
        )
      },
    }
    const { engine } = engineFor(nodes, { external: source })
    engine.start(() => {})
    await vi.waitUntil(() => engine.latest?.external, { timeout: 10_000, interval: 20 })
    const snap = engine.latest!
    expect(snap.external).toMatchObject({
      source: 'cloudwatch',
      nodes: { '127.0.0.1:7500': { CPUUtilization: 12.5, CurrConnections: 7 } },
    })
    expect(snap.nodes[0].external).toEqual({ CPUUtilization: 12.5, CurrConnections: 7 })
    fail = true
    await (engine as unknown as { external: { refresh(): Promise<void> } }).external.refresh()
    const next = await engine.poll()
    expect(next.external?.error).toBe('ThrottlingException')
    expect(next.external?.nodes['127.0.0.1:7501']).toEqual({ CPUUtilization: 3, CurrConnections: 7 })
    expect(next.events).toEqual(
      expect.arrayContaining([expect.objectContaining({ type: 'error', source: 'cloudwatch' })]),
    )
  })

  it('connectAll waits for slow handshakes (up to the connect timeout), so the first round already samples every node', async () => {
    const nodes = replicatedSet([7700, 7701])
    const byPort = new Map(nodes.map((n) => [n.port, n]))
    const engine = new MonitorEngine(undefined, topologyOf(nodes), {
      intervalMs: 200,
      timeoutMs: 100,
      connect: async ({ port }) => {
        await new Promise((r) => setTimeout(r, 250))
        return byPort.get(port)!.connection()
      },
    })
    engines.push(engine)
    await engine.connectAll(2000)
    const snap = await engine.poll()
    expect(snap.nodes.map((n) => n.state)).toEqual(['ok', 'ok'])
  })

  it('mapLimit never runs more than the limit at once', async () => {
    let running = 0
    let peak = 0
    const out = await mapLimit([1, 2, 3, 4, 5, 6, 7], 3, async (x) => {
      running++
      peak = Math.max(peak, running)
      await new Promise((r) => setTimeout(r, 5))
      running--
      return x * 2
    })
    expect(out).toEqual([2, 4, 6, 8, 10, 12, 14])
    expect(peak).toBe(3)
  })
})
