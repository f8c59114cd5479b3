import type { DeploymentSummary } from '../../../metrics/types.js'
import type { Finding, OpenSlot } from '../types.js'
import { when, type TriageRule } from './rule.js'

export const clusterState: TriageRule = {
  name: 'cluster-state',
  scope: 'input',
  check: ({ snapshot: { deployment: d } }) =>
    when(d.mode === 'cluster' && !!d.clusterState && d.clusterState !== 'ok', () => ({
      severity: 'critical',
      category: 'topology',
      summary: `cluster_state is ${d.clusterState}`,
      why: 'The cluster refuses commands for some or all slots until the state is ok again.',
      action: 'Find the failed primaries below; restore them or fail over to a replica (CLUSTER FAILOVER).',
    })),
}

export const slotsUncovered: TriageRule = {
  name: 'slots-uncovered',
  scope: 'input',
  check: ({ snapshot: { deployment: d } }) =>
    when(d.mode === 'cluster' && d.slotsCovered !== undefined && d.slotsCovered < 16384, () => ({
      severity: 'critical',
      category: 'topology',
      summary: `${16384 - d.slotsCovered!} of 16384 slots are not served`,
      why: 'Keys in uncovered slots cannot be read or written (CLUSTERDOWN).',
      action:
        'Assign the slots to a primary (kvtop scale --fix, or CLUSTER ADDSLOTS) once the owner is known lost.',
      evidence: { slotsCovered: d.slotsCovered },
    })),
}

const isManaged = (d: DeploymentSummary) => d.provider === 'elasticache' || d.provider === 'memorydb'

/** What a primary that is down costs, and what to do, by deployment: the one place it differs. */
function primaryDown(d: DeploymentSummary, hasReplica: boolean): Pick<Finding, 'why' | 'action'> {
  const managed = isManaged(d)
  const awsAction = hasReplica
    ? 'AWS fails over to a replica when Multi-AZ (automatic failover) is on, and replaces the node: check the service events; without it, fail over from the console or the API (ElastiCache TestFailover, MemoryDB FailoverShard).'
    : 'AWS replaces the node; with no replica its data comes back only from a snapshot: check the service events, and add replicas (kvtop scale aws --replicas).'
  if (d.mode === 'cluster')
    return {
      why: 'Its slots are unavailable until it is back or a replica is promoted.',
      action: managed
        ? awsAction
        : hasReplica
          ? 'Check the host and process; if it does not come back, promote a replica (CLUSTER FAILOVER FORCE on it).'
          : 'Check the host and process and restart it; with no replica its slots stay down until it is back (its data from its RDB/AOF).',
    }
  return {
    why: hasReplica
      ? 'Writes fail until it is back or a replica is promoted; replicas serve stale reads meanwhile.'
      : 'Every read and write fails until it is back: there is no replica to take over.',
    action: managed
      ? awsAction
      : hasReplica
        ? 'Check the host and process; if it does not come back, promote a replica (REPLICAOF NO ONE on it, then point the other replicas and the clients at it), or let Sentinel fail over where it runs.'
        : 'Check the host and the process (its log, memory, disk) and restart it; writes since its last RDB save or AOF fsync may be lost.',
  }
}

export const nodeDown: TriageRule = {
  name: 'node-down',
  scope: 'node',
  check: (n, { snapshot }) => {
    // Only a cluster marks nodes failed; elsewhere kvtop's own view of them says the same as `up`.
    const cluster = snapshot.deployment.mode === 'cluster'
    const failed = cluster && (n.health === 'failed' || n.health === 'pfail')
    const primary = n.role === 'primary'
    const hasReplica = snapshot.nodes.some((o) => o.role === 'replica' && o.shard === n.shard)
    return when(!n.up || failed, () => ({
      severity: primary ? 'critical' : 'warning',
      category: 'topology',
      node: n.address,
      summary: `${n.role} ${n.address} (shard ${n.shard}) is down${failed ? ` (cluster marks it ${n.health})` : ''}${n.error ? `: ${n.error}` : ''}`,
      ...(primary
        ? primaryDown(snapshot.deployment, hasReplica)
        : {
            why: 'Its shard has less redundancy: one more failure can lose the shard, and reads sent to it fail.',
            action: isManaged(snapshot.deployment)
              ? 'AWS replaces a failed replica, which resyncs from its primary: check the service events.'
              : 'Restart the replica or replace it (kvtop scale --replicas); it resyncs from its primary.',
          }),
      evidence: { health: n.health, state: n.state },
    }))
  },
}

