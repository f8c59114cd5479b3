import { versionAtLeast } from '../../connect/capabilities.js'
import { Deployment, refuseSameDeployment } from '../../connect/deployment.js'
import type { ConnectionInput } from '../../connect/options.js'
import { UsageError } from '../../errors.js'
import { DEFAULT_STALL_TIMEOUT_MS } from '../../wire/stall-watch.js'
import type { OperationContext } from '../context.js'
import { mapDbs } from '../../data/keyspace/db-map.js'
import type { ChangeFeeds } from './change-feeds.js'
import { checkResumeDeployments, dbMapText, restartChangedShards, type IdentityNow } from './checkpoint.js'
import { chooseMode, dumpCompatibility } from './copy-mode.js'
import { chooseRead, type ReadChoice } from './read-method.js'
import { identityOf, keyspaceOf, readShards, refuseOpenSlots, rereadReplid, type Shard } from './shards.js'
import { CHECKPOINT_VERSION, type Checkpoint, type CopyMode, type MigrateOptions } from './types.js'

/** Source db -> target db, as mapDbs() pairs them. */
type DbPairs = ReturnType<typeof mapDbs>

/** The two sides as survey() read them. */
interface Sides {
  shards: Shard[]
  sourceId: IdentityNow
  targetId: IdentityNow
  sourceKeyspaces: Record<number, number>[]
  pairs: DbPairs
}

/**
 * What the start of a run found: the sides, their shards and dbs, how values are copied and the
 * source read, the checkpoint to follow, and (--live) the change feeds.
 */
export interface Prepared {
  source: Deployment
  target: Deployment
  feeds: ChangeFeeds | undefined
  shards: Shard[]
  sourceKeyspaces: Record<number, number>[]
  pairs: DbPairs
  mode: CopyMode
  modeReason?: string
  read: ReadChoice
  absoluteTtl: boolean
  checkpoint: Checkpoint
  restarted: { address: string }[]
  keysBefore: number
}

/**
 * The first phase of a `kvtop migrate run` (or of its resume): what it opens is handed to `closers`,
 * which the run closes, the last first, however it ends.
 */
export class RunStart {
  constructor(
    private readonly inputs: { source: ConnectionInput; target: ConnectionInput },
    private readonly options: MigrateOptions,
    private readonly previous: Checkpoint | undefined,
    private readonly ctx: OperationContext,
    private readonly started: number,
    private readonly closers: (() => Promise<void> | void)[],
  ) {}

  /**
   * Connect, refuse what cannot be copied safely, and take up the checkpoint (or start one): the
   * shards whose server process changed start over; with --live the subscriptions start here,
   * before any scan.
   */
  async prepare(): Promise<Prepared> {
    const { options, previous, ctx } = this
    const { source, target } = await this.connectBoth()
    const sides = await this.survey(source, target)
    if (previous) {
      checkResumeDeployments(options.checkpointPath!, previous, {
        source: sides.sourceId,
        target: sides.targetId,
        shardKeys: sides.shards.map((s) => s.key),
      })
    } else await this.refuseNonEmptyTarget(target)
    const { mode, reason: modeReason } = await this.chooseCopyMode(source, target)
    const { checkpoint, restarted } = this.takeUpCheckpoint(sides, mode, source.topology.mode === 'cluster')

    // --live: notifications of every class must reach kvtop, and the subscriptions start before the scan.
    const feeds = options.live
      ? await (
          await import('./change-feeds.js')
        ).ChangeFeeds.subscribe(
          source,
          sides.shards,
          sides.pairs.map((p) => p.source),
          ctx,
          (close) => this.closers.push(close),
        )
      : undefined
    // After the subscriptions: every change made after a snapshot's fork point is seen.
    const read = await this.chooseRead(source, sides.shards, mode, checkpoint)
    const keysBefore = Object.values(checkpoint.nodes).reduce((n, s) => n + s.keys, 0)
    if (previous) {
      ctx.phase('resume', `resuming from ${options.checkpointPath}: ${keysBefore} keys already copied`)
      if (options.live)
        ctx.warn(
          'changes made while kvtop was not running are not seen by --live; the final verify finds them',
        )
    }
    return {
      source,
      feeds,
      target,
      shards: sides.shards,
      sourceKeyspaces: sides.sourceKeyspaces,
      pairs: sides.pairs,
      mode,
      modeReason,
      read,
      absoluteTtl: versionAtLeast(source.capabilities?.version ?? '0.0.0', '7.0.0'),
      checkpoint,
      restarted,
      keysBefore,
    }
  }

  /**
   * Both deployments connected and probed side by side (each is a few round trips of its own).
   * Whatever opened is handed to the closers; when both fail, the source's failure is the one
   * reported, as when they were connected one after the other.
   */
  private async connectBoth(): Promise<{ source: Deployment; target: Deployment }> {
    const sides = await Promise.allSettled([
      Deployment.connect(this.inputs.source, { probe: true }),
      Deployment.connect(this.inputs.target, { probe: true }),
    ])
    for (const side of sides) if (side.status === 'fulfilled') this.closers.push(() => side.value.close())
    const [source, target] = sides
    if (source.status === 'rejected') throw source.reason
    if (target.status === 'rejected') throw target.reason
    return { source: source.value, target: target.value }
  }

