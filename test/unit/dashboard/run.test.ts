import { describe, expect, it, vi } from 'vitest'
import { runTop } from '../../../src/dashboard/run.js'
import { MonitorEngine } from '../../../src/metrics/engine.js'
import { replicatedSet, topologyOf } from '../metrics/fake-node.js'
import { FakeTerminal } from './terminal.js'

describe('runTop: the engine feeding the dashboard', () => {
  it('draws live rounds until q, then stops the engine', async () => {
    const nodes = replicatedSet([7600, 7601])
    const byPort = new Map(nodes.map((n) => [n.port, n]))
    const engine = new MonitorEngine(undefined, topologyOf(nodes), {
      intervalMs: 100,
      timeoutMs: 80,
      connect: async ({ port }) => byPort.get(port)!.connection(),
    })
    const term = new FakeTerminal(160, 48)
    nodes[1].addSlow(['HGETALL', 'cart:{42}'], 75_000)
    const running = runTop(engine, { input: term.input, output: term.output, terminal: 'xterm-256color' })
    // Rounds are waited for, not timed: a loaded machine runs fewer of them in a given time.
    const waitForPolls = (n: number) =>
      vi.waitUntil(() => nodes[0].pipelines >= n, { timeout: 10_000, interval: 20 })
    await waitForPolls(2)
    nodes[0].load(100)
    await waitForPolls(nodes[0].pipelines + 3)
    await term.type('q')
    const summary = await running
    expect(summary.rounds).toBeGreaterThanOrEqual(4)
    expect(summary.renderMs.p50).toBeGreaterThan(0)
    expect(term.bytesWritten).toBeGreaterThan(1000)
    // What reached the terminal: the nodes, the slow command (braces intact), the live rate.
    expect(term.written).toContain('127.0.0.1:7601')
    // (spaces go out as cursor moves, so words are checked one by one)
    expect(term.written).toMatch(/HGETALL\x1b\[1Ccart:\{42\}/)
    expect(term.written).toContain('replicated')
    // Stopped: no more polls after quitting.
    const polls = nodes[0].pipelines
    await new Promise((r) => setTimeout(r, 250))
    expect(nodes[0].pipelines).toBe(polls)
  })
})
