import { formatBytes } from '../../../format/units.js'
import { THRESHOLDS } from '../../../metrics/thresholds.js'
import { when, type TriageRule } from './rule.js'

/** A replica that is itself down is reported as a node down (topology.ts), not as a broken link. */
export const replicationLinkDown: TriageRule = {
  name: 'replication-link-down',
  scope: 'replica',
  check: (r, shard) =>
    when(r.up && r.link === 'down', () => ({
      severity: 'critical',
      category: 'replication',
      node: r.address,
      summary: `replication link of ${r.address} to ${shard.primaryAddress ?? 'its primary'} is down${r.linkDownSinceSeconds ? ` for ${r.linkDownSinceSeconds}s` : ''}`,
      why: 'The replica serves stale data and cannot take over without losing writes.',
      action:
        'Check the network and the primary; the replica resyncs once the link is back (a full resync if the backlog was outrun).',
    })),
}

/** A replica whose link is down is reported as such (above), not as lagging. */
export const replicationLag: TriageRule = {
  name: 'replication-lag',
  scope: 'replica',
  check: (r, shard) => {
    const sec = r.lagSeconds ?? 0
    const bytes = r.lagBytes ?? 0
    return when(r.link !== 'down' && (sec >= THRESHOLDS.lagSeconds || bytes >= THRESHOLDS.lagBytes), () => ({
      severity: sec >= THRESHOLDS.lagSecondsCritical ? 'critical' : 'warning',
      category: 'replication',
      node: r.address,
      summary: `replica ${r.address} lags ${formatBytes(bytes)} (${sec.toFixed(1)}s) behind ${shard.primaryAddress}`,
      why: 'Reads from it are stale, and a failover now would lose the writes not yet replicated.',
      action: 'Look for a slow replica host, big writes or a saturated network; reduce write bursts.',
      evidence: { lagBytes: bytes, lagSeconds: sec },
    }))
  },
}

export const backlogHeadroom: TriageRule = {
  name: 'backlog-headroom',
  scope: 'replica',
  check: (r, shard) =>
    when(
      r.link !== 'down' &&
        r.fullResyncRisk &&
        r.backlogHeadroomSeconds !== undefined &&
        r.backlogHeadroomSeconds < THRESHOLDS.backlogHeadroomSeconds,
      () => ({
        severity: 'warning',
        category: 'replication',
        node: r.address,
        summary: `the backlog of ${shard.primaryAddress} covers only ${Math.max(0, Math.round(r.backlogHeadroomSeconds!))}s of writes for ${r.address}`,
        why: 'If the link drops for longer, the replica needs a full resync (a fork and a full copy of the dataset).',
        action: 'Raise repl-backlog-size (ElastiCache: parameter group) to a few minutes of the write rate.',
        evidence: { backlog: shard.backlog?.size, writeBytesPerSec: shard.writeBytesPerSec },
      }),
    ),
}

/** One full sync per replica start is how replication begins; more than that is worth a look. */
export const repeatedFullResyncs: TriageRule = {
  name: 'repeated-full-resyncs',
  scope: 'shard',
  check: (shard) =>
    when(!!shard.fullSyncs && shard.fullSyncs > shard.replicas.length, () => ({
      severity: 'info',
      category: 'replication',
      node: shard.primaryAddress,
      summary: `${shard.primaryAddress} served ${shard.fullSyncs} full resync${shard.fullSyncs === 1 ? '' : 's'} since it started`,
      why: 'Each one forks and sends the whole dataset; more than one per replica start points to a small backlog or flapping links.',
      action:
        'Compare with replica restarts and with snapshots read over SYNC (redis-cli --rdb, kvtop snapshot create --method sync, migrate --read sync: each counts as one); if they keep coming, raise repl-backlog-size.',
    })),
}
