import { describe, expect, it, vi } from 'vitest'
import { clusterSnapshot, event, historyFor, slowEntry } from './snapshots.js'
import { dashboardsClosedAfterEach } from './terminal.js'

const onTerminal = dashboardsClosedAfterEach()

function start(columns = 160, rows = 48) {
  const onQuit = vi.fn()
  const { d, term } = onTerminal(columns, rows, { onQuit })
  return { d, term, onQuit, text: () => d.screenText().join('\n') }
}

const settle = () => new Promise((r) => setTimeout(r, 30))

describe('dashboard on a fake terminal', () => {
  it('draws the header, every node row and every panel', () => {
    const { d, text } = start(200, 50)
    const s = clusterSnapshot(3, 1, (n, i) => {
      if (i === 3) Object.assign(n, { up: false, state: 'down', error: 'connect ECONNREFUSED' })
    })
    s.cluster.nodesUp = 5
    s.events = [
      event('node-down', 'replica 127.0.0.1:7003 (shard 1) is down: connect ECONNREFUSED'),
      event('failover', 'shard 0: 127.0.0.1:7001 replaced 127.0.0.1:7000 as primary'),
    ]
    d.update(s, historyFor(s), [
      slowEntry(4, ['DEBUG', 'SLEEP', '0.05'], '127.0.0.1:7002'),
      slowEntry(2, ['GET', '{user1}:cart']),
    ])
    const screen = text()
    expect(screen).toContain(
      'self-managed  redis 7.0.15  cluster  3 shards  5/6 nodes up  slots 16384/16384  state ok',
    )
    expect(screen).toMatch(/ops\/s \S+ +hit 95%/)
    for (let p = 7000; p <= 7005; p++) expect(screen).toContain(`127.0.0.1:${p}`)
    expect(screen).toMatch(/✗ 127\.0\.0\.1:7003 +replica +1 down/)
    for (const label of [
      'nodes 6/6',
      'ops/s',
      'latency usec',
      'memory per shard',
      'replication lag',
      'slowlog',
      'alerts (0 active)',
    ])
      expect(screen).toContain(label)
    expect(screen).toContain('DEBUG SLEEP 0.05  @127.0.0.1:7002')
    // Hash-tag braces shown as typed, not eaten as tags.
    expect(screen).toContain('GET {user1}:cart')
    // Events wrap in the alert log rather than being cut.
    expect(screen).toContain('failover shard 0: 127.0.0.1:7001 replaced')
    expect(screen).toContain('  127.0.0.1:7000 as primary')
    expect(screen).toContain('node-down replica 127.0.0.1:7003')
    expect(screen).toMatch(/s0 +█+░* 47\.7M\/95\.4M/)
    // No cloudwatch panel without an external source.
    expect(screen).not.toContain('cloudwatch')
    expect(d.renderTimes.length).toBeGreaterThan(0)
  })

  it('keys: move, sort, filter, pause, details, help, quit', async () => {
    const { d, term, onQuit, text } = start()
    const s = clusterSnapshot(2, 1, (n, i) => (n.opsPerSec = [10, 20, 40, 30][i]))
    const h = historyFor(s)
    d.update(s, h, [])
    expect(d.state.selectedId).toBe(s.nodes[0].id)
    await term.type('j', 'j')
    expect(d.state.selectedId).toBe(s.nodes[2].id)
    await term.type('k')
    expect(d.state.selectedId).toBe(s.nodes[1].id)

    await term.type('s')
    expect(d.state).toMatchObject({ sort: 'ops', descending: true })
    expect(text()).toContain('sort: ops desc')
    const rows = text()
      .split('\n')
      .filter((l) => /127\.0\.0\.1:70\d\d +(primary|replica)/.test(l))
      .map((l) => l.match(/127\.0\.0\.1:(\d+)/)![1])
    expect(rows).toEqual(['7002', '7003', '7001', '7000'])
    await term.type('S')
    expect(d.state.descending).toBe(false)

    await term.type('/', 'r', 'e', 'p', '\r')
    expect(d.state.filter).toBe('rep')
    await term.type('/', '\x7f', '\x7f', '\x7f', 'r', 'e', 'p', 'l', 'i', 'c', 'a', '\r')
    expect(d.state.filter).toBe('replica')
    expect(text()).toContain('nodes 2/4')
    expect(text()).not.toMatch(/127\.0\.0\.1:7000 +primary/)
    await term.type('\x1b')
    await settle()
    expect(d.state.filter).toBe('')
    expect(text()).toContain('nodes 4/4')

    await term.type('p')
    expect(text()).toContain('PAUSED')
    const frozen = text()
    const s2 = clusterSnapshot(2, 1, (n) => (n.opsPerSec = 99_999))
    s2.events = [event('failover', 'while paused')]
    d.update(s2, h, [])
    expect(text()).toBe(frozen)
    await term.type('p')
    d.update(s2, h, [])
    expect(text()).not.toContain('PAUSED')
    expect(text()).toContain('100k')
    // Events that came while paused were kept.
    expect(text()).toContain('while paused')

    await term.type('\r')
    expect(text()).toContain('Enter/Esc to close')
    expect(text()).toContain('top commands')
    await term.type('\x1b')
    expect(text()).not.toContain('Enter/Esc to close')
    await term.type('?')
    expect(text()).toContain('next sort column')
    await term.type('\x1b')
    expect(text()).not.toContain('next sort column')
    expect(onQuit).not.toHaveBeenCalled()
    await term.type('q')
    expect(onQuit).toHaveBeenCalledTimes(1)
  })

  it('Ctrl-C quits, even from the filter prompt', async () => {
    const { d, term, onQuit } = start()
    d.update(clusterSnapshot(1, 0), historyFor(clusterSnapshot(1, 0)), [])
    await term.type('/', 'x', '\x03')
    expect(onQuit).toHaveBeenCalledTimes(1)
  })

  it('survives resizes: panels follow, nothing drawn past the edge, small screens keep a chart', async () => {
    const { d, term, text } = start(160, 48)
    const s = clusterSnapshot(4, 1)
    d.update(s, historyFor(s), [slowEntry(1, ['KEYS', '*'])])
    for (const [w, h] of [
      [120, 40],
      [100, 30],
      [200, 60],
      [80, 20],
      [140, 45],
    ]) {
      term.resize(w, h)
      await settle()
      const lines = d.screenText()
      expect(lines).toHaveLength(h)
      expect(lines.every((l) => [...l].length <= w)).toBe(true)
      expect(text()).toContain('127.0.0.1:7000')
      if (w >= 90 && h >= 24) expect(text(), `${w}x${h}`).toMatch(/memory per|memory…/)
      else expect(text(), `${w}x${h}`).not.toContain('memory')
      expect(text(), `${w}x${h}`).toContain('ops/s cluster')
    }
  })

  it('scrolls through 120 nodes; the selection stays in view', async () => {
    const { d, term, text } = start(160, 48)
    const s = clusterSnapshot(40, 2)
    d.update(s, historyFor(s, 3), [])
    expect(text()).toContain('nodes 120/120')
    expect(text()).not.toContain('127.0.0.1:7119')
    await term.type('G')
    expect(d.state.selectedId).toBe(s.nodes[119].id)
    expect(text()).toContain('127.0.0.1:7119')
    await term.type('g')
    expect(text()).toContain('127.0.0.1:7000')
    // Page down moves by a screenful.
    await term.type('\x1b[6~')
    const idx = s.nodes.findIndex((n) => n.id === d.state.selectedId)
    expect(idx).toBeGreaterThan(10)
  })

  it('shows the CloudWatch panel when an external source is present, in the node details too', async () => {
    const { d, term, text } = start(160, 48)
    const s = clusterSnapshot(1, 1)
    s.external = {
      source: 'cloudwatch',
      at: Date.now(),
      nodes: { [s.nodes[0].id]: { EngineCPUUtilization: 37.5, CurrConnections: 1200 } },
    }
    s.nodes[0].external = s.external.nodes[s.nodes[0].id]
    d.update(s, historyFor(s), [])
    expect(text()).toContain('cloudwatch')
    const lines = d.screenText()
    const at = lines.findIndex((l) => l.includes('127.0.0.1:7000 CurrConnections=1.2k'))
    expect(at).toBeGreaterThan(0)
    expect(lines[at + 1], lines.slice(at - 2, at + 3).join('\n')).toMatch(/│ +EngineCPUUtilization=38 +│$/)
    await term.type('\r')
    expect(text()).toMatch(/EngineCPUUtilization +37\.5/)
  })

  it('renders 90-node frames without blowing up (the 20 ms goal is measured by bench/monitor.ts)', () => {
    const { d, text } = start(200, 60)
    const s = clusterSnapshot(30, 2)
    const h = historyFor(s, 120)
    for (let i = 0; i < 20; i++) d.update({ ...s, at: s.at + i * 1000 }, h, [])
    expect(text()).toContain('nodes 90/90')
    const times = d.renderTimes
      .toArray()
      .slice(-10)
      .sort((a, b) => a - b)
    // A gross check only: wall time on a shared test machine is noisy.
    expect(times[5]).toBeLessThan(1000)
  })

  it('a chart redrawn with new figures shows what a fresh dashboard draws for them (nothing of the old line left)', () => {
    const first = clusterSnapshot(3, 1)
    const history = historyFor(first, 40)
    const peaky = clusterSnapshot(3, 1)
    peaky.at = first.at + 1000
    peaky.cluster.opsPerSec = 10 * (first.cluster.opsPerSec ?? 1000)
    history.add('cluster:ops', peaky.at, peaky.cluster.opsPerSec)
    history.add('cluster:latency', peaky.at, 40)
    const redrawn = start(200, 50)
    redrawn.d.update(first, historyFor(first, 40), [])
    redrawn.d.update(peaky, history, [])
    const fresh = start(200, 50)
    fresh.d.update(peaky, history, [])
    expect(redrawn.text()).toBe(fresh.text())
  })
})
