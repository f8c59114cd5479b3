import { describe, expect, it } from 'vitest'
import { DEFAULT_THRESHOLDS } from '../../../src/metrics/alerts.js'
import { lagLines } from '../../../src/dashboard/lag-panel.js'
import { clusterSnapshot, historyFor } from './snapshots.js'

describe('replication lag panel', () => {
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
})
