import { setTimeout as sleep } from 'node:timers/promises'
import type { ConnectionInput } from '../../connect/options.js'
import { KvtopError, OperationError, errorMessage } from '../../errors.js'
import { DEFAULT_STALL_TIMEOUT_MS, StallWatch, stallMessage } from '../../wire/stall-watch.js'
import type { OperationContext } from '../context.js'
import type { ProgressTracker } from '../progress.js'
import type { ChangeFeeds } from './change-feeds.js'
import { restartChangedShards, saveCheckpoint } from './checkpoint.js'
import { NodeCopier, TargetWriter } from './copier.js'
import { streamSupport } from './stream-support.js'
import { migrationReport } from './report.js'
import { RunStart, type Prepared } from './run-start.js'
import type { Shard } from './shards.js'
import type { SyncLane } from './sync-bulk.js'
import { detectTopologyChange, TopologyChanged } from './topology-change.js'
import type { Checkpoint, MigrateOptions, MigrateReport } from './types.js'

const CHECKPOINT_EVERY_MS = 2000
/** After Ctrl-C with --live: how long changes already seen are still copied before stopping. */
const CATCH_UP_MS = 5000

/**
 * One `kvtop migrate run`, in its phases: resume() (or start: preflight, checkpoint, --live
 * subscriptions, SYNC streams: RunStart), bulk() beside live() (the copy, changes followed), finish() (what stopped it, the
 * checkpoint, the report, verify). Everything it opens is closed by close().
 */
export class MigrationRun {
  private readonly closers: (() => Promise<void> | void)[] = []
  private prepared?: Prepared
  private feeds?: ChangeFeeds
  private readonly writers = new Map<number, TargetWriter>()
  /** Copier per `shard/db`, in the order they were opened, and its progress tracker. */
  private readonly copiers = new Map<string, NodeCopier>()
  private readonly trackers = new Map<string, ProgressTracker>()
  /** Shards being read from their replication snapshot: their live changes wait for the bulk's end. */
  private readonly syncing = new Set<string>()
  private readonly shardOfCopier = new Map<NodeCopier, string>()
  /** The copiers stop on Ctrl-C only while the bulk copy runs (see openCopiers()). */
  private readonly copyStop = new AbortController()
  private bulkRunning = true
  private bulkDone = false
  /** Set when the run must stop although nobody pressed Ctrl-C (the topology changed). */
  private halted: TopologyChanged | undefined
  /** A node that owed replies and sent none: the message. */
  private stalled: string | undefined
  /** Live changes seen and not copied when a Ctrl-C stopped the run (undefined: none, or not stopped). */
  private pendingAtStop: number | undefined
  /** Changes taken for copying and not yet acknowledged by the target. */
  private inFlight = 0

  constructor(
    private readonly inputs: { source: ConnectionInput; target: ConnectionInput },
    private readonly options: MigrateOptions,
    private readonly previous: Checkpoint | undefined,
    private readonly ctx: OperationContext,
    private readonly started: number,
  ) {}

  /**
   * Connect, refuse what cannot be copied safely, take up the checkpoint (or start one), subscribe
   * (--live) and open the SYNC streams (--read): see RunStart.
   */
  async resume(): Promise<void> {
    const { inputs, options, previous, ctx, started, closers } = this
    const p = (this.prepared = await new RunStart(inputs, options, previous, ctx, started, closers).prepare())
    this.feeds = p.feeds
    for (const key of p.read.streams.keys()) this.syncing.add(key)
  }

  /** The whole run: every phase in turn, everything closed at the end however it ends. */
  async run(): Promise<MigrateReport> {
    try {
      await this.resume()
      await this.openCopiers()
      await this.copy()
      return await this.finish()
    } finally {
      await this.close()
    }
  }

  private writerFor(db: number): TargetWriter {
    let w = this.writers.get(db)
    if (!w)
      this.writers.set(
        db,
        (w = new TargetWriter(this.prepared!.target.spec, this.prepared!.target.topology, db)),
      )
    return w
  }

