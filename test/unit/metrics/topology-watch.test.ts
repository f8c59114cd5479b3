import { describe, expect, it } from 'vitest'
import type { Topology } from '../../../src/connect/topology.js'
import { parseInfoSections } from '../../../src/redis/info.js'
import { toNodeInfo } from '../../../src/metrics/node-info.js'
import {
  clusterTopologyFromNodes,
  replicatedTopologyFromInfos,
  topologyEvents,
} from '../../../src/metrics/topology-watch.js'
import { fixture } from './fixtures.js'

const nodesText = fixture('metrics/cluster-nodes-7.0.txt')
const P0 = 'ef0b5fed8e9ae59fc276868b555af78b6c3f4a1f'
const R0 = '349edb89b5985cc615febe334eb00aa4ff14a9d3'
const P1 = '3ea63ee2a7f812aa59f9957a506182b4ebe661b3'
const empty: Topology = { mode: 'cluster', nodes: [], shards: [] }

describe('cluster topology from CLUSTER NODES', () => {
  it('shards, roles and slots of the captured 2x1 cluster', () => {
    const t = clusterTopologyFromNodes(nodesText, { host: '127.0.0.1' }, empty, 'ok')
    expect(t.mode).toBe('cluster')
    expect(t.slotsCovered).toBe(16384)
    expect(t.nodes.map((n) => [n.port, n.role, n.shard])).toEqual([
      [26728, 'primary', 0],
      [26729, 'replica', 0],
      [26730, 'primary', 1],
      [26731, 'replica', 1],
    ])
    expect(t.shards.map((s) => [s.primaryId, s.slots])).toEqual([
      [P0, [[0, 8191]]],
      [P1, [[8192, 16383]]],
    ])
  })

  it('known nodes keep the address kvtop reaches them by', () => {
    const known = clusterTopologyFromNodes(nodesText, { host: '127.0.0.1' }, empty, 'ok')
    known.nodes[0] = { ...known.nodes[0], host: 'node-a.example', address: 'node-a.example:26728' }
    const again = clusterTopologyFromNodes(nodesText, { host: '127.0.0.1' }, known, 'ok')
    expect(again.nodes.find((n) => n.id === P0)?.address).toBe('node-a.example:26728')
  })

  it('CLUSTER FAILOVER (replica promoted, old primary demoted) is one failover event and two role changes', () => {
    const before = clusterTopologyFromNodes(nodesText, { host: '127.0.0.1' }, empty, 'ok')
    const swapped = nodesText
      .replace(
        `${P0} 127.0.0.1:26728@36728 myself,master - 0 1795330555000 0 connected 0-8191`,
        `${P0} 127.0.0.1:26728@36728 myself,slave ${R0} 0 1795330555000 4 connected`,
      )
      .replace(
        `${R0} 127.0.0.1:26729@36729 slave ${P0} 0 1795330556159 0 connected`,
        `${R0} 127.0.0.1:26729@36729 master - 0 1795330556159 4 connected 0-8191`,
      )
    const after = clusterTopologyFromNodes(swapped, { host: '127.0.0.1' }, before, 'ok')
    expect(after.shards[0].primaryId).toBe(R0)
    const events = topologyEvents(before, after, 42)
    const failovers = events.filter((e) => e.type === 'failover')
    expect(failovers).toEqual([
      expect.objectContaining({
        type: 'failover',
        at: 42,
        shard: 0,
        from: P0,
        to: R0,
        fromAddress: '127.0.0.1:26728',
        toAddress: '127.0.0.1:26729',
      }),
    ])
    expect(events.filter((e) => e.type === 'role-change').map((e) => [e.node, e.to])).toEqual([
      [R0, 'primary'],
      [P0, 'replica'],
    ])
    expect(topologyEvents(after, after, 43)).toEqual([])
  })

  it('slots moved, nodes added and removed', () => {
    const before = clusterTopologyFromNodes(nodesText, { host: '127.0.0.1' }, empty, 'ok')
    const moved = nodesText
      .replace('connected 0-8191', 'connected 0-8000')
      .replace('connected 8192-16383', 'connected 8001-16383')
    const extra = `${'c'.repeat(40)} 127.0.0.1:26732@36732 slave ${P1} 0 1 3 connected\n`
    const after = clusterTopologyFromNodes(moved + extra, { host: '127.0.0.1' }, before, 'ok')
    const types = topologyEvents(before, after, 1).map((e) => `${e.type}:${e.address}`)
    expect(types.sort()).toEqual([
      'node-added:127.0.0.1:26732',
      'slots-moved:127.0.0.1:26728',
      'slots-moved:127.0.0.1:26730',
    ])
    const removed = topologyEvents(after, before, 2).filter((e) => e.type === 'node-removed')
    expect(removed.map((e) => e.address)).toEqual(['127.0.0.1:26732'])
  })
})

