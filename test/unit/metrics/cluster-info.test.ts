import { describe, expect, it } from 'vitest'
import { parseClusterInfo } from '../../../src/metrics/cluster-info.js'
import { fixture } from './fixtures.js'

describe('CLUSTER INFO', () => {
  it('parses the captured reply', () => {
    const ci = parseClusterInfo(fixture('metrics/cluster-info-7.0.txt'))
    expect(ci).toMatchObject({
      state: 'ok',
      slotsAssigned: 16384,
      slotsOk: 16384,
      slotsPfail: 0,
      slotsFail: 0,
      knownNodes: 4,
      size: 2,
      currentEpoch: 3,
      myEpoch: 0,
    })
    expect(ci.raw.total_cluster_links_buffer_limit_exceeded).toBe('0')
  })

  it('a failing cluster', () => {
    expect(
      parseClusterInfo('cluster_state:fail\r\ncluster_slots_ok:16000\r\ncluster_slots_fail:384\r\n'),
    ).toMatchObject({ state: 'fail', slotsOk: 16000, slotsFail: 384 })
  })
})
