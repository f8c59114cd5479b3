import { describe, expect, it } from 'vitest'
import { hotNodes } from '../../../src/dashboard/node-flags.js'
import { clusterSnapshot } from './snapshots.js'

describe('hotNodes', () => {
  it('hot needs peers: a single busy node is not hot by comparison, but CPU >= 80% is', () => {
    const s = clusterSnapshot(1, 0, (n) => (n.opsPerSec = 100_000))
    expect(hotNodes(s.nodes).size).toBe(0)
    s.nodes[0].cpuPercent = 85
    expect(hotNodes(s.nodes).has(s.nodes[0].id)).toBe(true)
  })
})