export const openSlots: TriageRule = {
  name: 'open-slots',
  scope: 'input',
  check: (input) => openSlotFindings(input.openSlots),
}

export const slotMapDisagreement: TriageRule = {
  name: 'slot-map-disagreement',
  scope: 'input',
  check: (input) => {
    const views = input.extras.filter((e) => e.slotMapView !== undefined)
    const distinct = new Set(views.map((e) => e.slotMapView))
    if (distinct.size <= 1) return []
    const counts = new Map<string, string[]>()
    for (const v of views) counts.set(v.slotMapView!, [...(counts.get(v.slotMapView!) ?? []), v.address])
    const minority = [...counts.values()].sort((a, b) => a.length - b.length)[0]
    return [
      {
        severity: 'warning',
        category: 'topology',
        node: minority[0],
        summary: `nodes disagree about the slot map (${distinct.size} versions; ${minority.join(', ')} differ from the majority)`,
        why: 'Clients get MOVED loops or errors depending on the node they ask; usually a move or failover in flight.',
        action:
          'Wait a few seconds and run triage again; if it persists, kvtop scale --fix or CLUSTER SETSLOT ... NODE on the odd nodes.',
      },
    ]
  },
}

/** Replicas sharing a host with their primary, grouped per host: a 90-node sandbox is one finding, not 60. */
export const replicasOnPrimaryHost: TriageRule = {
  name: 'replicas-on-primary-host',
  scope: 'input',
  check: ({ snapshot: s }) => {
    const byId = new Map(s.nodes.map((n) => [n.id, n]))
    const sameHost = new Map<string, { replica: string; primary: string }[]>()
    for (const n of s.nodes) {
      if (n.role !== 'replica' || !n.primaryId) continue
      const primary = byId.get(n.primaryId)
      if (primary && primary.host === n.host)
        sameHost.set(n.host, [
          ...(sameHost.get(n.host) ?? []),
          { replica: n.address, primary: primary.address },
        ])
    }
    return [...sameHost].map(([host, pairs]): Finding => {
      const loopback = /^(127\.|::1|localhost)/.test(host)
      const one = pairs.length === 1
      return {
        severity: 'info',
        category: 'topology',
        ...(one ? { node: pairs[0].replica } : {}),
        summary: one
          ? `replica ${pairs[0].replica} runs on the same host as its primary ${pairs[0].primary}`
          : `${pairs.length} replicas run on the same host as their primaries (${host}): ${pairs
              .slice(0, 3)
              .map((p) => `${p.replica} -> ${p.primary}`)
              .join(', ')}${pairs.length > 3 ? ', ...' : ''}`,
        why: loopback
          ? 'Expected for a local sandbox; in production one host failure would take the whole shard.'
          : 'One host failure takes the primary and its replica: the shard is lost.',
        action: 'Place replicas on other hosts (other availability zones on AWS).',
        evidence: { host, pairs },
      }
    })
  },
}

const slotList = (slots: number[]) => slots.slice(0, 10).join(', ') + (slots.length > 10 ? ', ...' : '')

/**
 * Slots left open by a move, one finding per pair of nodes and state: both sides named, and which
 * of them carries its marker (a move interrupted between the two SETSLOT calls leaves one side).
 */
export function openSlotFindings(open: OpenSlot[]): Finding[] {
  const groups = new Map<string, OpenSlot[]>()
  for (const o of open) {
    const key = `${o.from}|${o.to}|${o.migrating}|${o.importing}`
    groups.set(key, [...(groups.get(key) ?? []), o])
  }
  return [...groups.values()].map((list) => {
    const { from, to, migrating, importing } = list[0]
    const slots = list.map((o) => o.slot)
    const label = `open slot${slots.length === 1 ? '' : 's'} ${slotList(slots)}`
    const them = slots.length === 1 ? 'it' : 'them'
    const summary =
      migrating && importing
        ? `${label}: ${from} migrating to ${to}, ${to} importing from ${from}`
        : migrating
          ? `${label}: ${from} migrating to ${to} (${to} is not importing ${them})`
          : `${label}: ${to} importing from ${from} (${from} is not migrating ${them})`
    return {
      severity: 'warning',
      category: 'topology',
      node: migrating ? from : to,
      summary,
      why: 'A slot move was started and not finished: clients get ASK redirections, and redis-cli --cluster check fails.',
      action: 'Finish or roll back the move: kvtop scale --fix (or redis-cli --cluster fix).',
      evidence: { slots, from, to, migrating, importing },
    }
  })
}
