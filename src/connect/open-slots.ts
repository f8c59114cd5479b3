import { parseClusterNodes } from './cluster-parsers.js'
import type { Topology, TopologyNode } from './topology.js'

/** A slot being moved, as the node it is moved from (migrating) or to (importing) shows it. */
export interface OpenSlot {
  slot: number
  node: string
  state: 'migrating' | 'importing'
  peer: string
  text: string
}

/**
 * Slots being moved (MIGRATING / IMPORTING) on a cluster. Each primary shows its own markers only
 * in its `myself` line of CLUSTER NODES, so every primary is read (`clusterNodes`: that node's
 * CLUSTER NODES text, over whichever connection the caller has); the seed's view alone misses
 * moves between two other nodes. Each with a phrase naming the slot and both nodes.
 */
export async function findOpenSlots(
  topology: Topology,
  clusterNodes: (node: TopologyNode) => Promise<string>,
): Promise<OpenSlot[]> {
  if (topology.mode !== 'cluster') return []
  const addressOf = (id: string) => topology.nodes.find((n) => n.id === id)?.address ?? `node ${id}`
  const out: OpenSlot[] = []
  for (const node of topology.nodes.filter((n) => n.role === 'primary')) {
    const me = parseClusterNodes(await clusterNodes(node)).find((r) => r.myself)
    for (const m of me?.migrating ?? []) {
      const peer = addressOf(m.to)
      out.push({
        slot: m.slot,
        node: node.address,
        state: 'migrating',
        peer,
        text: `slot ${m.slot} migrating from ${node.address} to ${peer}`,
      })
    }
    for (const i of me?.importing ?? []) {
      const peer = addressOf(i.from)
      out.push({
        slot: i.slot,
        node: node.address,
        state: 'importing',
        peer,
        text: `slot ${i.slot} importing into ${node.address} from ${peer}`,
      })
    }
  }
  return out
}
