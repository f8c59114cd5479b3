import { describe, expect, it } from 'vitest'
import { externalLines } from '../../../src/dashboard/cloudwatch-panel.js'
import { clusterSnapshot } from './snapshots.js'

const at = new Date(2026, 0, 2, 3, 4, 5).getTime()

describe('cloudwatch panel', () => {
  it('the source and its time, then per node its figures by name, packed on lines that fit', () => {
    const s = clusterSnapshot(1, 1)
    s.external = {
      source: 'cloudwatch',
      at,
      nodes: { [s.nodes[0].id]: { cpu: 12.5, currConnections: 1200, bytesUsed: 52_000_000 } },
    }
    expect(externalLines(s, 40)).toEqual([
      'cloudwatch: as of 03:04:05',
      '127.0.0.1:7000 bytesUsed=52M cpu=13',
      '  currConnections=1.2k',
    ])
  })

  it('before the first data: waiting, and the error escaped in red', () => {
    const s = clusterSnapshot(1, 1)
    s.external = { source: 'cloudwatch', nodes: { [s.nodes[0].id]: { cpu: 12.5 } }, error: 'throttled {x}' }
    expect(externalLines(s, 30)).toEqual([
      'cloudwatch: waiting for data {red-fg}throttled {open}x{close}{/red-fg}',
      '127.0.0.1:7000 cpu=13',
    ])
    expect(externalLines(clusterSnapshot(1, 0), 30)).toEqual([])
  })
})
