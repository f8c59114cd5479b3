import { describe, expect, it, vi } from 'vitest'
import { matchNodes } from '../../../src/aws/cloudwatch-monitor.js'
import type { TopologyNode } from '../../../src/connect/topology.js'

describe('CloudWatch nodes to topology nodes', () => {
  const topo = (id: string, host: string, port: number, hostname?: string): TopologyNode => ({
    id,
    host,
    port,
    address: `${host}:${port}`,
    role: 'primary',
    shard: 0,
    slots: [],
    up: true,
    health: 'online',
    ...(hostname ? { hostname } : {}),
  })
  const cw = [
    {
      id: 'orders-0001-001',
      service: 'elasticache' as const,
      dimensions: {},
      address: 'orders-0001-001.orders.abc.use1.cache.amazonaws.com:6379',
    },
    {
      id: 'orders-0001-002',
      service: 'elasticache' as const,
      dimensions: {},
      address: 'orders-0001-002.orders.abc.use1.cache.amazonaws.com:6379',
    },
    { id: 'orders-0002-001', service: 'elasticache' as const, dimensions: {} },
  ]

  it('by address, by announced hostname label, and by resolving AWS endpoints for IP-only nodes', async () => {
    const resolve = vi.fn(async (host: string) =>
      host.startsWith('orders-0001-002.') ? ['10.0.0.12'] : ['10.0.0.11'],
    )
    const m = await matchNodes(
      [
        topo('a', 'orders-0001-001.orders.abc.use1.cache.amazonaws.com', 6379),
        topo('b', '10.0.0.12', 6379),
        topo('c', '10.0.0.13', 6379, 'orders-0002-001.orders.abc.use1.cache.amazonaws.com'),
        topo('d', '10.0.0.99', 6379),
      ],
      cw,
      resolve,
    )
    expect(Object.fromEntries([...m].map(([k, v]) => [k, v.id]))).toEqual({
      a: 'orders-0001-001',
      b: 'orders-0001-002',
      c: 'orders-0002-001',
    })
  })
})
