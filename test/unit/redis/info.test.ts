import { describe, expect, it } from 'vitest'
import {
  parseCommandStats,
  parseErrorStats,
  parseInfo,
  parseInfoReplicas,
  parseInfoSections,
  parseKeyspace,
  parseLatencyStats,
} from '../../../src/redis/info.js'

describe('section helpers', () => {
  it('parseInfo flattens sections; parseInfoReplicas keeps its old shape', () => {
    const flat = parseInfo(
      '# Replication\r\nrole:master\r\nslave0:ip=1.2.3.4,port=7000,state=online,offset=10,lag=2\r\n',
    )
    expect(parseInfoReplicas(flat)).toEqual([
      { ip: '1.2.3.4', port: 7000, state: 'online', offset: 10, lag: 2 },
    ])
  })

  it('tolerates junk lines, empty sections and absent input', () => {
    expect(parseCommandStats(undefined)).toEqual({})
    expect(parseErrorStats({ errorstat_X: 'count=notanumber', other: '1' })).toEqual({})
    expect(parseLatencyStats({ latency_percentiles_usec_get: 'p50=1.5,p99=,bogus' })).toEqual({
      get: { p50: 1.5 },
    })
    expect(parseKeyspace({ db12: 'keys=3,expires=1,avg_ttl=5', dbx: 'keys=1' })).toEqual({
      12: { keys: 3, expires: 1, avgTtl: 5 },
    })
    expect(parseInfoSections('garbage\n:novalue\n# Empty\nkey:value:with:colons\n')).toEqual({
      empty: { key: 'value:with:colons' },
    })
  })
})
