import net from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Deployment } from '../../../src/connect/deployment.js'
import { openDataClient } from '../../../src/connect/data-client.js'
import { parseNatMap } from '../../../src/connect/nat-map.js'
import { startSandbox, type TestSandbox } from '../../helpers/sandbox.js'

/** A TCP forwarder that counts connections: stands in for a NAT between kvtop and the nodes. */
async function forwarder(
  targetPort: number,
): Promise<{ port: number; connections: () => number; close: () => void }> {
  let connections = 0
  const sockets = new Set<net.Socket>()
  const server = net.createServer((client) => {
    connections++
    const upstream = net.connect(targetPort, '127.0.0.1')
    sockets.add(client).add(upstream)
    client.pipe(upstream).pipe(client)
    const end = () => {
      client.destroy()
      upstream.destroy()
    }
    client.on('error', end).on('close', end)
    upstream.on('error', end).on('close', end)
  })
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', () => res()))
  return {
    port: (server.address() as net.AddressInfo).port,
    connections: () => connections,
    close: () => {
      for (const s of sockets) s.destroy()
      server.close()
    },
  }
}

describe('NAT map', () => {
  let sb: TestSandbox
  const proxies: Awaited<ReturnType<typeof forwarder>>[] = []
  beforeAll(async () => {
    sb = await startSandbox({ shards: 2, replicas: 0 })
    for (const node of sb.summary.nodes) proxies.push(await forwarder(node.port))
  })
  afterAll(async () => {
    for (const p of proxies) p.close()
    await sb?.down()
  })

  it('reaches every announced node through its mapped address, for discovery, per-node and key-routed traffic', async () => {
    const natMap = sb.summary.nodes.map((n, i) => `127.0.0.1:${n.port}=127.0.0.1:${proxies[i].port}`)
    const deployment = await Deployment.connectSpec({
      ...sb.spec,
      endpoint: { ...sb.spec.endpoint, port: proxies[0].port },
      natMap: parseNatMap(natMap),
    })
    try {
      // The topology keeps the addresses the cluster announces...
      expect(deployment.topology.nodes.map((n) => n.port).sort()).toEqual(
        sb.summary.nodes.map((n) => n.port).sort(),
      )
      // ...while connections go through the map.
      for (const node of deployment.topology.nodes) {
        expect(await (await deployment.client(node)).ping()).toBe('PONG')
        expect(await deployment.command(node, ['PING'])).toBe('PONG')
      }
      const client = await openDataClient(deployment)
      try {
        for (let i = 0; i < 50; i++) await client.set(`nat:${i}`, String(i))
        expect(await client.get('nat:37')).toBe('37')
      } finally {
        client.disconnect()
      }
      expect(proxies.every((p) => p.connections() > 0)).toBe(true)
    } finally {
      await deployment.close()
    }
  })

  it('uses announced hostnames when the cluster prefers them', async () => {
    for (const node of sb.summary.nodes) {
      const admin = await sb.admin(node.port)
      await admin.config('SET', 'cluster-announce-hostname', 'localhost')
      await admin.config('SET', 'cluster-preferred-endpoint-type', 'hostname')
    }
    // Hostnames travel over the cluster bus: wait until the seed has heard them.
    const deadline = Date.now() + 10_000
    let hosts: string[] = []
    while (Date.now() < deadline) {
      const deployment = await Deployment.connectSpec(sb.spec)
      hosts = deployment.topology.nodes.map((n) => n.host)
      const named = deployment.topology.nodes.every((n) => n.hostname === 'localhost')
      if (named && hosts.every((h) => h === 'localhost')) {
        for (const node of deployment.topology.nodes)
          expect(await (await deployment.client(node)).ping()).toBe('PONG')
        await deployment.close()
        return
      }
      await deployment.close()
      await new Promise((r) => setTimeout(r, 200))
    }
    expect(hosts).toEqual(sb.summary.nodes.map(() => 'localhost'))
  })
})
