import type { Deployment } from '../../connect/deployment.js'
import type { TopologyNode } from '../../connect/topology.js'
import { UsageError } from '../../errors.js'
import { keyspace, parseInfo } from '../../redis/info.js'
import { slotsKey, type IdentityNow } from './checkpoint.js'
import type { ShardIdentity } from './types.js'

/** Keys per db on one node (INFO keyspace). */
export async function keyspaceOf(d: Deployment, node: TopologyNode): Promise<Record<number, number>> {
  return keysPerDb(await d.info(node, 'keyspace'))
}

/** Keys per db in INFO text that holds the keyspace section. */
function keysPerDb(infoText: string): Record<number, number> {
  return Object.fromEntries([...keyspace(infoText)].map(([db, k]) => [db, k.keys]))
}

/** A source shard as it is now: its checkpoint key, its primary, and which process that is. */
export interface Shard {
  key: string
  node: TopologyNode
  identity: ShardIdentity
  replid2: string
  /** Keys per db, from the same INFO. */
  keyspace: Record<number, number>
}

/**
 * Every shard of a deployment (a cluster's primaries that serve slots; the one primary otherwise),
 * each read with one INFO (its default sections hold the ids and the keyspace), side by side.
 */
export async function readShards(d: Deployment): Promise<Shard[]> {
  const cluster = d.topology.mode === 'cluster'
  const nodes = d.primaries.filter((node) => !cluster || node.slots.length)
  return Promise.all(
    nodes.map(async (node) => {
      const text = await d.info(node)
      const info = parseInfo(text)
      return {
        key: cluster ? slotsKey(node.slots) : node.address,
        node,
        identity: { address: node.address, runId: info.run_id ?? '', replid: info.master_replid ?? '' },
        replid2: info.master_replid2 ?? '',
        keyspace: keysPerDb(text),
      }
    }),
  )
}

/**
 * The first replica a primary ever serves (kvtop's SYNC included) gives it a new replication id:
 * the same server process, the same data. Read a shard's id again after a SYNC, so that the change
 * is not taken for a restart or a failover; another run_id (a restart meanwhile) is left to be seen.
 */
export async function rereadReplid(d: Deployment, shard: Shard): Promise<void> {
  const info = parseInfo(await d.info(shard.node))
  if (info.run_id === shard.identity.runId) shard.identity.replid = info.master_replid ?? ''
}

/** What identifies the deployment across runs (node ids of a cluster; the primary's replication ids otherwise). */
export async function identityOf(d: Deployment, shards?: Shard[]): Promise<IdentityNow> {
  const mode = d.topology.mode
  const primaries = d.primaries.map((n) => n.address).sort()
  if (mode === 'cluster') return { mode, primaries, nodeIds: d.topology.nodes.map((n) => n.id).sort() }
  const [shard] = shards ?? (await readShards(d))
  return { mode, primaries, replid: shard?.identity.replid ?? '', replid2: shard?.replid2 ?? '' }
}

/** Slots being moved (read from every primary's own line): a phrase each, and the addresses involved. */
export async function openSlots(d: Deployment): Promise<{ text: string[]; addresses: Set<string> }> {
  const open = await d.openSlots()
  return { text: open.map((o) => o.text), addresses: new Set(open.flatMap((o) => [o.node, o.peer])) }
}

/** Refused (exit 2) while slots of this side are being moved: a copy now could miss keys. */
export async function refuseOpenSlots(d: Deployment, side: 'source' | 'target'): Promise<void> {
  const open = await openSlots(d)
  if (!open.text.length) return
  throw new UsageError(
    `the ${side} cluster has slots being moved: ${open.text.slice(0, 5).join('; ')}${open.text.length > 5 ? `; and ${open.text.length - 5} more` : ''}`,
    {
      code: 'slots-moving',
      hint: `A resharding is under way or was left half done: the keys of a moving slot are on either node, so a copy now could miss some. Let it finish (or settle it: redis-cli --cluster fix, or CLUSTER SETSLOT <slot> STABLE on both nodes), then run the same command again.`,
    },
  )
}
