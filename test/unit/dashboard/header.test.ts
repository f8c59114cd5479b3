import { describe, expect, it } from 'vitest'
import { headerLines } from '../../../src/dashboard/header.js'
import { initialViewState } from '../../../src/dashboard/view-state.js'
import { clusterSnapshot } from './snapshots.js'

describe('headerLines', () => {
  const s = clusterSnapshot(2, 1)
  s.at = new Date(2026, 0, 2, 3, 4, 5).getTime()

  it('two lines: the deployment, then the figures and the sort', () => {
    expect(headerLines(s, initialViewState(), 200, 2)).toEqual([
      '{bold}kvtop{/bold}  self-managed  redis 7.0.15  cluster  2 shards  4/4 nodes up  slots 16384/16384  state ok',
      'ops/s 2.6k  hit 95%  mem 95.4M/191M  keys 200k  clients 20  alerts 0  round 7ms @ 03:04:05  sort: shard',
    ])
  })

  it('narrow: the least important parts go first', () => {
    expect(headerLines(s, initialViewState(), 60, 2)).toEqual([
      '{bold}kvtop{/bold}  cluster  2 shards  4/4 nodes up  state ok',
      'ops/s 2.6k  hit 95%  mem 95.4M/191M  alerts 0  sort: shard',
    ])
  })

  it('one line keeps what matters in an incident: nodes up, state, alerts, paused, the filter, ops/s', () => {
    const state = { ...initialViewState(), paused: true, filter: 's1' }
    expect(headerLines(s, state, 80, 1)).toEqual([
      '{bold}kvtop{/bold}  4/4 nodes up  state ok  alerts 0  PAUSED  filter: s1  ops/s 2.6k',
    ])
  })
})
