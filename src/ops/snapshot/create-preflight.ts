import { findOpenSlots } from '../../connect/open-slots.js'
import type { ConnectedTarget } from '../../connect/target.js'
import type { TopologyNode } from '../../connect/topology.js'
import type { NodePool } from '../../wire/node-pool.js'
import { SLOTS } from '../../wire/routed-pipeline.js'
import { OperationError } from '../../errors.js'
import { keyspace } from '../../redis/info.js'
import { nodeText } from './create-calls.js'

export interface Source {
  node: TopologyNode
  db: number
  /** Keys at the start (INFO keyspace), for ETA. */
  keys: number
  expires: number
}

/** What a snapshot reads: decided, and every refusal made, before any file is written. */
export interface CreatePlan {
  /** The primaries read (up, and serving slots on a cluster). */
  primaries: TopologyNode[]
  sources: Source[]
  /** The dbs holding keys, ascending. */
  dbs: number[]
  /** Commands the endpoint refuses for this user. */
  refused: Set<string>
}

/**
 * Every check that may refuse a snapshot: a reachable primary, every slot served, the commands the
 * strategy needs, no slot being migrated; then the sources (node and db) and their sizes.
 */
export async function preflightCreate(
  deployment: ConnectedTarget,
  nodes: NodePool,
  /** The strategy's refusal of an endpoint that refuses a command it needs (CreateStrategy.checkAllowed). */
  checkAllowed: (refused: Set<string>, provider: string | undefined) => void,
  warn: (message: string) => void,
): Promise<CreatePlan> {
  const caps = deployment.capabilities
  const topology = deployment.topology
  const cluster = topology.mode === 'cluster'
  const primaries = deployment.primaries.filter((n) => n.up && (!cluster || n.slots.length > 0))
  if (primaries.length === 0)
    throw new OperationError('no reachable primary to snapshot', { resumable: true })
  if (cluster && topology.slotsCovered !== undefined && topology.slotsCovered < SLOTS) {
    throw new OperationError(
      `only ${topology.slotsCovered} of ${SLOTS} slots are served: the snapshot would be incomplete`,
      {
        resumable: true,
        hint: 'Run it again when the cluster is healthy (kvtop discover shows the slot coverage).',
      },
    )
  }
  const refused = new Set(caps?.refused ?? [])
  checkAllowed(refused, caps?.provider)
  // Migrating slots: a key could be read twice or missed. Refuse rather than write such a file.
  const moving = await findOpenSlots(topology, (node) => nodeText(nodes, node, ['CLUSTER', 'NODES']))
  if (moving.length) {
    throw new OperationError(
      `slots are being migrated (${moving
        .slice(0, 5)
        .map((m) => m.text)
        .join(
          '; ',
        )}${moving.length > 5 ? `; and ${moving.length - 5} more` : ''}): a snapshot now could miss keys`,
      {
        resumable: true,
        hint: 'Run it again when the resharding has finished.',
      },
    )
  }

  const sources = await listSources(nodes, primaries, cluster)
  const dbs = [...new Set(sources.map((s) => s.db))].sort((a, b) => a - b)
  if (!cluster && dbs.some((db) => db !== 0)) {
    warn(
      `the snapshot holds databases ${dbs.join(', ')}: MemoryDB (and any cluster) accepts only db 0; map them with snapshot restore --db-map`,
    )
  }
  return { primaries, sources, dbs, refused }
}

async function listSources(nodes: NodePool, primaries: TopologyNode[], cluster: boolean): Promise<Source[]> {
  const sources: Source[] = []
  for (const node of primaries) {
    const dbs = keyspace(await nodeText(nodes, node, ['INFO', 'keyspace']))
    if (cluster) {
      const db0 = dbs.get(0)
      sources.push({ node, db: 0, keys: db0?.keys ?? 0, expires: db0?.expires ?? 0 })
    } else {
      if (dbs.size === 0) sources.push({ node, db: 0, keys: 0, expires: 0 })
      for (const [db, { keys, expires }] of dbs) sources.push({ node, db, keys, expires })
    }
  }
  return sources
}
