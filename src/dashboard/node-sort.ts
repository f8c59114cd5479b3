import type { NodeStatus } from '../metrics/types.js'
import type { SortKey } from './view-state.js'

function sortValue(n: NodeStatus, key: SortKey): number | string {
  // Without live figures (nodes unreachable from here), CloudWatch's stand in.
  const cw = n.external ?? {}
  switch (key) {
    case 'ops':
      return n.opsPerSec ?? (cw.getTypeCmds ?? -1) + (cw.setTypeCmds ?? 0)
    case 'latency':
      return n.latencyUs ?? -1
    case 'cpu':
      return n.cpuPercent ?? cw.engineCpu ?? cw.cpu ?? -1
    case 'memory':
      return n.memory.used ?? cw.bytesUsed ?? -1
    case 'lag':
      return n.replication?.lagBytes ?? cw.replicationLag ?? -1
    case 'hit':
      return n.hitRatio ?? -1
    case 'clients':
      return n.clients.connected ?? cw.currConnections ?? -1
    case 'address':
      return n.address
    case 'shard':
      return n.shard
  }
}

/** Sort: by the key (numbers high first when descending), then shard, primary first, address. */
export function sortNodes(nodes: NodeStatus[], key: SortKey, descending: boolean): NodeStatus[] {
  const cmp = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0)
  const tie = (a: NodeStatus, b: NodeStatus) =>
    a.shard - b.shard || (a.role === b.role ? 0 : a.role === 'primary' ? -1 : 1) || cmp(a.address, b.address)
  return [...nodes].sort((a, b) => {
    const va = sortValue(a, key)
    const vb = sortValue(b, key)
    let c = typeof va === 'string' ? cmp(va, vb as string) : va - (vb as number)
    if (descending) c = -c
    return c || tie(a, b)
  })
}