  /** One copier per source shard and db, with its progress tracker; the stall watch and the checkpoint timer. */
  private async openCopiers(): Promise<void> {
    const { options, ctx } = this
    const p = this.prepared!
    this.closers.push(() =>
      Promise.all([...this.writers.values()].map((w) => w.pipeline.close())).then(() => {}),
    )
    // The copiers stop on Ctrl-C only while the bulk copy runs: after it, a Ctrl-C lets --live
    // catch up briefly, still within --max-ops.
    const onAbort = () => {
      if (this.bulkRunning) this.copyStop.abort()
    }
    if (options.signal?.aborted) this.copyStop.abort()
    options.signal?.addEventListener('abort', onAbort, { once: true })
    this.closers.push(() => {
      options.signal?.removeEventListener('abort', onAbort)
      this.copyStop.abort()
    })
    const opening: Promise<void>[] = []
    for (const [i, shard] of p.shards.entries()) {
      const ks = p.sourceKeyspaces[i]
      for (const pair of p.pairs) {
        const id = `${shard.key}/${pair.source}`
        const state = p.checkpoint.nodes[id]
        const tracker = ctx.tracker(
          p.pairs.length > 1 ? `${shard.node.address} db ${pair.source}` : shard.node.address,
          'keys',
          ks[pair.source] ?? 0,
          'copy',
        )
        tracker.add(state.keys)
        this.trackers.set(id, tracker)
        const copier = new NodeCopier({
          spec: p.source.spec,
          node: shard.node,
          state,
          writer: this.writerFor(pair.target),
          absoluteTtl: p.absoluteTtl,
          mode: p.mode,
          streams: streamSupport(p.target.capabilities?.engine, p.target.capabilities?.version),
          maxOps: options.maxOps,
          slots: options.slots,
          scanCount: options.scanCount ?? 1000,
          retryTimeoutMs: options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS,
          signal: this.copyStop.signal,
          onProgress: (keys, bytes) => tracker.add(keys, bytes),
          onErrors: (n) => tracker.addErrors(n),
          onWarning: (message) => ctx.warn(message),
        })
        // Every copier's connections open side by side; each is closed with the run, opened or not.
        opening.push(copier.open())
        this.closers.push(() => copier.close())
        this.copiers.set(id, copier)
        this.shardOfCopier.set(copier, shard.key)
      }
    }
    // All settled before a failure is thrown: none still opening when the run closes them.
    const failed = (await Promise.allSettled(opening)).find((r) => r.status === 'rejected')
    if (failed) throw (failed as PromiseRejectedResult).reason
    this.watchStalls()
    this.startTimer()
  }

  /** A node that owes replies and sends none (hung, partitioned) must not hold the run forever. */
  private watchStalls(): void {
    const sourceAddresses = new Set([...this.copiers.values()].map((c) => c.address))
    const stallWatch = new StallWatch({
      timeoutMs: this.options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS,
      onStall: (stall) => {
        this.stalled = stallMessage(stall, sourceAddresses.has(stall.address) ? 'source' : 'target')
        return new OperationError(this.stalled)
      },
    })
    for (const c of this.copiers.values())
      stallWatch.add(c.address, {
        get silentForMs() {
          return c.silentForMs
        },
        abort: () => c.close(),
      })
    for (const stream of this.prepared!.read.streams.values()) stallWatch.add(stream.node, stream)
    stallWatch.addSource(() =>
      [...this.writers.values()].flatMap((w) => {
        const worst = w.pipeline.silentest()
        return worst
          ? [
              {
                address: worst.address,
                target: { silentForMs: worst.ms, abort: (e: Error) => w.pipeline.abort(e) },
              },
            ]
          : []
      }),
    )
    this.closers.push(() => stallWatch.stop())
  }

  /** The checkpoint every few seconds, progress twice a second. */
  private startTimer(): void {
    let lastSave = Date.now()
    let lastProgress = 0
    const timer = setInterval(() => {
      if (Date.now() - lastSave >= CHECKPOINT_EVERY_MS) {
        lastSave = Date.now()
        void this.save().catch((err) => this.ctx.warn(`checkpoint not written: ${errorMessage(err)}`))
      }
      if (Date.now() - lastProgress > 500) {
        lastProgress = Date.now()
        this.progress()
      }
    }, 500)
    this.closers.push(() => clearInterval(timer))
  }

