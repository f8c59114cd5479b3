import { describe, expect, it } from 'vitest'
import { AlertTracker, type AlertInput } from '../../../src/metrics/alerts.js'

type NodeIn = AlertInput['nodes'][number]
const node = (o: Partial<NodeIn> & { id: string }): NodeIn => ({
  address: `${o.id}:1`,
  shard: 0,
  role: 'primary',
  up: true,
  state: 'ok',
  ...o,
})

describe('alerts', () => {
  it('raised once when a condition starts, cleared once when it ends', () => {
    const t = new AlertTracker({ lagSeconds: 5, lagBytes: 1000, memoryFraction: 0.9 })
    const down = {
      at: 1,
      mode: 'cluster' as const,
      slotsCovered: 16384,
      clusterState: 'ok',
      nodes: [node({ id: 'r', role: 'replica', up: false, state: 'down', error: 'ECONNREFUSED' })],
    }
    const first = t.evaluate(down)
    expect(first.events).toEqual([
      expect.objectContaining({ type: 'node-down', at: 1, node: 'r', severity: 'warning' }),
    ])
    expect(first.events[0].message).toContain('ECONNREFUSED')
    expect(t.evaluate({ ...down, at: 2 }).events).toEqual([])
    expect(t.evaluate({ ...down, at: 2 }).active).toHaveLength(1)
    const back = t.evaluate({ ...down, at: 3, nodes: [node({ id: 'r', role: 'replica' })] })
    expect(back.events).toEqual([expect.objectContaining({ type: 'node-up', at: 3, node: 'r' })])
    expect(back.active).toEqual([])
  })

  it('lag, memory, evictions, full resync, slots and cluster state', () => {
    const t = new AlertTracker({ lagSeconds: 5, lagBytes: 1000, memoryFraction: 0.9 })
    const { events, active } = t.evaluate({
      at: 10,
      mode: 'cluster',
      slotsCovered: 16000,
      clusterState: 'fail',
      nodes: [
        node({ id: 'p', memoryUsed: 95, maxmemory: 100, evictionsPerSec: 3, fullSyncs: 1 }),
        node({ id: 'r1', role: 'replica', lagBytes: 10, lagSeconds: 6, link: 'up' }),
        node({ id: 'r2', role: 'replica', lagBytes: 5000, lagSeconds: 0, link: 'up' }),
        node({ id: 'r3', role: 'replica', lagBytes: 0, lagSeconds: 0, link: 'up' }),
        node({ id: 'r4', role: 'replica', link: 'down' }),
        node({ id: 'q', memoryUsed: 95, maxmemory: 0 }),
      ],
    })
    expect(events.map((e) => `${e.type}:${e.node ?? ''}`).sort()).toEqual(
      [
        'cluster-state:',
        'evictions:p',
        'full-resync:p',
        'memory-high:p',
        'replication-lag:r1',
        'replication-lag:r2',
        'replication-lag:r4',
        'slots-uncovered:',
      ].sort(),
    )
    expect(active[0].severity).toBe('critical')
    expect(events.find((e) => e.type === 'slots-uncovered')?.message).toBe(
      '384 of 16384 slots are not served',
    )
    const cleared = t.evaluate({
      at: 11,
      mode: 'cluster',
      slotsCovered: 16384,
      clusterState: 'ok',
      nodes: [node({ id: 'p' }), node({ id: 'r1', role: 'replica', lagSeconds: 0, lagBytes: 0, link: 'up' })],
    })
    expect(
      cleared.events
        .filter((e) => e.type === 'alert-cleared')
        .map((e) => e.alert)
        .sort(),
    ).toEqual(
      [
        'cluster-state',
        'evictions',
        'full-resync',
        'memory-high',
        'replication-lag',
        'replication-lag',
        'replication-lag',
        'slots-uncovered',
      ].sort(),
    )
  })

  it('a node that left the deployment is not reported as back up', () => {
    const t = new AlertTracker()
    t.evaluate({ at: 1, mode: 'replicated', nodes: [node({ id: 'gone', up: false, state: 'down' })] })
    expect(t.evaluate({ at: 2, mode: 'replicated', nodes: [] }).events).toEqual([])
  })
})
