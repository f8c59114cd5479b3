import { describe, expect, it } from 'vitest'
import { DEFAULT_THRESHOLDS } from '../../../src/metrics/alerts.js'
import { visibleColumns } from '../../../src/dashboard/columns.js'
import { NODE_COLUMNS, nodeTable } from '../../../src/dashboard/node-table.js'
import { initialViewState } from '../../../src/dashboard/view-state.js'
import { clusterSnapshot } from './snapshots.js'

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

  it('filters by role, state, shard and address', () => {
    const s = clusterSnapshot(3, 1, (n, i) => {
      n.opsPerSec = [5, 50, 500, 5000, 1, 10][i]
      if (i === 5) Object.assign(n, { up: false, state: 'timeout' })
    })
    const only = (filter: string) =>
      nodeTable(s, { ...initialViewState(), filter }, DEFAULT_THRESHOLDS, 200).rows.map((r) =>
        r.id.slice(0, 2),
      )
    expect(only('primary')).toEqual(['p0', 'p1', 'p2'])
    expect(only('down')).toEqual(['r2'])
    expect(only('s1')).toEqual(['p1', 'r1'])
    expect(only('shard:2 replica')).toEqual(['r2'])
    expect(only(':7004')).toEqual(['p2'])
  })

  it('narrow tables keep the marker, node, state and lag first, then role, shard, ops/s, p99', () => {
    const titles = (w: number) => visibleColumns(w, NODE_COLUMNS).map((c) => c.title)
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
})