  private async save(): Promise<void> {
    if (this.options.checkpointPath)
      await saveCheckpoint(this.options.checkpointPath, this.prepared!.checkpoint)
  }

  private progress(): void {
    this.ctx.reportProgress()
    if (this.feeds)
      this.ctx.emit({ type: 'live', pending: this.pendingChanges(), oldestAgeMs: this.feeds.oldestAgeMs })
  }

  /** Why a copier stopped (a write refused for good, or for too long). */
  private copierFailure(): OperationError | undefined {
    return [...this.copiers.values()].find((c) => c.failure)?.failure
  }

  /** Changes seen and not yet acknowledged by the target: queued, being copied, or refused for now. */
  private pendingChanges(): number {
    return (
      (this.feeds?.queued ?? 0) +
      this.inFlight +
      (this.options.live ? [...this.copiers.values()].reduce((n, c) => n + c.pendingRetries, 0) : 0)
    )
  }

  private flushWriters(): Promise<unknown> {
    return Promise.all([...this.writers.values()].map((w) => w.pipeline.flush()))
  }

  private stopping(): boolean {
    return Boolean(this.options.signal?.aborted || this.halted)
  }

  private topologyChange(): Promise<TopologyChanged | undefined> {
    const copied = [...this.shardOfCopier].map(([copier, key]) => ({
      key,
      address: copier.address,
      redirectedReads: copier.redirectedReads,
    }))
    return detectTopologyChange(this.prepared!.source, this.prepared!.shards, copied, {
      resumable: Boolean(this.options.checkpointPath),
    })
  }

  /** Take the changed topology into the checkpoint (changed shards start over), save it, stop. */
  private async stopForTopology(change: TopologyChanged): Promise<never> {
    const checkpoint = this.prepared!.checkpoint
    restartChangedShards(checkpoint, change.now, { also: change.tainted, dropMissing: true })
    checkpoint.inSync = false
    checkpoint.finished = false
    await this.save()
    throw change
  }

  /** The bulk copy with live() beside it (--live); any failure saves the checkpoint and says whether to resume. */
  private async copy(): Promise<void> {
    const { options } = this
    const n = this.copiers.size
    this.ctx.phase('copy', `${n} source node${n === 1 ? '' : 's'}`)
    const live = options.live ? this.live() : Promise.resolve()
    live.catch(() => {}) // awaited below, once the bulk copy is done; not an unhandled rejection meanwhile
    try {
      await this.bulk()
      await live
      await this.flushWriters()
    } catch (err) {
      this.bulkRunning = false
      this.prepared!.checkpoint.inSync = false
      await this.save().catch(() => {})
      const hint = !this.stalled && err instanceof KvtopError ? err.hint : undefined
      throw new OperationError(`the migration stopped: ${this.stalled ?? errorMessage(err)}`, {
        resumable: Boolean(options.checkpointPath),
        hint: options.checkpointPath ? hint : 'Without --checkpoint a new run starts over.',
        ...(err instanceof KvtopError && err.code !== 'failed' ? { code: err.code } : {}),
      })
    }
  }

  /**
   * Every shard copied to the end (or to Ctrl-C), each from its replication snapshot or by its
   * copiers' scans; then, has the source topology moved under it?
   */
  async bulk(): Promise<void> {
    const { options } = this
    await Promise.all(this.prepared!.shards.map((shard) => this.bulkOf(shard)))
    await this.flushWriters()
    this.bulkRunning = false
    const scanned = Object.values(this.prepared!.checkpoint.nodes).every((n) => n.done)
    // Keys may have moved past a scan while it ran: the copy is complete only if nothing moved.
    if (scanned && !options.signal?.aborted) this.halted = await this.topologyChange()
    this.bulkDone = scanned && !this.halted
    if (!options.signal?.aborted && !this.halted)
      this.ctx.phase('bulk-done', options.live ? 'following changes' : '')
  }