const info = (text: string) => toNodeInfo(parseInfoSections(text))

describe('replicated topology from INFO', () => {
  const known: Topology = {
    mode: 'replicated',
    nodes: [
      {
        id: '10.0.0.1:6379',
        host: '10.0.0.1',
        port: 6379,
        address: '10.0.0.1:6379',
        role: 'primary',
        shard: 0,
        slots: [],
        up: true,
        health: 'online',
      },
      {
        id: '10.0.0.2:6379',
        host: '10.0.0.2',
        port: 6379,
        address: '10.0.0.2:6379',
        role: 'replica',
        shard: 0,
        primaryId: '10.0.0.1:6379',
        slots: [],
        up: true,
        health: 'online',
      },
      {
        id: '10.0.0.3:6379',
        host: '10.0.0.3',
        port: 6379,
        address: '10.0.0.3:6379',
        role: 'replica',
        shard: 0,
        primaryId: '10.0.0.1:6379',
        slots: [],
        up: true,
        health: 'online',
      },
    ],
    shards: [
      {
        index: 0,
        primaryId: '10.0.0.1:6379',
        slots: [],
        nodeIds: ['10.0.0.1:6379', '10.0.0.2:6379', '10.0.0.3:6379'],
      },
    ],
  }

  it('a dead replica stays listed, down', () => {
    const infos = new Map([
      [
        '10.0.0.1:6379',
        info('# Replication\nrole:master\nslave0:ip=10.0.0.2,port=6379,state=online,offset=1,lag=0\n'),
      ],
      ['10.0.0.2:6379', info('# Replication\nrole:slave\nmaster_host:10.0.0.1\nmaster_port:6379\n')],
    ])
    const t = replicatedTopologyFromInfos(known, infos, new Set(infos.keys()))
    expect(t.nodes.map((n) => [n.address, n.role, n.up])).toEqual([
      ['10.0.0.1:6379', 'primary', true],
      ['10.0.0.2:6379', 'replica', true],
      ['10.0.0.3:6379', 'replica', false],
    ])
    expect(topologyEvents(known, t, 1)).toEqual([])
  })

  it('a promoted replica (sentinel failover) becomes the primary: one failover event', () => {
    const infos = new Map([
      [
        '10.0.0.2:6379',
        info('# Replication\nrole:master\nslave0:ip=10.0.0.3,port=6379,state=online,offset=1,lag=0\n'),
      ],
      ['10.0.0.3:6379', info('# Replication\nrole:slave\nmaster_host:10.0.0.2\nmaster_port:6379\n')],
    ])
    const t = replicatedTopologyFromInfos(known, infos, new Set(infos.keys()))
    expect(t.shards[0].primaryId).toBe('10.0.0.2:6379')
    expect(t.nodes.map((n) => [n.address, n.role, n.up])).toEqual([
      ['10.0.0.2:6379', 'primary', true],
      ['10.0.0.1:6379', 'replica', false],
      ['10.0.0.3:6379', 'replica', true],
    ])
    const events = topologyEvents(known, t, 5)
    expect(events.filter((e) => e.type === 'failover')).toEqual([
      expect.objectContaining({ from: '10.0.0.1:6379', to: '10.0.0.2:6379', shard: 0 }),
    ])
  })

  it('a replica added to the primary shows up', () => {
    const infos = new Map([
      [
        '10.0.0.1:6379',
        info(
          '# Replication\nrole:master\nslave0:ip=10.0.0.2,port=6379,state=online,offset=1,lag=0\nslave1:ip=10.0.0.9,port=6379,state=online,offset=1,lag=0\n',
        ),
      ],
    ])
    const t = replicatedTopologyFromInfos(known, infos, new Set(infos.keys()))
    expect(t.nodes.map((n) => n.address)).toContain('10.0.0.9:6379')
    expect(topologyEvents(known, t, 1).map((e) => e.type)).toEqual(['node-added'])
  })
})
