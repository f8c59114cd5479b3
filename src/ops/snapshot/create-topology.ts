import { connectTargetSpec, type ConnectedTarget } from '../../connect/target.js'
import type { Topology } from '../../connect/topology.js'
import { SLOTS } from '../../wire/routed-pipeline.js'
import { OperationError } from '../../errors.js'

/** The cluster must not have been resharded while it was read. */
export async function checkTopologyUnchanged(deployment: ConnectedTarget, redirected: number): Promise<void> {
  const before = slotOwners(deployment.topology)
  const after = slotOwners((await connectTargetSpec(deployment.spec)).topology)
  let changed = 0
  for (let s = 0; s < SLOTS; s++) if (before[s] !== after[s]) changed++
  if (changed || redirected) {
    throw new OperationError(
      `the cluster was resharded while it was read (${changed} slots changed owner, ${redirected} keys redirected): the snapshot could miss or repeat keys, so it was not kept`,
      { resumable: false, hint: 'Run it again when the resharding has finished.' },
    )
  }
}

function slotOwners(topology: Topology): (string | undefined)[] {
  const owners: (string | undefined)[] = new Array(SLOTS)
  for (const n of topology.nodes) {
    if (n.role !== 'primary') continue
    for (const [from, to] of n.slots) for (let s = from; s <= to; s++) owners[s] = n.id
  }
  return owners
}
