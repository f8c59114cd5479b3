import { describe, expect, it } from 'vitest'
import { DEFAULT_THRESHOLDS } from '../../../src/metrics/alerts.js'
import {
  computeLayout,
  esc,
  hotNodes,
  initialViewState,
  lagLines,
  matchesFilter,
  memoryLines,
  nodeTable,
  sortNodes,
  sparkline,
  visibleColumns,
  chartData,
  chartScale,
} from '../../../src/dashboard/view-model.js'
import { clusterSnapshot, historyFor } from './snapshots.js'

describe('node table', () => {
  it('rows in shard order, primary first, with the figures formatted', () => {
    const s = clusterSnapshot(2, 1)
    const t = nodeTable(s, initialViewState(), DEFAULT_THRESHOLDS, 200)
    expect(t.header).toMatch(
      /^ {2}NODE\s+ROLE\s+SH\s+STATE\s+OPS\/S\s+LAT\s+P99\s+CPU\s+MEM\s+HIT\s+LAG\s+MEM%\s+CLI$/,
    )
    expect(t.rows.map((r) => r.text.trim().split(/\s+/).slice(0, 5))).toEqual([
      ['127.0.0.1:7000', 'primary', '0', 'up', '1.0k'],
      ['127.0.0.1:7001', 'replica', '0', 'up', '300'],
      ['127.0.0.1:7002', 'primary', '1', 'up', '1.0k'],
      ['127.0.0.1:7003', 'replica', '1', 'up', '300'],
    ])
    expect(t.rows[0].text).toMatch(/ 4\.5us +25us /)
    expect(t.rows[0].text).toContain('47.7M') // 50,000,000 bytes
    expect(t.rows[1].text).toContain('0B/0.0s')
  })

  it('down, lagging and hot rows are flagged and colored', () => {
    const s = clusterSnapshot(3, 1, (n, i) => {
      if (i === 1) Object.assign(n, { up: false, state: 'down', error: 'ECONNREFUSED' })
      if (i === 3) n.replication = { link: 'up', lagBytes: 20_000_000, lagSeconds: 12 }
      if (i === 4) n.opsPerSec = 50_000
    })
    const t = nodeTable(s, initialViewState(), DEFAULT_THRESHOLDS, 200)
    const byPort = new Map(t.rows.map((r) => [r.text.slice(12, 16), r]))
    expect(byPort.get('7001')!.flags).toEqual({ down: true, lagging: false, hot: false })
    expect(byPort.get('7001')!.tagged.startsWith('{red-fg}')).toBe(true)
    expect(byPort.get('7001')!.text).toContain('down')
    expect(byPort.get('7003')!.flags.lagging).toBe(true)
    expect(byPort.get('7003')!.tagged.startsWith('{yellow-fg}')).toBe(true)
    expect(byPort.get('7004')!.flags.hot).toBe(true)
    expect(byPort.get('7004')!.tagged.startsWith('{magenta-fg}')).toBe(true)
    expect(byPort.get('7000')!.tagged.startsWith('{')).toBe(false)
    // Not color alone: a symbol in the first column.
    expect([...byPort].map(([port, r]) => `${port} ${r.text[0]}`)).toEqual([
      '7000  ',
      '7001 ✗',
      '7002  ',
      '7003 !',
      '7004 ▲',
      '7005  ',
    ])
  })

  it('sorts by any column, and filters by role, state, shard and address', () => {
    const s = clusterSnapshot(3, 1, (n, i) => {
      n.opsPerSec = [5, 50, 500, 5000, 1, 10][i]
      if (i === 5) Object.assign(n, { up: false, state: 'timeout' })
    })
    expect(sortNodes(s.nodes, 'ops', true).map((n) => n.port)).toEqual([7003, 7002, 7001, 7005, 7000, 7004])
    expect(sortNodes(s.nodes, 'ops', false).map((n) => n.port)).toEqual([7004, 7000, 7005, 7001, 7002, 7003])
    expect(sortNodes(s.nodes, 'address', false).map((n) => n.port)).toEqual([
      7000, 7001, 7002, 7003, 7004, 7005,
    ])
    const only = (filter: string) =>
      nodeTable(s, { ...initialViewState(), filter }, DEFAULT_THRESHOLDS, 200).rows.map((r) =>
        r.id.slice(0, 2),
      )
    expect(only('primary')).toEqual(['p0', 'p1', 'p2'])
    expect(only('down')).toEqual(['r2'])
    expect(only('s1')).toEqual(['p1', 'r1'])
    expect(only('shard:2 replica')).toEqual(['r2'])
    expect(only(':7004')).toEqual(['p2'])
    expect(matchesFilter(s.nodes[0], '')).toBe(true)
  })

  it('narrow tables keep the marker, node, state and lag first, then role, shard, ops/s, p99', () => {
    const titles = (w: number) => visibleColumns(w).map((c) => c.title)
    // 1 + 21 + 7 + 14 and the spaces: marker, node, state, lag.
    expect(titles(46)).toEqual([' ', 'NODE', 'STATE', 'LAG'])
    expect(titles(54)).toEqual([' ', 'NODE', 'ROLE', 'STATE', 'LAG'])
    expect(titles(70)).toEqual([' ', 'NODE', 'ROLE', 'SH', 'STATE', 'OPS/S', 'LAG'])
    expect(titles(74)).toEqual([' ', 'NODE', 'ROLE', 'SH', 'STATE', 'OPS/S', 'P99', 'LAG'])
    const s = clusterSnapshot(1, 0)
    const t = nodeTable(s, initialViewState(), DEFAULT_THRESHOLDS, 60)
    expect(t.header.length).toBeLessThanOrEqual(60)
    expect(t.rows.every((r) => r.text.length <= 60)).toBe(true)
  })

  it('hot needs peers: a single busy node is not hot by comparison, but CPU >= 80% is', () => {
    const s = clusterSnapshot(1, 0, (n) => (n.opsPerSec = 100_000))
    expect(hotNodes(s.nodes).size).toBe(0)
    s.nodes[0].cpuPercent = 85
    expect(hotNodes(s.nodes).has(s.nodes[0].id)).toBe(true)
  })
})

