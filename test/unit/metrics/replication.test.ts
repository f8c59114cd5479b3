import { describe, expect, it } from 'vitest'
import { parseInfoSections } from '../../../src/redis/info.js'
import { toNodeInfo } from '../../../src/metrics/node-info.js'
import {
  lagSecondsFromHistory,
  matchReplicaLine,
  shardReplication,
  writeRate,
} from '../../../src/metrics/replication.js'
import { fixture } from './fixtures.js'

const primary = (lines: string) => toNodeInfo(parseInfoSections(`# Replication\r\nrole:master\r\n${lines}`))
const replica = (lines: string) => toNodeInfo(parseInfoSections(`# Replication\r\nrole:slave\r\n${lines}`))

describe('replication model', () => {
  it('ElastiCache-style primary: lag from the primary view (ACKed offsets), headroom against the backlog', () => {
    const p = toNodeInfo(parseInfoSections(fixture('info/elasticache-7.1-replicated-primary.txt')))
    const m = shardReplication({
      shard: 0,
      primary: { id: 'p', address: '10.0.0.1:6379', info: p },
      replicas: [
        { id: 'r1', host: '172.31.5.10', port: 6379, address: '172.31.5.10:6379' },
        { id: 'r2', host: '172.31.6.10', port: 6379, address: '172.31.6.10:6379' },
      ],
      primaryOffsets: [
        { at: 1000, value: 99_990_000_000 },
        { at: 2000, value: 100_000_000_000 },
      ],
      at: 2000,
    })
    expect(m).toMatchObject({
      primaryOffset: 100_000_000_000,
      writeBytesPerSec: 10_000_000,
      fullSyncs: 1,
      partialSyncsOk: 3,
    })
    expect(m.backlog).toEqual({
      active: true,
      size: 104857600,
      firstByteOffset: 99895142401,
      histlen: 104857600,
    })
    const [r1, r2] = m.replicas
    expect(r1).toMatchObject({
      offset: 99_999_999_000,
      ackOffset: 99_999_999_000,
      lagBytes: 1000,
      link: 'up',
      state: 'online',
      up: false,
    })
    expect(r1.backlogHeadroomBytes).toBe(104857600 - 1000)
    expect(r1.backlogHeadroomSeconds).toBeCloseTo((104857600 - 1000) / 10_000_000, 6)
    // Interpolated in the primary history: 1,001,000 bytes behind at 10 MB/s.
    expect(r2).toMatchObject({ lagBytes: 1_001_000, ackAgeSeconds: 1, fullResyncRisk: false })
    expect(r2.lagSeconds).toBeCloseTo(0.1001, 6)
  })

  it("the replica's own report wins over the last ACK; lag 0 is 0 seconds", () => {
    const p = primary(
      'slave0:ip=127.0.0.1,port=7001,state=online,offset=900,lag=1\r\nmaster_repl_offset:1000\r\nrepl_backlog_active:1\r\nrepl_backlog_size:100\r\nrepl_backlog_first_byte_offset:901\r\n',
    )
    const r = replica(
      'master_link_status:up\r\nslave_repl_offset:1000\r\nmaster_repl_offset:1000\r\nmaster_sync_in_progress:0\r\n',
    )
    const m = shardReplication({
      shard: 2,
      primary: { id: 'p', address: '127.0.0.1:7000', info: p },
      replicas: [{ id: 'r', host: '127.0.0.1', port: 7001, address: '127.0.0.1:7001', info: r }],
      primaryOffsets: [{ at: 1, value: 1000 }],
      at: 2,
    })
    expect(m.replicas[0]).toMatchObject({
      up: true,
      offset: 1000,
      ackOffset: 900,
      lagBytes: 0,
      lagSeconds: 0,
      link: 'up',
      syncInProgress: false,
      backlogHeadroomBytes: 100,
    })
  })

  it('a replica behind the backlog start needs a full resync; a down link is down', () => {
    const p = primary(
      'slave0:ip=127.0.0.1,port=7001,state=online,offset=400,lag=30\r\nmaster_repl_offset:1000\r\nrepl_backlog_active:1\r\nrepl_backlog_size:500\r\nrepl_backlog_first_byte_offset:501\r\n',
    )
    const r = replica(
      'master_link_status:down\r\nmaster_link_down_since_seconds:12\r\nslave_repl_offset:400\r\n',
    )
    const m = shardReplication({
      shard: 0,
      primary: { id: 'p', address: 'p:1', info: p },
      replicas: [{ id: 'r', host: '127.0.0.1', port: 7001, address: '127.0.0.1:7001', info: r }],
      primaryOffsets: [],
      at: 0,
    })
    expect(m.replicas[0]).toMatchObject({
      lagBytes: 600,
      link: 'down',
      linkDownSinceSeconds: 12,
      backlogHeadroomBytes: -100,
      fullResyncRisk: true,
    })
    expect(m.replicas[0].lagSeconds).toBeUndefined()
  })

  it('a dead replica no longer listed by its primary keeps its last offset, so its lag keeps growing', () => {
    const p = primary(
      'master_repl_offset:5000\r\nrepl_backlog_active:1\r\nrepl_backlog_size:1048576\r\nrepl_backlog_first_byte_offset:1\r\n',
    )
    const m = shardReplication({
      shard: 0,
      primary: { id: 'p', address: 'p:1', info: p },
      replicas: [{ id: 'r', host: 'h', port: 2, address: 'h:2', lastKnownOffset: 3000 }],
      primaryOffsets: [
        { at: 1000, value: 3000 },
        { at: 2000, value: 4000 },
        { at: 3000, value: 5000 },
      ],
      at: 3000,
    })
    expect(m.replicas[0]).toMatchObject({
      up: false,
      link: 'down',
      offset: 3000,
      lagBytes: 2000,
      lagSeconds: 2,
    })
  })

  it('helpers', () => {
    const lines = [
      { ip: '10.0.0.5', port: 6379, state: 'online', offset: 1, lag: 0 },
      { ip: '10.0.0.6', port: 6380, state: 'online', offset: 2, lag: 0 },
    ]
    expect(matchReplicaLine(lines, '10.0.0.5', 6379)?.offset).toBe(1)
    // Announced by hostname, seen by ip: matched by a port only one line has.
    expect(matchReplicaLine(lines, 'replica-b.internal', 6380)?.offset).toBe(2)
    expect(
      matchReplicaLine(
        [...lines, { ip: '10.0.0.7', port: 6380, state: 'online', offset: 3, lag: 0 }],
        'x',
        6380,
      ),
    ).toBeUndefined()
    expect(lagSecondsFromHistory([], 5, 0)).toBeUndefined()
    expect(
      lagSecondsFromHistory(
        [
          { at: 0, value: 10 },
          { at: 4000, value: 20 },
        ],
        15,
        5000,
      ),
    ).toBe(3)
    // Behind everything the history holds: at least as old as its oldest sample.
    expect(
      lagSecondsFromHistory(
        [
          { at: 1000, value: 10 },
          { at: 2000, value: 20 },
        ],
        5,
        4000,
      ),
    ).toBe(3)
    expect(lagSecondsFromHistory([{ at: 1000, value: 10 }], 10, 4000)).toBe(0)
    expect(
      writeRate([
        { at: 0, value: 100 },
        { at: 2000, value: 50 },
      ]),
    ).toBeUndefined()
  })
})
