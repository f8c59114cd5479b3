/** What must hold before a cluster's shape changes, and the cluster as a plan starts from it. */
import type { Topology, TopologyNode } from '../../connect/topology.js'
import { KvtopError, UsageError } from '../../errors.js'
import type { ClusterAdmin } from './admin.js'
import { SLOT_COUNT } from './planner.js'
import type { ScaleContext } from './types.js'

/** Slots importing or migrating on any primary, from each primary's own view. */
async function openSlotsOf(admin: ClusterAdmin, topology: Topology): Promise<number[]> {
  const open = new Set<number>()
  for (const p of topology.nodes.filter((n) => n.role === 'primary' && n.health !== 'failed')) {
    const me = (await admin.nodesView(p)).find((r) => r.myself)
    for (const i of me?.importing ?? []) open.add(i.slot)
    for (const m of me?.migrating ?? []) open.add(m.slot)
  }
  return [...open].sort((a, b) => a - b)
}

/** The cluster must be healthy, settled and fully covered before its shape changes. */
async function preflight(admin: ClusterAdmin): Promise<Topology> {
  let topology: Topology
  try {
    topology = await admin.waitConsistent(15_000)
  } catch (err) {
    if (err instanceof KvtopError && err.exitCode === 3) throw err
    throw new UsageError('the cluster nodes do not agree on who owns which slots', {
      code: 'not-settled',
      hint: 'Wait for the cluster to settle (kvtop discover), or run `kvtop scale --fix` after an interrupted move.',
    })
  }
  const failed = topology.nodes.filter((n) => n.role === 'primary' && n.health === 'failed' && n.slots.length)
  if (failed.length)
    throw new UsageError(`primary ${failed.map((f) => f.address).join(', ')} is failed`, {
      hint: 'Let the cluster fail over (or bring the node back) before changing its shape.',
    })
  const open = await openSlotsOf(admin, topology)
  if (open.length)
    throw new UsageError(`${open.length} slot(s) are open (importing/migrating) from an interrupted move`, {
      code: 'open-slots',
      hint: 'Settle them first with `kvtop scale --fix` (same URL), then run the scale again.',
    })
  if ((topology.slotsCovered ?? 0) < SLOT_COUNT)
    throw new UsageError(`${SLOT_COUNT - (topology.slotsCovered ?? 0)} slot(s) have no owner`, {
      code: 'uncovered',
      hint: 'Run `kvtop scale --fix` to assign them.',
    })
  return topology
}

/** The cluster as the plan starts from it: after preflight(), with each primary's key count. */
export interface ClusterView {
  topology: Topology
  primaries: TopologyNode[]
  replicasOf(id: string): TopologyNode[]
  keys: Map<string, number>
  seedNode?: TopologyNode
}

export async function readCluster(ctx: ScaleContext): Promise<ClusterView> {
  const topology = await preflight(ctx.admin)
  const primaries = topology.nodes.filter((n) => n.role === 'primary' && n.health !== 'failed')
  const replicasOf = (id: string) => topology.nodes.filter((n) => n.role === 'replica' && n.primaryId === id)
  const keys = new Map<string, number>()
  for (const p of primaries) keys.set(p.id, Number(await ctx.admin.call(p, ['DBSIZE'])))
  const seedNode = topology.nodes.find((n) => n.host === ctx.seed.host && n.port === ctx.seed.port)
  return { topology, primaries, replicasOf, keys, seedNode }
}
