import { describe, expect, it } from 'vitest'
import { historySizeFor } from '../../../src/dashboard/chart-window.js'
import type { Alert } from '../../../src/metrics/alerts.js'
import type { SeriesStore } from '../../../src/metrics/history.js'
import type { Snapshot } from '../../../src/metrics/types.js'
import { clusterSnapshot, event, historyFor, slowEntry } from './snapshots.js'
import { dashboardsClosedAfterEach } from './terminal.js'

/**
 * `kvtop top` at the sizes people run it: an SSH or tmux pane (80x24) up to a full monitor
 * (200x60). Each frame is read back as text from blessed's screen buffer.
 */
const onTerminal = dashboardsClosedAfterEach()

function start(columns: number, rows: number) {
  const { d, term } = onTerminal(columns, rows)
  return { d, term, lines: () => d.screenText() }
}

/** The demo's shape: three shards with a replica each; one replica down, one lagging, one primary hot. */
function incident(): { s: Snapshot; h: SeriesStore } {
  const s = clusterSnapshot(3, 1, (n, i) => {
    if (i === 2) n.opsPerSec = 50_000
    if (i === 3) Object.assign(n, { up: false, state: 'down', error: 'connect ECONNREFUSED' })
    if (i === 5) n.replication = { link: 'up', lagBytes: 20_000_000, lagSeconds: 12 }
  })
  s.cluster.nodesUp = 5
  s.events = [
    event('node-down', 'replica 127.0.0.1:7003 is down'),
    event('replication-lag', 'lag on 127.0.0.1:7005'),
  ]
  s.alerts = s.events.map((e) => ({
    type: e.type as Alert['type'],
    key: e.type,
    severity: e.severity,
    since: e.at,
    message: e.message,
  }))
  const h = historyFor(s, 120)
  for (let i = 0; i < 120; i++) h.add('cluster:p99', s.at - (120 - i) * 1000, 25 + (i % 5))
  return { s, h }
}

const ROW = (port: number, role: string, shard: number, state: string, mark = ' ') =>
  new RegExp(`^│${mark === '!' ? '!' : mark} 127\\.0\\.0\\.1:${port} +${role} +${shard} ${state} `)

/** The text of a box whose top border carries `label`: its rows between the borders. */
function box(lines: string[], label: string): { top: number; left: number; right: number; rows: string[] } {
  const top = lines.findIndex((l) => l.includes(`┌─ ${label}`))
  expect(top, `no panel labelled ${label}`).toBeGreaterThanOrEqual(0)
  const chars = [...lines[top]]
  const left = [...lines[top].slice(0, lines[top].indexOf(`┌─ ${label}`))].length
  const right = chars.indexOf('┐', left)
  const rows: string[] = []
  for (let r = top + 1; r < lines.length && [...lines[r]][left] !== '└'; r++)
    rows.push([...lines[r]].slice(left + 1, right).join(''))
  return { top, left, right, rows }
}

