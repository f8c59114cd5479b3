import { describe, expect, it } from 'vitest'
import { memoryLines } from '../../../src/dashboard/memory-panel.js'
import { clusterSnapshot } from './snapshots.js'

describe('memory panel', () => {
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
})