  /** One shard's bulk copy: from its SYNC stream when it has one, otherwise its copiers scan it. */
  private async bulkOf(shard: Shard): Promise<void> {
    const stream = this.prepared!.read.streams.get(shard.key)
    const ids = this.prepared!.pairs.map((p) => ({ db: p.source, id: `${shard.key}/${p.source}` }))
    if (!stream) {
      await Promise.all(ids.map(({ id }) => this.copiers.get(id)!.bulk()))
      return
    }
    const lanes = new Map<number, SyncLane>()
    for (const { db, id } of ids) {
      const copier = this.copiers.get(id)!
      const tracker = this.trackers.get(id)!
      lanes.set(db, {
        copier,
        writer: this.writerFor(this.prepared!.checkpoint.nodes[id].targetDb),
        state: this.prepared!.checkpoint.nodes[id],
        onProgress: (keys, bytes) => tracker.add(keys, bytes),
      })
    }
    const signal = this.copyStop.signal
    const stop = () => stream.close()
    signal.addEventListener('abort', stop, { once: true })
    try {
      const { slots } = this.options
      // Loaded only where a shard is read from its replication snapshot (the RDB parser with it).
      const { copyFromSync } = await import('./sync-bulk.js')
      const done = await copyFromSync({ stream, lanes, slots, signal, onWarning: (m) => this.ctx.warn(m) })
      // Only now may changes of this shard be copied: a re-copy before the snapshot's value of the
      // same key was written would be overwritten by that older value.
      if (done) this.syncing.delete(shard.key)
    } finally {
      signal.removeEventListener('abort', stop)
    }
  }

  /** Copy every pending change once; the number of keys handled. */
  private async copyPending(): Promise<number> {
    const checkpoint = this.prepared!.checkpoint
    let work = 0
    try {
      for (const [id, set] of this.feeds!.changes) {
        if (this.syncing.has(id.slice(0, id.lastIndexOf('/')))) continue
        const keys = set.take(500)
        if (!keys.length) continue
        work += keys.length
        this.inFlight += keys.length
        const r = await this.copiers.get(id)!.recopy(keys)
        checkpoint.liveCopies += r.copied
        checkpoint.liveDeletes += r.deleted
      }
      if (work) await this.flushWriters()
    } finally {
      this.inFlight -= work
    }
    return work
  }

  /** Nothing pending here; is anything still on its way? Every notification sent before the
   * barrier has arrived once it resolves, and every copy made so far is acknowledged. */
  private async settled(): Promise<boolean> {
    await this.feeds!.barrier()
    return this.pendingChanges() === 0
  }

  /**
   * --live: copy changed keys beside the bulk copy and after it, saying when source and target are
   * in sync, until Ctrl-C (or --until-synced); then catch up briefly with what was already seen.
   */
  async live(): Promise<void> {
    const checkpoint = this.prepared!.checkpoint
    while (!this.stopping()) {
      const lost = this.feeds!.lost
      if (lost)
        throw new OperationError(`${lost.message}: changes made meanwhile may not have been seen`, {
          code: 'notifications-lost',
          resumable: true,
          hint: 'Run the same command again: it resumes, follows changes again, and its final verify shows any key that was missed (copy those with --replace).',
        })
      const failure = this.copierFailure()
      if (failure) throw failure
      if (await this.copyPending()) continue
      if (this.bulkDone) {
        if ((await this.settled()) && !this.copierFailure()) {
          if (!checkpoint.inSync) {
            checkpoint.inSync = true
            this.ctx.emit({
              type: 'in-sync',
              at: Date.now(),
              message: 'source and target are in sync (no change pending)',
            })
          }
          if (this.options.untilSynced) return
        } else {
          checkpoint.inSync = false
          continue
        }
      }
      await sleep(50)
      if (checkpoint.inSync && this.pendingChanges()) checkpoint.inSync = false
    }
    if (!this.bulkDone || this.halted) return
    await this.catchUp()
  }