describe('top at the usual terminal sizes', () => {
  for (const [w, h, headerLines] of [
    [80, 24, 1],
    [100, 30, 1],
    [160, 45, 2],
    [200, 60, 2],
  ] as const) {
    it(`${w}x${h}: header on ${headerLines} line(s), every node's state and LAG, the alert count, a chart`, () => {
      const { d, lines } = start(w, h)
      const { s, h: history } = incident()
      d.update(s, history, [slowEntry(1, ['KEYS', '*'])])
      const screen = lines()
      expect(screen).toHaveLength(h)
      expect(screen.every((l) => [...l].length <= w)).toBe(true)
      // The header box: its text lines, then the bottom border.
      expect(screen[0]).toMatch(/^┌─+┐$/)
      expect(screen[1]).toMatch(/^│kvtop {2}/)
      expect(screen[1 + headerLines]).toMatch(/^└─+┘$/)
      const header = screen.slice(1, 1 + headerLines).join('\n')
      expect(header).toContain('5/6 nodes up')
      expect(header).toContain('alerts 2')
      if (headerLines === 1)
        expect(screen[1]).toBe(
          `│kvtop  5/6 nodes up  state ok  alerts 2  ops/s 53k  mem 95.4M/191M  ${w === 80 ? '3 shards' : 'hit 95%  3 shards  cluster'}`.padEnd(
            w - 1,
          ) + '│',
        )
      // Every node: marker, address, role, shard, state; the lag of the replicas.
      const text = screen.join('\n')
      const table = screen.filter((l) => /^│. 127\.0\.0\.1:70\d\d +(primary|replica) /.test(l))
      expect(table).toHaveLength(6)
      expect(table[0]).toMatch(ROW(7000, 'primary', 0, 'up'))
      expect(table[1]).toMatch(ROW(7001, 'replica', 0, 'up'))
      expect(table[2]).toMatch(ROW(7002, 'primary', 1, 'up', '▲'))
      expect(table[3]).toMatch(ROW(7003, 'replica', 1, 'down', '✗'))
      expect(table[4]).toMatch(ROW(7004, 'primary', 2, 'up'))
      expect(table[5]).toMatch(ROW(7005, 'replica', 2, 'up', '!'))
      expect(screen.find((l) => l.includes('NODE'))).toMatch(/ OPS\/S .* P99 .*LAG/)
      expect(table[1]).toMatch(/ 25us .*0B\/0\.0s /)
      expect(table[5]).toMatch(/ 25us .*19\.1M\/12s /)
      // A chart with its line drawn (braille dots).
      const ops = box(screen, 'ops/s cluster (k) · 5m')
      expect(ops.rows.join('')).toMatch(/[⠁-⣿]/)
      expect(ops.rows.length).toBeGreaterThanOrEqual(6)
      // The table is as tall as its rows: six nodes, the column titles, two borders.
      expect(box(screen, 'nodes 6/6').rows).toHaveLength(7)
      if (w >= 100) {
        // The memory panel's label ends inside its own border.
        expect(screen.find((l) => l.includes('┌─ memory'))).toMatch(
          /┌─ memory per shard ─+┐┌─ replication lag/,
        )
        expect(text).toContain('alerts (2 active)')
      }
    })
  }

  it('legends sit in the chart label, never over the newest points', () => {
    const { d, lines } = start(100, 30)
    const { s, h } = incident()
    // A jump in the newest samples: exactly where blessed-contrib puts its legend box.
    for (let i = 0; i < 12; i++) h.add('cluster:ops', s.at + i * 1000, 500_000)
    d.update(s, h, [])
    const screen = lines()
    const latency = box(screen, 'latency usec · 5m')
    expect(screen[latency.top]).toContain('latency usec · 5m  ━ avg ━ p99 worst node')
    expect(latency.rows.join('\n')).not.toMatch(/avg|p99|cluster/)
    const ops = box(screen, 'ops/s cluster (k) · 5m')
    // The plot's top row: only the jump reaches it, at the right end.
    const top = ops.rows[0]
    expect(top).toMatch(/^480⡇ +[⠁-⣿]+ +$/)
    // Past the y axis (label and ⡇).
    const dots = [...top].map((c, i) => (/[⠁-⣿]/.test(c) && i > 3 ? i : -1)).filter((i) => i >= 0)
    expect(Math.min(...dots)).toBeGreaterThan(ops.rows[0].length * 0.85)
  })

  it('the selected node has a chart on its own scale; on two-chart screens c switches to it', async () => {
    const wide = start(160, 45)
    const { s, h } = incident()
    wide.d.update(s, h, [])
    // The cluster does ~53k ops/s, 127.0.0.1:7000 1k: its own axis, not the cluster's.
    const node = box(wide.lines(), 'ops/s 127.0.0.1:7000 · 5m')
    expect(node.rows.some((r) => r.startsWith('960 ⡇⠒'))).toBe(true)
    await wide.term.type('j')
    expect(box(wide.lines(), 'ops/s 127.0.0.1:7001 · 5m').rows.some((r) => r.startsWith('288⡇⠒'))).toBe(true)

    const narrow = start(100, 30)
    narrow.d.update(s, h, [])
    expect(narrow.lines().join('\n')).not.toContain('127.0.0.1:7000 · 5m')
    await narrow.term.type('c')
    const screen = narrow.lines()
    expect(box(screen, 'ops/s 127.0.0.1:7000 · 5m').rows.some((r) => r.startsWith('960'))).toBe(true)
    expect(screen.join('\n')).toContain('latency usec 127.0.0.1:7000 · 5m')
    await narrow.term.type('c')
    expect(narrow.lines().join('\n')).toContain('ops/s cluster (k) · 5m')
  })

  it('w steps the chart window through 15, 1 and 5 minutes of the history kept', async () => {
    const { d, term, lines } = start(160, 45)
    const { s } = incident()
    // 16 minutes of rounds, 15 kept (as top keeps them at 1 s).
    const h = historyFor(s, 960, historySizeFor(1000))
    d.update(s, h, [])
    const mmss = (at: number) =>
      `${String(new Date(at).getMinutes()).padStart(2, '0')}:${String(new Date(at).getSeconds()).padStart(2, '0')}`
    const ops = () => box(lines(), 'ops/s cluster')
    const firstLabel = () =>
      ops()
        .rows.find((r) => /^ +\d\d:\d\d/.test(r))!
        .trim()
        .split(/\s+/)[0]
    const title = () => lines()[ops().top].replace(/^.*┌─ (ops\/s cluster[^─]*) ─.*$/, '$1')
    const samples = h.get('cluster:ops')
    const newest = samples.at(-1)!.at
    /** Times of the first `n` samples inside the last `minutes` (a point may stand for a few). */
    const firstIn = (minutes: number, n: number) =>
      samples
        .filter((p) => p.at > newest - minutes * 60_000)
        .slice(0, n)
        .map((p) => mmss(p.at))
    expect(title()).toBe('ops/s cluster (k) · 5m')
    expect(firstIn(5, 5)).toContain(firstLabel())
    await term.type('w')
    expect(title()).toBe('ops/s cluster (k) · 15m')
    expect(firstIn(15, 12)).toContain(firstLabel())
    expect(newest - samples[0].at).toBe(15 * 60_000)
    await term.type('w')
    expect(title()).toBe('ops/s cluster (k) · 1m')
    // One minute: every sample is a point, the first label is the first sample of the minute.
    expect(firstLabel()).toBe(firstIn(1, 1)[0])
    await term.type('w')
    expect(title()).toBe('ops/s cluster (k) · 5m')

    // A history shorter than the window says how much it holds.
    d.update(s, historyFor(s, 960, 240), [])
    expect(title()).toBe('ops/s cluster (k) · 5m (4m kept)')
  })
})