  /** Both sides as they are now (refused when they are one server, or slots are moving), and the db pairs. */
  private async survey(source: Deployment, target: Deployment): Promise<Sides> {
    // One connection per primary of either side, opened side by side: the reads below share them.
    await Promise.all([source.open(source.primaries), target.open(target.primaries)])
    // The checks run side by side; a failure is reported as if they had run one after the other.
    const checks = await Promise.allSettled([
      refuseSameDeployment(source, target),
      // Keys of a slot being moved are on either node: refused before anything is copied.
      refuseOpenSlots(source, 'source'),
      refuseOpenSlots(target, 'target'),
      readShards(source),
    ])
    const failed = checks.find((c): c is PromiseRejectedResult => c.status === 'rejected')
    if (failed) throw failed.reason
    const shards = (checks[3] as PromiseFulfilledResult<Shard[]>).value
    const [sourceId, targetId] = await Promise.all([identityOf(source, shards), identityOf(target)])
    const cluster = (d: Deployment) => ({ cluster: d.topology.mode === 'cluster' })
    const sourceKeyspaces = shards.map((s) => s.keyspace)
    const sourceDbs = new Map<number, number>()
    for (const ks of sourceKeyspaces)
      for (const [db, n] of Object.entries(ks))
        sourceDbs.set(Number(db), (sourceDbs.get(Number(db)) ?? 0) + n)
    const pairs = mapDbs(sourceDbs, cluster(source), cluster(target), this.options.dbMap ?? new Map())
    return { shards, sourceId, targetId, sourceKeyspaces, pairs }
  }

  /** How values are copied: DUMP/RESTORE only where the target reads the source's payloads. */
  private async chooseCopyMode(
    source: Deployment,
    target: Deployment,
  ): Promise<{ mode: CopyMode; reason?: string }> {
    const requested = this.options.mode ?? 'dump'
    const dump =
      requested === 'dump' || (requested === 'auto' && !this.previous)
        ? await dumpCompatibility(source, target)
        : undefined
    const chosen = chooseMode(requested, this.previous?.mode, dump)
    if (chosen.reason) this.ctx.phase('mode', `--mode auto: ${chosen.mode} (${chosen.reason})`)
    return chosen
  }

  /** --read: the SYNC streams of the shards still to copy are opened here (see chooseRead). */
  private async chooseRead(
    source: Deployment,
    shards: Shard[],
    mode: CopyMode,
    checkpoint: Checkpoint,
  ): Promise<ReadChoice> {
    const done = (shard: Shard) =>
      Object.entries(checkpoint.nodes).every(([id, n]) => n.done || !id.startsWith(`${shard.key}/`))
    const read = await chooseRead(source, shards, {
      options: this.options,
      mode,
      done,
      stallTimeoutMs: this.options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS,
    })
    this.closers.push(() => read.streams.forEach((s) => s.close()))
    for (const shard of shards.filter((s) => read.streams.has(s.key))) {
      await rereadReplid(source, shard)
      checkpoint.shards[shard.key] = { ...shard.identity }
      if (checkpoint.source.mode !== 'cluster') checkpoint.source.replid = shard.identity.replid
    }
    if (read.reason) this.ctx.phase('read', `--read auto: ${read.read} (${read.reason})`)
    checkpoint.read = read.read
    return read
  }

  /**
   * The checkpoint to follow (the previous one, or a new one) with a state for every shard and db.
   * A cursor is a position in one server process's table: a shard whose primary is another process
   * now (restarted, failed over) is scanned again from the start.
   */
  private takeUpCheckpoint(
    sides: Sides,
    mode: CopyMode,
    sourceCluster: boolean,
  ): { checkpoint: Checkpoint; restarted: { address: string }[] } {
    const { options } = this
    const shardIdentities = Object.fromEntries(sides.shards.map((s) => [s.key, s.identity]))
    const strip = ({ replid2: _r, ...id }: IdentityNow) => id
    const checkpoint: Checkpoint = this.previous ?? {
      kind: 'kvtop-migrate',
      version: CHECKPOINT_VERSION,
      source: strip(sides.sourceId),
      target: strip(sides.targetId),
      ...(options.slots ? { slots: options.slots } : {}),
      mode,
      dbMap: dbMapText(options.dbMap),
      live: Boolean(options.live),
      startedAt: this.started,
      updatedAt: this.started,
      shards: { ...shardIdentities },
      nodes: {},
      liveCopies: 0,
      liveDeletes: 0,
      inSync: false,
      finished: false,
    }
    const restarted = restartChangedShards(checkpoint, shardIdentities)
    for (const r of restarted)
      this.ctx.warn(
        `source node ${r.address}${sourceCluster ? ` (slots ${r.key})` : ''} is not the server process the checkpoint was written with (${r.reason}: restarted or failed over): its scan starts over from the beginning; keys already copied are copied over`,
      )
    checkpoint.source = strip(sides.sourceId)
    checkpoint.target = strip(sides.targetId)
    checkpoint.finished = false
    for (const shard of sides.shards)
      for (const p of sides.pairs)
        checkpoint.nodes[`${shard.key}/${p.source}`] ??= {
          db: p.source,
          targetDb: p.target,
          cursor: '0',
          done: false,
          keys: 0,
          bytes: 0,
          vanished: 0,
        }
    return { checkpoint, restarted }
  }

  /** A fresh run onto a target that holds keys: refused, or (--replace) asked first. */
  private async refuseNonEmptyTarget(target: Deployment): Promise<void> {
    const targetKeys = (await Promise.all(target.primaries.map((n) => keyspaceOf(target, n)))).reduce(
      (sum, ks) => sum + Object.values(ks).reduce((a, b) => a + b, 0),
      0,
    )
    // --replace over data: the user is asked (or passed --yes) before anything is written.
    if (targetKeys > 0 && this.options.replace) await this.options.confirmReplace?.(targetKeys)
    if (targetKeys > 0 && !this.options.replace) {
      throw new UsageError(`the target already holds ${targetKeys} keys`, {
        code: 'target-not-empty',
        hint: 'Empty it first, or pass --replace to overwrite keys of the same name (others stay).',
      })
    }
  }
}
