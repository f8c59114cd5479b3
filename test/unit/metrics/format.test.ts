import { describe, expect, it } from 'vitest'
import { formatBytesShort, formatCountShort, formatDurationShort } from '../../../src/format/units.js'
import {
  fmtPercent,
  fmtUs,
  formatReplication,
  formatSlowlogGroups,
  formatStatus,
} from '../../../src/metrics/format.js'
import { groupSlowlog } from '../../../src/metrics/log-groups.js'
import { toSlowlogEntry } from '../../../src/metrics/slowlog.js'
import { clusterSnapshot } from '../dashboard/snapshots.js'

describe('text formatting', () => {
  it('numbers, sizes, times', () => {
    expect([
      formatBytesShort(undefined),
      formatBytesShort(512),
      formatBytesShort(1536),
      formatBytesShort(50_000_000),
      formatBytesShort(5 * 1024 ** 3),
    ]).toEqual(['-', '512B', '1.5K', '47.7M', '5.0G'])
    expect([
      formatCountShort(3.25),
      formatCountShort(42),
      formatCountShort(1234),
      formatCountShort(56_789),
      formatCountShort(2_500_000),
    ]).toEqual(['3.3', '42', '1.2k', '57k', '2.5M'])
    expect([fmtUs(4.5), fmtUs(250), fmtUs(50_137), fmtUs(2_500_000)]).toEqual([
      '4.5us',
      '250us',
      '50.1ms',
      '2.50s',
    ])
    expect([formatDurationShort(0), formatDurationShort(75), formatDurationShort(7265)]).toEqual([
      '0.0s',
      '1m15s',
      '2h01m',
    ])
    expect(fmtPercent(0.956)).toBe('96%')
  })

  it('status: deployment line, totals, one row per node, alerts', () => {
    const s = clusterSnapshot(1, 1, (n, i) => {
      if (i === 1) Object.assign(n, { up: false, state: 'down', replication: { link: 'down' } })
    })
    s.cluster.nodesUp = 1
    s.alerts = [
      {
        type: 'node-down',
        key: 'node-down:x',
        severity: 'warning',
        since: 1,
        message: 'replica 127.0.0.1:7001 (shard 0) is down',
      },
    ]
    const text = formatStatus(s).split('\n')
    expect(text[0]).toBe(
      'self-managed | redis 7.0.15 | cluster | 1 shard | 1/2 nodes up | 16384/16384 slots | state ok',
    )
    expect(text[3]).toMatch(/^NODE +ROLE +SHARD +STATE +OPS\/S +LAT +P99 +CPU +MEM +HIT +CLIENTS +KEYS +LAG$/)
    expect(text[4]).toMatch(
      /^127\.0\.0\.1:7000 +primary +0 +up +1\.0k +4\.5us +25us +12% +47\.7M\/95\.4M +95% +10 +100k$/,
    )
    expect(text[5]).toMatch(/^127\.0\.0\.1:7001 +replica +0 +down .* link down$/)
    expect(text.slice(-2)).toEqual(['ALERTS', '  warning  replica 127.0.0.1:7001 (shard 0) is down'])
  })

  it('replication: per shard, then its replicas', () => {
    const text = formatReplication([
      {
        shard: 0,
        primaryAddress: '10.0.0.1:6379',
        primaryUp: true,
        primaryOffset: 5000,
        writeBytesPerSec: 2048,
        backlog: { active: true, size: 1048576 },
        fullSyncs: 1,
        replicas: [
          {
            id: 'r',
            address: '10.0.0.2:6379',
            up: true,
            offset: 4000,
            lagBytes: 1000,
            lagSeconds: 0.5,
            link: 'up',
            state: 'online',
            backlogHeadroomBytes: 1047576,
            backlogHeadroomSeconds: 511.5,
            fullResyncRisk: false,
          },
        ],
      },
    ]).split('\n')
    expect(text[0]).toBe(
      'shard 0  primary 10.0.0.1:6379  offset 5000  writes 2.0K/s  backlog 1.0M  full syncs 1',
    )
    expect(text[1]).toMatch(
      /^ {2}REPLICA +NODE +LINK +STATE +OFFSET +LAG BYTES +LAG +HEADROOM +HEADROOM TIME +RESYNC RISK$/,
    )
    expect(text[2]).toMatch(/^ {2}10\.0\.0\.2:6379 +up +up +online +4000 +1000 +0\.5s +1023K +8m32s +no$/)
  })

  it('slowlog groups', () => {
    const node = { id: 'n', address: 'h:1', shard: 0, role: 'primary' as const }
    const groups = groupSlowlog([
      toSlowlogEntry({ id: 1, at: 0, value: 10_000, args: ['KEYS', '*'], client: '' }, node),
      toSlowlogEntry({ id: 2, at: 0, value: 30_000, args: ['KEYS', '*'], client: '' }, node),
    ])
    expect(formatSlowlogGroups(groups).split('\n')[1]).toMatch(
      /^KEYS \* +2 +40\.0ms +20\.0ms +30\.0ms +1 +\d\d:\d\d:\d\d$/,
    )
  })
})
