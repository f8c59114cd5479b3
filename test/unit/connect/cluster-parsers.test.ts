import { describe, expect, it } from 'vitest'
import { parseClusterNodes, parseNodeAddress } from '../../../src/connect/cluster-parsers.js'

const A = 'a'.repeat(40)

describe('parseNodeAddress: the cluster bus port', () => {
  it('reads ip:port@cport, with a hostname and for IPv6', () => {
    expect(parseNodeAddress('10.0.0.1:7000@12345')).toEqual({ ip: '10.0.0.1', port: 7000, busPort: 12345 })
    expect(parseNodeAddress('10.0.0.1:7000@17000,node-a')).toEqual({
      ip: '10.0.0.1',
      port: 7000,
      busPort: 17000,
      hostname: 'node-a',
    })
    expect(parseNodeAddress('[::1]:7000@9000')).toEqual({ ip: '::1', port: 7000, busPort: 9000 })
    // A fresh node does not know its own ip yet; a node without an address has bus port 0.
    expect(parseNodeAddress(':7000@21999')).toEqual({ ip: '', port: 7000, busPort: 21999 })
    expect(parseNodeAddress(':0@0')).toEqual({ ip: '', port: 0 })
    // Before Redis 4 there was no @cport.
    expect(parseNodeAddress('10.0.0.1:7000')).toEqual({ ip: '10.0.0.1', port: 7000 })
  })

  it('CLUSTER NODES records carry it', () => {
    const [r] = parseClusterNodes(`${A} 127.0.0.1:7000@21999 myself,master - 0 0 1 connected 0-100`)
    expect(r.busPort).toBe(21999)
  })
})