describe('panels', () => {
  it('memory per shard without maxmemory: no bar (it would read as full), its share and "no limit"', () => {
    const s = clusterSnapshot(3, 0)
    for (const sh of s.shards) sh.maxmemory = 0
    expect(memoryLines(s, 40)).toEqual([
      's0   47.7M  33% of all, no limit',
      's1   48.6M  33% of all, no limit',
      's2   49.6M  34% of all, no limit',
    ])
    expect(memoryLines(s, 26)[0]).toBe('s0   47.7M  33%  no limit')
    expect(memoryLines(s, 20)[0]).toBe('s0   47.7M  no limit')
  })

  it('memory per shard against maxmemory, red at 90 %', () => {
    const s = clusterSnapshot(2, 0)
    s.shards[1].memoryUsed = 95_000_000
    const lines = memoryLines(s, 30)
    expect(lines).toHaveLength(2)
    expect(lines[0].startsWith('s0  ')).toBe(true)
    expect(lines[0].endsWith('47.7M/95.4M')).toBe(true)
    expect(lines[1]).toContain('{red-fg}')
  })

  it('replication lag per replica with a sparkline of its history', () => {
    const s = clusterSnapshot(1, 2, (n, i) => {
      if (i === 2) Object.assign(n, { up: false, state: 'down' })
    })
    const lines = lagLines(s, historyFor(s), 50, DEFAULT_THRESHOLDS)
    expect(lines[0]).toMatch(/^127\.0\.0\.1:7001 [▁▂▃▄▅▆▇█]+ +0B\/0\.0s$/)
    expect(lines[1]).toMatch(/^\{red-fg\}127\.0\.0\.1:7002 .*down\{\/red-fg\}$/)
    // Narrow: no sparkline, never longer than the panel.
    expect(lagLines(s, historyFor(s), 20, DEFAULT_THRESHOLDS)[0].length).toBeLessThanOrEqual(20)
  })

  it('replication lag: only the lines a panel shows are built, the same as the first of all lines', () => {
    const s = clusterSnapshot(4, 2)
    const history = historyFor(s, 120)
    const all = lagLines(s, history, 60, DEFAULT_THRESHOLDS)
    expect(all).toHaveLength(8)
    expect(lagLines(s, history, 60, DEFAULT_THRESHOLDS, 3)).toEqual(all.slice(0, 3))
  })

  it('sparklines, chart data and scales', () => {
    expect(sparkline([0, 1, 2, 4, 8], 10)).toBe('▁▂▃▅█')
    expect(sparkline([0, 0], 10)).toBe('▁▁')
    expect(sparkline([1, 2, 3], 2)).toBe('▆█')
    expect(chartData([], 60_000)).toEqual({ x: ['', ''], y: [0, 0] })
    expect(chartData([{ at: 0, value: 5 }], 60_000).y).toEqual([0, 5])
    expect(chartScale(150_000)).toEqual({ divisor: 1e3, suffix: ' (k)' })
    expect(chartScale(900)).toEqual({ divisor: 1, suffix: '' })
  })

  it('server text cannot inject blessed tags', () => {
    expect(esc('{user1}:cart {bold}')).toBe('{open}user1{close}:cart {open}bold{close}')
  })
})