  /** Stopped (Ctrl-C): catch up with what is already pending, briefly and within --max-ops, so
   * that the run says whether the target has every change seen up to the stop. */
  private async catchUp(): Promise<void> {
    const checkpoint = this.prepared!.checkpoint
    checkpoint.inSync = false
    const deadline = sleep(CATCH_UP_MS).then(() => 'late' as const)
    for (;;) {
      const failure = this.copierFailure()
      if (failure) throw failure
      const step = (async () =>
        (await this.copyPending()) ? 'more' : (await this.settled()) ? 'settled' : 'more')()
      step.catch(() => {}) // abandoned at the deadline: its connections close with the run
      const r = await Promise.race([step, deadline])
      if (r === 'settled' && !this.copierFailure()) {
        checkpoint.inSync = true
        return
      }
      if (r === 'late') break
    }
    this.pendingAtStop = this.pendingChanges()
  }

  /**
   * What stopped the copy, if anything (topology, Ctrl-C, a refused write, changes pending), each
   * with the checkpoint saved; otherwise the checkpoint marked finished, the report, and verify.
   */
  async finish(): Promise<MigrateReport> {
    const { options } = this
    const p = this.prepared!
    const checkpoint = p.checkpoint
    this.progress()
    if (this.halted) await this.stopForTopology(this.halted)
    const complete = Object.values(checkpoint.nodes).every((n) => n.done)
    await this.refuseIncomplete(complete)
    // A long --live phase: the topology is read again at its end.
    if (options.live && complete) {
      const change = await this.topologyChange()
      if (change) await this.stopForTopology(change)
    }
    const errors = [...this.writers.values()].reduce((n, w) => n + w.errors, 0)
    // Finished only when every key is on the target: complete, nothing refused, nothing stopped.
    checkpoint.finished = complete && errors === 0 && !this.stalled
    if (errors) checkpoint.inSync = false
    await this.save()
    const report = migrationReport(p, {
      live: Boolean(options.live),
      resumed: Boolean(this.previous),
      started: this.started,
      errors,
      firstErrors: [...this.writers.values()].flatMap((w) => w.firstErrors).slice(0, 5),
    })
    // With --slots only part of the keyspace was copied: a whole-dataset verify would flag the rest.
    if (options.verify !== false && complete && !options.slots) {
      this.ctx.phase('verify')
      const { verifyDatasets } = await import('../verify/verify.js')
      report.verify = await verifyDatasets(p.source, p.target, {
        dbMap: options.dbMap,
        passes: 3,
        passIntervalMs: 1000,
        maxOps: options.maxOps,
        stallTimeoutMs: options.stallTimeoutMs,
        onEvent: this.ctx.emit,
      })
    }
    return report
  }

  /** Ctrl-C before the copy was complete, a copier that failed, live changes left: saved, then exit 5. */
  private async refuseIncomplete(complete: boolean): Promise<void> {
    const { options } = this
    const checkpoint = this.prepared!.checkpoint
    const resumable = Boolean(options.checkpointPath)
    if (options.signal?.aborted && !complete) {
      checkpoint.inSync = false
      await this.save()
      throw new OperationError('interrupted before the copy was complete', { resumable })
    }
    const failure = this.copierFailure()
    if (failure) {
      checkpoint.inSync = false
      await this.save()
      throw new OperationError(`the migration stopped: ${failure.message}`, {
        code: failure.code,
        resumable,
        ...(failure.hint ? { hint: failure.hint } : {}),
      })
    }
    const pending = this.pendingAtStop
    if (pending !== undefined) {
      await this.save()
      throw new OperationError(
        pending > 0
          ? `interrupted with ${pending} live change${pending === 1 ? '' : 's'} not yet copied to the target`
          : 'interrupted while live changes were still being copied to the target',
        {
          code: 'changes-pending',
          resumable,
          hint: options.checkpointPath
            ? 'Run the same command again: it resumes, copies changes again, and its final verify shows any key that differs.'
            : 'The target lacks those changes: run migrate run --live --replace again (or kvtop verify to see them).',
        },
      )
    }
  }

  /** Close what the run opened, the last first; closing is best effort. */
  private async close(): Promise<void> {
    for (const close of this.closers.reverse()) {
      try {
        await close()
      } catch {
        // closing is best effort
      }
    }
  }
}
