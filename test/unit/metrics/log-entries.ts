import type { RawLogEntry } from '../../../src/metrics/log-reply.js'
import type { NodeRef } from '../../../src/metrics/slowlog.js'

/** Log entries and nodes for the tests of reading, following, merging and grouping logs. */

export function entry(
  id: number,
  seconds = 1000 + id,
  value = 20000,
  args = ['GET', `key:${id}`],
): RawLogEntry {
  return { id, at: seconds * 1000, value, args, client: '127.0.0.1:1' }
}
/** What SLOWLOG GET count returns from a server whose log holds ids [from..to] (newest first). */
export function reply(from: number, to: number, count: number): RawLogEntry[] {
  const out: RawLogEntry[] = []
  for (let id = to; id >= from && (count < 0 || out.length < count); id--) out.push(entry(id))
  return out
}

export const nodeA: NodeRef = { id: 'a'.repeat(40), address: '10.0.0.1:7000', shard: 0, role: 'primary' }
export const nodeB: NodeRef = { id: 'b'.repeat(40), address: '10.0.0.2:7000', shard: 1, role: 'primary' }
