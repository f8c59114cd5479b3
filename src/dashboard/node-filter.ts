import type { NodeStatus } from '../metrics/types.js'
import type { Flags } from './node-flags.js'

/** `primary`, `replica`, `down`, `up`, `lag`, `hot`, `shard:3` or `s3`, or any part of the address / id. */
export function matchesFilter(n: NodeStatus, filter: string, flags?: Flags): boolean {
  const terms = filter.trim().toLowerCase().split(/\s+/).filter(Boolean)
  return terms.every((term) => {
    const shard = /^(?:shard:|s)(\d+)$/.exec(term)
    if (shard) return n.shard === Number(shard[1])
    if (term === 'primary' || term === 'replica') return n.role === term
    if (term === 'down') return !n.up
    if (term === 'up') return n.up
    if (term === 'lag' || term === 'lagging') return flags?.lagging ?? false
    if (term === 'hot') return flags?.hot ?? false
    return n.address.toLowerCase().includes(term) || n.id.toLowerCase().startsWith(term)
  })
}
