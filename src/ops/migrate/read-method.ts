import type { Deployment } from '../../connect/deployment.js'
import type { SyncStream } from '../../data/replication/sync-stream.js'
import { KvtopError, UsageError } from '../../errors.js'
import type { Shard } from './shards.js'
import type { CopyMode, MigrateOptions, ReadMethod } from './types.js'

/** How the bulk copy reads the source, why (--read auto), and the SYNC stream of every shard to read. */
export interface ReadChoice {
  read: ReadMethod
  reason?: string
  /** By shard key: the shards whose bulk copy is not done yet (sync only). */
  streams: Map<string, SyncStream>
}

/**
 * Before connecting: what a replication snapshot cannot honour. The server streams its snapshot as
 * fast as it writes it (--max-ops cannot pace it), and it carries DUMP payloads (--mode logical
 * rebuilds values with type commands read key by key).
 */
export function refuseSyncCombinations(o: Pick<MigrateOptions, 'read' | 'maxOps' | 'mode'>): void {
  if (o.read !== 'sync') return
  if (o.maxOps !== undefined)
    throw new UsageError(
      '--read sync cannot be paced by --max-ops: the source streams its snapshot at once',
      {
        hint: 'Use --read scan (the default) to limit the load with --max-ops, or drop --max-ops.',
      },
    )
  if (o.mode === 'logical')
    throw new UsageError('--read sync copies DUMP payloads: it cannot be combined with --mode logical', {
      hint: 'Use --read scan --mode logical to rebuild values with type commands.',
    })
}

/**
 * --read scan|sync|auto, once the copy mode is known. For sync (and auto) the SYNC of every shard
 * still to copy is sent here, side by side: the server's answer says whether it permits it. auto
 * falls back to scan where any shard refuses (or where sync cannot serve: --max-ops, logical);
 * sync is refused then (exit 2). The caller closes the streams it is given.
 */
export async function chooseRead(
  source: Deployment,
  shards: Shard[],
  o: { options: MigrateOptions; mode: CopyMode; done: (shard: Shard) => boolean; stallTimeoutMs: number },
): Promise<ReadChoice> {
  const requested = o.options.read ?? 'scan'
  const none = new Map<string, SyncStream>()
  if (requested === 'scan') return { read: 'scan', streams: none }
  if (o.mode === 'logical') {
    if (requested === 'sync')
      throw new UsageError('--read sync copies DUMP payloads: --mode auto chose logical for this target', {
        hint: 'Use --read scan (or --read auto) with this target.',
      })
    return { read: 'scan', reason: 'the copy is logical (values rebuilt with type commands)', streams: none }
  }
  if (o.options.maxOps !== undefined)
    return { read: 'scan', reason: '--max-ops cannot pace a SYNC', streams: none }
  const todo = shards.filter((s) => !o.done(s))
  const { openSyncStream } = await import('../../data/replication/sync-stream.js')
  const opened = await Promise.allSettled(
    todo.map((s) => openSyncStream(source.spec, s.node, { stallTimeoutMs: o.stallTimeoutMs })),
  )
  const streams = new Map<string, SyncStream>()
  opened.forEach((r, i) => r.status === 'fulfilled' && streams.set(todo[i].key, r.value))
  const failed = opened.find((r): r is PromiseRejectedResult => r.status === 'rejected')
  if (!failed)
    return { read: 'sync', ...(requested === 'auto' ? { reason: 'the source permits SYNC' } : {}), streams }
  for (const s of streams.values()) s.close()
  const err = failed.reason as unknown
  if (!(err instanceof KvtopError && err.code === 'refused')) throw err
  if (requested === 'auto') return { read: 'scan', reason: err.message, streams: none }
  throw new UsageError(err.message, {
    code: 'refused',
    hint: 'Managed services (ElastiCache, MemoryDB) forbid SYNC: use --read scan (the default) or --read auto.',
  })
}
