import type { Deployment } from '../../connect/deployment.js'
import { UsageError } from '../../errors.js'
import type { OperationContext } from '../context.js'
import { ChangeSet } from './change-set.js'
import {
  followChanges,
  inspectNotifications,
  notificationProblems,
  type ChangeFeed,
} from './notifications.js'
import { notificationsHint } from './notifications.js'
import type { Shard } from './shards.js'

/**
 * --live: the keys that change on every source shard and db, followed through keyspace
 * notifications subscribed before the scan starts (every class must be on).
 */
export class ChangeFeeds {
  /** Changed keys not yet copied, per copier id (`shard/db`). */
  readonly changes = new Map<string, ChangeSet>()
  private readonly feeds: ChangeFeed[] = []
  /** A subscription that dropped: changes made meanwhile were not seen, so sync can no longer be claimed. */
  lost: Error | undefined

  /** Check every shard's notification setting, then subscribe; each subscription is handed to `opened` to close. */
  static async subscribe(
    source: Deployment,
    shards: Shard[],
    dbs: number[],
    ctx: OperationContext,
    opened: (close: () => Promise<void>) => void,
  ): Promise<ChangeFeeds> {
    const sourceCluster = source.topology.mode === 'cluster'
    const channels = new Map<string, 'keyspace' | 'keyevent'>()
    for (const shard of shards) {
      const r = await inspectNotifications(source.spec, shard.node, dbs, sourceCluster)
      const [problem] = notificationProblems(r)
      if (problem)
        throw new UsageError(problem.message, {
          code: problem.code,
          hint: notificationsHint(source.capabilities),
        })
      if (r.unverified.includes('e'))
        ctx.warn(
          `${shard.node.address} refuses CONFIG, so kvtop cannot tell whether evictions are notified (class e): make sure notify-keyspace-events includes e (KEA does), or a key the source evicts stays on the target (the final verify reports it)`,
        )
      channels.set(shard.key, r.channel!)
    }
    const feeds = new ChangeFeeds()
    for (const shard of shards) {
      for (const db of dbs) {
        const set = new ChangeSet()
        feeds.changes.set(`${shard.key}/${db}`, set)
        const sub = await followChanges(
          source.spec,
          shard.node,
          db,
          (k) => set.add(k),
          (err) => (feeds.lost ??= err),
          channels.get(shard.key),
        )
        feeds.feeds.push(sub)
        opened(() => sub.close())
      }
    }
    return feeds
  }

  /** Changed keys seen and not yet taken for copying. */
  get queued(): number {
    return [...this.changes.values()].reduce((n, c) => n + c.size, 0)
  }

  /** When the oldest change still queued was seen (0: none queued). */
  get oldestAgeMs(): number {
    const oldest = Math.min(...[...this.changes.values()].map((c) => c.oldest || Infinity))
    return Number.isFinite(oldest) ? Date.now() - oldest : 0
  }

  /** Resolves once every notification the source sent before the call has arrived. */
  async barrier(): Promise<void> {
    await Promise.all(this.feeds.map((f) => f.barrier()))
  }
}
