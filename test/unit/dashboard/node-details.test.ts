import { describe, expect, it } from 'vitest'
import { nodeDetails } from '../../../src/dashboard/node-details.js'
import { clusterSnapshot } from './snapshots.js'

describe('nodeDetails', () => {
  it('a primary: identity, figures, memory, its replication stream and top commands', () => {
    const s = clusterSnapshot(1, 1)
    expect(nodeDetails(s.nodes[0], s)).toEqual([
      '{bold}127.0.0.1:7000{/bold}  primary  shard 0  up',
      'id p000000000000000000000000000000000000000',
      'redis 7.0.15  uptime -  poll - ms',
      'slots 0-16383',
      '',
      'ops/s 1.0k  latency 4.5us  p50 -  p99 25us  cpu 12.0%',
      'hit 95.0%  net in -/s out -/s  errors/s -',
      'evictions/s -  expired/s -  clients 10 (blocked 0)',
      'memory 47.7M / max 95.4M  rss 57.2M  peak -  frag -  ',
      'keys 100k  with ttl -',
      '',
      'replication offset 123456  writes -  backlog -  full syncs -',
      '',
      'top commands',
      '  get                        600/s     2.5us  p99 9.0us',
    ])
  })

  it('a replica: its link and lag; an error escaped; no slots line, no doubled blank lines', () => {
    const s = clusterSnapshot(1, 1)
    const n = { ...s.nodes[1], error: 'LOADING {x}', topCommands: [] }
    s.replication[0].replicas.push({
      id: n.id,
      address: n.address,
      link: 'up',
      offset: 123000,
      lagBytes: 456,
      lagSeconds: 2,
      backlogHeadroomBytes: 1_048_576,
      backlogHeadroomSeconds: 30,
      fullResyncRisk: true,
    } as (typeof s.replication)[0]['replicas'][0])
    expect(nodeDetails(n, s).slice(0, 4)).toEqual([
      '{bold}127.0.0.1:7001{/bold}  replica  shard 0  up  {red-fg}LOADING {open}x{close}{/red-fg}',
      'id r0x1000000000000000000000000000000000000',
      'redis 7.0.15  uptime -  poll - ms',
      '',
    ])
    expect(nodeDetails(n, s).slice(9)).toEqual([
      '',
      'replica of 127.0.0.1:7000  link up  offset 123000  lag 456 bytes / 2.0s',
      'backlog headroom 1.0M (30s)  full resync risk {red-fg}yes{/red-fg}',
    ])
  })
})
