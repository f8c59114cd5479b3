import type { ShardReplication, ReplicaStatus } from '../../../metrics/replication.js'
import type { NodeStatus } from '../../../metrics/types.js'
import type { Finding, NodeExtras, TriageInput } from '../types.js'

/**
 * One triage finding's rule: a name, and a check over one part of the collected facts. The scope
 * says which part: the whole input, each node, each replica (with its shard), each shard's
 * replication, or each node's extra facts. Consecutive rules of one scope are run together per
 * item, so that one node's (or one replica's) findings stay next to each other in the report.
 */
export type TriageRule =
  | { name: string; scope: 'input'; check: (input: TriageInput) => Finding[] }
  | { name: string; scope: 'node'; check: (node: NodeStatus, input: TriageInput) => Finding[] }
  | {
      name: string
      scope: 'replica'
      check: (replica: ReplicaStatus, shard: ShardReplication, input: TriageInput) => Finding[]
    }
  | { name: string; scope: 'shard'; check: (shard: ShardReplication, input: TriageInput) => Finding[] }
  | { name: string; scope: 'extras'; check: (extras: NodeExtras, input: TriageInput) => Finding[] }

/** The finding, or none: the shape most rules return. */
export const when = (condition: boolean | undefined, finding: () => Finding): Finding[] =>
  condition ? [finding()] : []
