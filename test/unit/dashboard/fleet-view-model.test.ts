import { describe, expect, it } from 'vitest'
import {
  fleetHeader,
  fleetHealth,
  fleetTable,
  type FleetEntry,
} from '../../../src/dashboard/fleet-view-model.js'
import { clusterSnapshot } from './snapshots.js'

function fleet(): FleetEntry[] {
  const healthy = clusterSnapshot(2, 1)
  const lagging = clusterSnapshot(1, 2, (n, i) => {
    if (i === 1) n.replication = { ...n.replication!, lagBytes: 3 * 1024 * 1024, lagSeconds: 2.5 }
    if (i === 2) n.replication = { ...n.replication!, lagBytes: 1024, lagSeconds: 0.1 }
    n.p99Us = i === 0 ? 1500 : 40
  })
  lagging.alerts = [
    {
      type: 'replication-lag',
      key: 'lag:x',
      severity: 'warning',
      since: 0,
      message: 'replica 127.0.0.1:7001 (shard 0) is 3145728 bytes / 2.5 s behind',
    },
  ]
  const broken = clusterSnapshot(1, 1, (n, i) => {
    if (i === 0) n.up = false
  })
  broken.cluster.nodesUp = 1
  broken.alerts = [
    {
      type: 'node-down',
      key: 'nd',
      severity: 'critical',
      since: 0,
      message: 'primary 127.0.0.1:7000 (shard 0) is down',
    },
  ]
  return [
    { name: 'orders', snapshot: healthy },
    { name: 'sessions-eu', snapshot: lagging },
    { name: 'carts', snapshot: broken },
    { name: 'legacy', error: 'cannot connect to 10.0.0.9:6379: connection refused' },
    { name: 'new' },
  ]
}

describe('fleet view model', () => {
  it('one line per deployment: health, nodes, ops/s, p99, memory, worst lag, alerts (exact, 100 columns)', () => {
    const { header, rows } = fleetTable(fleet(), 100)
    expect([header, ...rows.map((r) => r.text)]).toEqual([
      '  CLUSTER     HEALTH     NODES   OPS/S     P99    MEM MEM% WORST LAG     ALERTS',
      '  orders      ok           4/4    2.6k    25us  95.4M  50% 0B/0.0s       0',
      '! sessions-eu warning      3/3    1.6k  1.50ms  95.4M  50% 3.0M/2.5s     1 replica 127.0.0.1:7001 (…',
      '✗ carts       critical     1/2    1.3k    25us  95.4M  50% 0B/0.0s       1 primary 127.0.0.1:7000 (…',
      '✗ legacy      down           -       -       -      -    - -             cannot connect to 10.0.0.9…',
      '  new         connecting     -       -       -      -    - -',
    ])
    expect(rows.map((r) => r.health)).toEqual(['ok', 'warning', 'critical', 'down', 'connecting'])
    expect(rows[1].tagged).toBe(`{yellow-fg}${rows[1].text}{/yellow-fg}`)
    expect(rows[0].tagged).toBe(rows[0].text)
  })

  it('narrow screens drop figures, keeping the name, the health and 20 columns of alerts', () => {
    const { header, rows } = fleetTable(fleet(), 50)
    expect(header).toBe('  CLUSTER     HEALTH     MEM% ALERTS')
    expect(rows[3].text).toBe('✗ legacy      down          - cannot connect to 1…')
    expect(fleetTable(fleet(), 60).header).toBe('  CLUSTER     HEALTH     NODES   OPS/S ALERTS')
  })

  it('the header counts deployments by health', () => {
    expect(fleetHeader(fleet())).toBe(
      'kvtop fleet  5 deployments  1 ok  1 warning  1 critical  1 down  1 connecting  (Enter: open, q: quit)',
    )
    expect(fleetHealth({ name: 'x', snapshot: clusterSnapshot(1, 0) })).toBe('ok')
  })
})
