/** Nodes named on the command line (--remove-shard, --weights): by host:port, node id or id prefix. */
import type { Topology, TopologyNode } from '../../connect/topology.js'
import { UsageError } from '../../errors.js'

/** Resolve a node named by id, unique id prefix (6+ characters) or host:port. */
export function resolveNode(topology: Topology, text: string, flag: string): TopologyNode {
  const t = text.trim()
  const byAddress = topology.nodes.filter((n) => n.address === t || `${n.host}:${n.port}` === t)
  if (byAddress.length === 1) return byAddress[0]
  const byId = topology.nodes.filter((n) => n.id === t || (t.length >= 6 && n.id.startsWith(t)))
  if (byId.length === 1) return byId[0]
  if (byId.length > 1)
    throw new UsageError(`${flag} '${t}' matches ${byId.length} nodes: give more of the id`)
  throw new UsageError(`${flag} '${t}' names no node of this cluster`, {
    hint: 'Name a node by host:port or by its node id (see `kvtop discover`).',
  })
}

export function parseWeights(topology: Topology, values: readonly string[]): Map<string, number> {
  const weights = new Map<string, number>()
  for (const v of values) {
    const eq = v.lastIndexOf('=')
    const w = Number(v.slice(eq + 1))
    if (eq <= 0 || !Number.isFinite(w) || w < 0)
      throw new UsageError(`invalid --weights '${v}': expected NODE=WEIGHT with WEIGHT >= 0`)
    const node = resolveNode(topology, v.slice(0, eq), '--weights')
    if (node.role !== 'primary')
      throw new UsageError(`--weights '${v}': ${node.address} is a replica; weights apply to primaries`)
    weights.set(node.id, w)
  }
  return weights
}
