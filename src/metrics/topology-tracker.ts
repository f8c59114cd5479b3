import type { Topology } from '../connect/topology.js'
import type { MonitorEvent } from './alerts.js'
import type { NodeInfo } from './node-info.js'
import type { NodePoller, PollOutcome } from './node-poller.js'
import { clusterTopologyFromNodes, replicatedTopologyFromInfos, topologyEvents } from './topology-watch.js'

/**
 * The deployment's shape while it is polled, round by round: in cluster mode the cluster's own view
 * (CLUSTER NODES from one node per round, rotating over the primaries), otherwise the nodes' INFO
 * replication; each change reported as events (failover, node added or removed, slots moved).
 */
export class TopologyTracker {
  private sourceTurn = 0

  constructor(private current: Topology) {}

  get topology(): Topology {
    return this.current
  }

  get cluster(): boolean {
    return this.current.mode === 'cluster'
  }

  /** The node asked for CLUSTER NODES this round (cluster mode only). */
  pickSource(pollers: NodePoller[]): NodePoller | undefined {
    if (!this.cluster) return undefined
    const candidates = pollers.filter((p) => p.conn?.ready && p.state === 'ok')
    if (!candidates.length) return pollers.find((p) => p.conn?.ready)
    // Prefer primaries (they see failovers of their shard first), rotating so no node carries it alone.
    const primaries = candidates.filter((p) => p.node.role === 'primary')
    const pool = primaries.length ? primaries : candidates
    return pool[this.sourceTurn++ % pool.length]
  }

  /**
   * The shape after a round, or undefined when the round says nothing about it. In cluster mode a
   * node whose INFO contradicts its known role (a failover) is asked for CLUSTER NODES itself, since
   * the round's source may not have seen the change yet.
   */
  async observe(outcomes: PollOutcome[], timeoutMs: number): Promise<Topology | undefined> {
    const known = this.current
    if (!this.cluster) {
      const infos = new Map<string, NodeInfo>()
      const reachable = new Set<string>()
      for (const o of outcomes) {
        if (o.ok && o.info) {
          infos.set(o.poller.node.id, o.info)
          reachable.add(o.poller.node.id)
        }
      }
      return replicatedTopologyFromInfos(known, infos, reachable)
    }
    const contradicting = outcomes.find(
      (o) =>
        o.ok &&
        o.info &&
        o.info.replication.role !== 'unknown' &&
        o.info.replication.role !== o.poller.node.role,
    )
    let text = outcomes.find((o) => o.clusterNodesText)?.clusterNodesText
    let from = outcomes.find((o) => o.clusterNodesText)?.poller
    if (contradicting && contradicting.poller !== from && contradicting.poller.conn?.ready) {
      const r = await contradicting.poller.send([{ args: ['CLUSTER', 'NODES'] }], Date.now() + timeoutMs)
      if (r !== 'timeout' && r[0]?.ok) {
        text = String(r[0].value)
        from = contradicting.poller
      }
    }
    if (!text || !from) return undefined
    const state = from.clusterInfo?.state ?? known.clusterState
    return clusterTopologyFromNodes(text, from.node, known, state)
  }

  /** Move to `next` (ignored when it has no nodes); the differences as events. */
  advance(next: Topology | undefined, at: number): MonitorEvent[] {
    if (!next || !next.nodes.length) return []
    const events = topologyEvents(this.current, next, at)
    this.current = next
    return events
  }
}