describe('layout', () => {
  it('panels tile the screen without overlap', () => {
    for (const [w, h, ext] of [
      [200, 60, false],
      [160, 48, true],
      [120, 30, true],
      [90, 24, false],
    ] as const) {
      const l = computeLayout(w, h, ext)
      expect(l.compact).toBe(false)
      const rects = [
        l.header,
        l.table,
        l.ops!,
        l.latency!,
        ...(l.node ? [l.node] : []),
        l.memory!,
        l.lag!,
        l.slowlog!,
        l.alerts!,
        ...(l.external ? [l.external] : []),
      ]
      for (const r of rects) {
        expect(r.width).toBeGreaterThan(0)
        expect(r.height).toBeGreaterThan(0)
        expect(r.left + r.width).toBeLessThanOrEqual(w)
        expect(r.top + r.height).toBeLessThanOrEqual(h)
      }
      // No two panels overlap, and together they cover the screen.
      for (const a of rects)
        for (const b of rects) {
          if (a === b) continue
          const overlapX = Math.min(a.left + a.width, b.left + b.width) - Math.max(a.left, b.left)
          const overlapY = Math.min(a.top + a.height, b.top + b.height) - Math.max(a.top, b.top)
          expect(overlapX > 0 && overlapY > 0).toBe(false)
        }
      expect(rects.reduce((sum, r) => sum + r.width * r.height, 0)).toBe(w * h)
      expect(Boolean(l.external)).toBe(ext)
    }
  })

  it('small terminals: header, table and two charts; tiny ones the table only', () => {
    const l = computeLayout(80, 20, true, 1, false, { tableRows: 6, panelRows: 3 })
    expect(l.compact).toBe(true)
    // Six rows, the column titles and the border: every node stays on screen.
    expect(l.table).toEqual({ top: 3, left: 0, width: 80, height: 9 })
    expect(l.ops).toEqual({ top: 12, left: 0, width: 40, height: 8 })
    expect(l.latency).toEqual({ top: 12, left: 40, width: 40, height: 8 })
    expect(l.memory).toBeUndefined()
    const tiny = computeLayout(80, 14, true, 1, false, { tableRows: 6 })
    expect(tiny.ops).toBeUndefined()
    expect(tiny.table).toEqual({ top: 3, left: 0, width: 80, height: 11 })
  })

  it('panels sized by content: six nodes take nine rows, the charts the space the table does not need', () => {
    const l = computeLayout(160, 45, false, 2, false, { tableRows: 6, panelRows: 3 })
    expect(l.table).toEqual({ top: 4, left: 0, width: 160, height: 9 })
    expect(l.ops!.height).toBe(22)
    expect(l.node).toEqual({ top: 13, left: 106, width: 54, height: 22 })
    expect(l.memory).toEqual({ top: 35, left: 0, width: 32, height: 10 })
    // Ninety nodes: the table stops at half of the room under the header.
    const big = computeLayout(160, 45, false, 2, false, { tableRows: 90, panelRows: 60 })
    expect(big.table.height).toBe(20)
    expect(big.ops!.height).toBeGreaterThanOrEqual(8)
  })
})
