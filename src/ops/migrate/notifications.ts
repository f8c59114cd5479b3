import type { Redis } from 'ioredis'
import { closeQuietly, openNode, type ConnectionSpec } from '../../connect/client.js'
import type { TopologyNode } from '../../connect/topology.js'
import { keySlot } from '../../wire/routed-pipeline.js'

/** A key whose slot the node serves (a cluster routes writes by slot), named as kvtop's own. */
export function probeKeyFor(node: TopologyNode, cluster: boolean): string {
  for (let i = 0; ; i++) {
    const key = `__kvtop_probe__:{${i}}:${process.pid}`
    if (!cluster) return key
    const slot = keySlot(Buffer.from(key))
    if (node.slots.some(([a, b]) => slot >= a && slot <= b)) return key
  }
}

/**
 * Do keyspace notifications reach kvtop from this node? Subscribe to the probe key's keyspace
 * channel, write it (SET with a short expiry), and wait for the event. Never CONFIG GET: managed
 * services refuse it, and the setting may also differ per node.
 */
export async function notificationsReach(
  spec: ConnectionSpec,
  node: TopologyNode,
  db: number,
  cluster: boolean,
  timeoutMs = 1500,
): Promise<boolean> {
  const key = probeKeyFor(node, cluster)
  const sub = await openNode(spec, node, { name: 'kvtop-migrate-probe' })
  const writer = await openNode(spec, node, { db, name: 'kvtop-migrate-probe' })
  try {
    const heard = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs)
      sub.on('message', () => {
        clearTimeout(timer)
        resolve(true)
      })
    })
    await sub.subscribe(`__keyspace@${db}__:${key}`)
    await writer.set(key, '1', 'PX', 2000)
    const ok = await heard
    await writer.del(key).catch(() => {})
    return ok
  } finally {
    await Promise.all([closeQuietly(sub), closeQuietly(writer)])
  }
}

export interface ChangeFeed {
  /** Resolves once every change the node made before the call has been handed to `onKey`. */
  barrier(): Promise<void>
  close(): Promise<void>
}

/**
 * Follow every keyspace event of a node's db: the changed key's bytes go to `onKey`. Subscribed
 * before the bulk scan starts, so no change between the scan and the end goes unseen.
 */
export async function followChanges(
  spec: ConnectionSpec,
  node: TopologyNode,
  db: number,
  onKey: (key: Buffer) => void,
  onLost: (err: Error) => void,
): Promise<ChangeFeed> {
  const sub: Redis = await openNode(spec, node, { name: 'kvtop-migrate-live' })
  const prefix = Buffer.from(`__keyspace@${db}__:`)
  sub.on('pmessageBuffer', (_pattern: Buffer, channel: Buffer) => {
    if (channel.subarray(0, prefix.length).equals(prefix)) onKey(Buffer.from(channel.subarray(prefix.length)))
  })
  sub.on('close', () =>
    onLost(new Error(`the keyspace notifications of ${node.address} stopped (connection closed)`)),
  )
  await sub.psubscribe(`__keyspace@${db}__:*`)
  return {
    // A PING's reply comes after every message the server pushed before it: a barrier.
    barrier: async () => {
      await sub.ping()
    },
    close: async () => {
      sub.removeAllListeners('close')
      await closeQuietly(sub)
    },
  }
}
