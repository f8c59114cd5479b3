import { describe, expect, it } from 'vitest'
import { parseClusterNodes } from '../../../../src/connect/cluster-parsers.js'
import { unjoinedReasons, type JoiningNode } from '../../../../src/ops/scale/nodes.js'

const A = 'a'.repeat(40)
const B = 'b'.repeat(40)
const N = 'e'.repeat(40)
const H = 'f'.repeat(40)

const view = (address: string, text: string) => ({ address, records: parseClusterNodes(text) })

const joining: JoiningNode = {
  id: N,
  host: '127.0.0.1',
  port: 7005,
  address: '127.0.0.1:7005',
  busPort: 12345,
}

describe('unjoinedReasons: which new node has not joined, and why', () => {
  const members = [
    view(
      '127.0.0.1:7000',
      `${A} 127.0.0.1:7000@21000 myself,master - 0 0 1 connected 0-8191\n${B} 127.0.0.1:7001@21001 master - 0 0 2 connected 8192-16383`,
    ),
    view(
      '127.0.0.1:7001',
      `${B} 127.0.0.1:7001@21001 myself,master - 0 0 2 connected 8192-16383\n${A} 127.0.0.1:7000@21000 master - 0 0 1 connected 0-8191`,
    ),
  ]

  it('nothing when every node knows the new one and it knows them', () => {
    const joined = [
      view(
        '127.0.0.1:7000',
        `${A} 127.0.0.1:7000@21000 myself,master - 0 0 1 connected 0-8191\n${B} 127.0.0.1:7001@21001 master - 0 0 2 connected 8192-16383\n${N} 127.0.0.1:7005@12345 master - 0 0 3 connected`,
      ),
      view(
        '127.0.0.1:7001',
        `${B} 127.0.0.1:7001@21001 myself,master - 0 0 2 connected 8192-16383\n${A} 127.0.0.1:7000@21000 master - 0 0 1 connected 0-8191\n${N} 127.0.0.1:7005@12345 master - 0 0 3 connected`,
      ),
      view(
        '127.0.0.1:7005',
        `${N} 127.0.0.1:7005@12345 myself,master - 0 0 3 connected\n${A} 127.0.0.1:7000@21000 master - 0 0 1 connected 0-8191\n${B} 127.0.0.1:7001@21001 master - 0 0 2 connected 8192-16383`,
      ),
    ]
    expect(unjoinedReasons([joining], joined)).toEqual([])
  })

  it('a seed stuck in handshake on port + 10000 while the node announces another bus port', () => {
    const seed = view(
      '127.0.0.1:7000',
      `${A} 127.0.0.1:7000@21000 myself,master - 0 0 1 connected 0-8191\n${B} 127.0.0.1:7001@21001 master - 0 0 2 connected 8192-16383\n${H} 127.0.0.1:7005@17005 handshake - 0 0 0 disconnected`,
    )
    const own = view('127.0.0.1:7005', `${N} :7005@12345 myself,master - 0 0 0 connected`)
    const [reason, ...rest] = unjoinedReasons([joining], [seed, members[1], own])
    expect(rest).toEqual([])
    expect(reason).toContain('127.0.0.1:7005 (cluster bus port 12345) has not joined')
    expect(reason).toContain(
      '127.0.0.1:7000 is still in handshake with it, dialing bus port 17005 but it announces bus port 12345',
    )
    expect(reason).toContain('it has heard from no node of the cluster')
  })

  it('a node nobody heard back from (handshake given up): unknown to the members, alone', () => {
    const own = view('127.0.0.1:7005', `${N} :7005@12345 myself,master - 0 0 0 connected`)
    const [reason] = unjoinedReasons([joining], [...members, own])
    expect(reason).toBe(
      '127.0.0.1:7005 (cluster bus port 12345) has not joined: unknown to 127.0.0.1:7000, 127.0.0.1:7001: no node completed a handshake with its cluster bus at 127.0.0.1:12345; it has heard from no node of the cluster',
    )
  })

  it('known to some nodes only, with a link down, or not answering', () => {
    const seed = view(
      '127.0.0.1:7000',
      `${A} 127.0.0.1:7000@21000 myself,master - 0 0 1 connected 0-8191\n${B} 127.0.0.1:7001@21001 master - 0 0 2 connected 8192-16383\n${N} 127.0.0.1:7005@12345 master - 0 0 3 disconnected`,
    )
    const own = view(
      '127.0.0.1:7005',
      `${N} 127.0.0.1:7005@12345 myself,master - 0 0 3 connected\n${A} 127.0.0.1:7000@21000 master - 0 0 1 connected 0-8191`,
    )
    expect(unjoinedReasons([joining], [seed, members[1], own])).toEqual([
      '127.0.0.1:7005 (cluster bus port 12345) has not joined: unknown to 127.0.0.1:7001; the bus link from 127.0.0.1:7000 to it is down; it does not know 127.0.0.1:7001',
    ])
    expect(unjoinedReasons([{ ...joining, busPort: undefined }], members)[0]).toBe(
      '127.0.0.1:7005 (cluster bus port 17005) has not joined: unknown to 127.0.0.1:7000, 127.0.0.1:7001: no node completed a handshake with its cluster bus at 127.0.0.1:17005; it did not answer CLUSTER NODES',
    )
  })
})
