import { versionAtLeast } from '../../connect/capabilities.js'
import { Deployment, refuseSameServer } from '../../connect/deployment.js'
import type { ConnectionInput } from '../../connect/options.js'
import type { TopologyNode } from '../../connect/topology.js'
import { KvtopError, OperationError, UsageError, errorMessage } from '../../errors.js'
import { parseInfo, parseInfoSections, parseKeyspace } from '../../redis/info.js'
import { ProgressTracker } from '../progress.js'
import type { EventSink } from '../events.js'
import { DEFAULT_STALL_TIMEOUT_MS, StallWatch, stallMessage } from '../../wire/stall-watch.js'
import type { Side } from '../verify/side.js'
import { mapDbs, verifyDatasets } from '../verify/verify.js'
import { ChangeSet } from './change-set.js'
import {
  checkResumeDeployments,
  checkResumeOptions,
  dbMapText,
  loadCheckpoint,
  lockCheckpoint,
  restartChangedShards,
  saveCheckpoint,
  shardChange,
  slotsKey,
  type IdentityNow,
} from './checkpoint.js'
import { NodeCopier, TargetWriter } from './copier.js'
import {
  followChanges,
  inspectNotifications,
  notificationProblems,
  type ChangeFeed,
} from './notifications.js'
import { streamSupport } from './logical-copy.js'
import { chooseMode, dumpCompatibility, notificationsHint } from './preflight.js'
import {
  CHECKPOINT_VERSION,
  type Checkpoint,
  type MigrateOptions,
  type MigrateReport,
  type ShardIdentity,
} from './types.js'

const CHECKPOINT_EVERY_MS = 2000
/** After Ctrl-C with --live: how long changes already seen are still copied before stopping. */
const CATCH_UP_MS = 5000
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function keyspaceOf(d: Deployment, node: TopologyNode): Promise<Record<number, number>> {
  const text = String(await (await d.client(node)).info('keyspace'))
  return Object.fromEntries(
    Object.entries(parseKeyspace(parseInfoSections(text).keyspace)).map(([db, k]) => [db, k.keys]),
  )
}

/** A source shard as it is now: its checkpoint key, its primary, and which process that is. */
interface Shard {
  key: string
  node: TopologyNode
  identity: ShardIdentity
  replid2: string
}

/** Every shard of a deployment (a cluster's primaries that serve slots; the one primary otherwise). */
async function readShards(d: Deployment): Promise<Shard[]> {
  const cluster = d.topology.mode === 'cluster'
  const out: Shard[] = []
  for (const node of d.primaries) {
    if (cluster && !node.slots.length) continue
    const info = parseInfo(String(await (await d.client(node)).info()))
    out.push({
      key: cluster ? slotsKey(node.slots) : node.address,
      node,
      identity: { address: node.address, runId: info.run_id ?? '', replid: info.master_replid ?? '' },
      replid2: info.master_replid2 ?? '',
    })
  }
  return out
}

/** What identifies the deployment across runs (node ids of a cluster; the primary's replication ids otherwise). */
async function identityOf(d: Deployment, shards?: Shard[]): Promise<IdentityNow> {
  const mode = d.topology.mode
  const primaries = d.primaries.map((n) => n.address).sort()
  if (mode === 'cluster') return { mode, primaries, nodeIds: d.topology.nodes.map((n) => n.id).sort() }
  const [shard] = shards ?? (await readShards(d))
  return { mode, primaries, replid: shard?.identity.replid ?? '', replid2: shard?.replid2 ?? '' }
}

/** Slots being moved (read from every primary's own line): a phrase each, and the addresses involved. */
async function openSlots(d: Deployment): Promise<{ text: string[]; addresses: Set<string> }> {
  const open = await d.openSlots()
  return { text: open.map((o) => o.text), addresses: new Set(open.flatMap((o) => [o.node, o.peer])) }
}

async function refuseOpenSlots(d: Deployment, side: 'source' | 'target'): Promise<void> {
  const open = await openSlots(d)
  if (!open.text.length) return
  throw new UsageError(
    `the ${side} cluster has slots being moved: ${open.text.slice(0, 5).join('; ')}${open.text.length > 5 ? `; and ${open.text.length - 5} more` : ''}`,
    {
      code: 'slots-moving',
      hint: `A resharding is under way or was left half done: the keys of a moving slot are on either node, so a copy now could miss some. Let it finish (or settle it: redis-cli --cluster fix, or CLUSTER SETSLOT <slot> STABLE on both nodes), then run the same command again.`,
    },
  )
}

/** The source topology changed during the copy: which shards must be scanned again. */
class TopologyChanged extends OperationError {
  constructor(
    readonly details: string[],
    readonly now: Record<string, ShardIdentity>,
    readonly tainted: Map<string, string>,
  ) {
    super('the source topology changed during the copy: run the same command again to finish', {
      code: 'topology-changed',
      resumable: true,
      hint: `${details.join('; ')}. The shards that changed are scanned again from the start (keys already copied are copied over); the others resume where they stood.`,
    })
  }
}

/**
 * `kvtop migrate run`: bulk copy every source primary in parallel (SCAN + DUMP pipelined, RESTORE
 * routed by slot), following changes through keyspace notifications with --live; checkpoints so
 * that the same command resumes after a crash; verify at the end.
 */
export async function runMigration(
  inputs: { source: ConnectionInput; target: ConnectionInput },
  options: MigrateOptions,
): Promise<MigrateReport> {
  const started = Date.now()
  const emit: EventSink = options.onEvent ?? (() => {})
  const path = options.checkpointPath
  // One run per checkpoint at a time, taken before it is read.
  const lock = path ? lockCheckpoint(path) : undefined
  try {
    if (lock?.tookOver)
      emit({
        type: 'warning',
        message: `the checkpoint ${path} was locked by pid ${lock.tookOver.pid} (since ${new Date(lock.tookOver.since).toISOString()}), which is no longer running: lock taken over`,
      })
    const previous = path ? loadCheckpoint(path) : undefined
    if (previous) checkResumeOptions(path!, previous, options)
    return await migrate(inputs, options, previous, emit, started)
  } finally {
    lock?.release()
  }
}

async function migrate(
  inputs: { source: ConnectionInput; target: ConnectionInput },
  options: MigrateOptions,
  previous: Checkpoint | undefined,
  emit: EventSink,
  started: number,
): Promise<MigrateReport> {
  const source = await Deployment.connect(inputs.source, { probe: true })
  let target: Deployment | undefined
  const closers: (() => Promise<void> | void)[] = []
  try {
    target = await Deployment.connect(inputs.target, { probe: true })
    await refuseSameServer(source, target)
    const sourceCluster = source.topology.mode === 'cluster'
    // Keys of a slot being moved are on either node: refused before anything is copied.
    await refuseOpenSlots(source, 'source')
    await refuseOpenSlots(target, 'target')
    const shards = await readShards(source)
    const [sourceId, targetId] = await Promise.all([identityOf(source, shards), identityOf(target)])
    const cluster = (d: Deployment) => ({ cluster: d.topology.mode === 'cluster' }) as Side
    const sourceKeyspaces = await Promise.all(shards.map((s) => keyspaceOf(source, s.node)))
    const sourceDbs = new Map<number, number>()
    for (const ks of sourceKeyspaces)
      for (const [db, n] of Object.entries(ks))
        sourceDbs.set(Number(db), (sourceDbs.get(Number(db)) ?? 0) + n)
    const pairs = mapDbs(sourceDbs, cluster(source), cluster(target), options.dbMap ?? new Map())
    const shardIdentities = Object.fromEntries(shards.map((s) => [s.key, s.identity]))

    // Resume or start.
    if (previous) {
      checkResumeDeployments(options.checkpointPath!, previous, {
        source: sourceId,
        target: targetId,
        shardKeys: shards.map((s) => s.key),
      })
    } else {
      const targetKeys = (await Promise.all(target.primaries.map((n) => keyspaceOf(target!, n)))).reduce(
        (sum, ks) => sum + Object.values(ks).reduce((a, b) => a + b, 0),
        0,
      )
      // --replace over data: the user is asked (or passed --yes) before anything is written.
      if (targetKeys > 0 && options.replace) await options.confirmReplace?.(targetKeys)
      if (targetKeys > 0 && !options.replace) {
        throw new UsageError(`the target already holds ${targetKeys} keys`, {
          code: 'target-not-empty',
          hint: 'Empty it first, or pass --replace to overwrite keys of the same name (others stay).',
        })
      }
    }
    // How values are copied: DUMP/RESTORE only where the target reads the source's payloads.
    const requested = options.mode ?? 'dump'
    const dump =
      requested === 'dump' || (requested === 'auto' && !previous)
        ? await dumpCompatibility(source, target)
        : undefined
    const { mode, reason: modeReason } = chooseMode(requested, previous?.mode, dump)
    if (modeReason) emit({ type: 'phase', phase: 'mode', detail: `--mode auto: ${mode} (${modeReason})` })
    const absoluteTtl = versionAtLeast(source.capabilities?.version ?? '0.0.0', '7.0.0')
    const strip = ({ replid2: _r, ...id }: IdentityNow) => id
    const checkpoint: Checkpoint = previous ?? {
      kind: 'kvtop-migrate',
      version: CHECKPOINT_VERSION,
      source: strip(sourceId),
      target: strip(targetId),
      ...(options.slots ? { slots: options.slots } : {}),
      mode,
      dbMap: dbMapText(options.dbMap),
      live: Boolean(options.live),
      startedAt: started,
      updatedAt: started,
      shards: { ...shardIdentities },
      nodes: {},
      liveCopies: 0,
      liveDeletes: 0,
      inSync: false,
      finished: false,
    }
    // A cursor is a position in one server process's table: a shard whose primary is another
    // process now (restarted, failed over) is scanned again from the start.
    const restarted = restartChangedShards(checkpoint, shardIdentities)
    for (const r of restarted)
      emit({
        type: 'warning',
        message: `source node ${r.address}${sourceCluster ? ` (slots ${r.key})` : ''} is not the server process the checkpoint was written with (${r.reason}: restarted or failed over): its scan starts over from the beginning; keys already copied are copied over`,
      })
    checkpoint.source = strip(sourceId)
    checkpoint.target = strip(targetId)
    checkpoint.finished = false
    for (const shard of shards) {
      for (const p of pairs) {
        checkpoint.nodes[`${shard.key}/${p.source}`] ??= {
          db: p.source,
          targetDb: p.target,
          cursor: '0',
          done: false,
          keys: 0,
          bytes: 0,
          vanished: 0,
        }
      }
    }

    // --live: notifications of every class must reach kvtop, and the subscriptions start before the scan.
    const changes = new Map<string, ChangeSet>()
    const feeds: ChangeFeed[] = []
    /** A subscription that dropped: changes made meanwhile were not seen, so sync can no longer be claimed. */
    let lost: Error | undefined
    if (options.live) {
      const channels = new Map<string, 'keyspace' | 'keyevent'>()
      for (const shard of shards) {
        const r = await inspectNotifications(
          source.spec,
          shard.node,
          pairs.map((p) => p.source),
          sourceCluster,
        )
        const [problem] = notificationProblems(r)
        if (problem)
          throw new UsageError(problem.message, {
            code: problem.code,
            hint: notificationsHint(source.capabilities),
          })
        if (r.unverified.includes('e'))
          emit({
            type: 'warning',
            message: `${shard.node.address} refuses CONFIG, so kvtop cannot tell whether evictions are notified (class e): make sure notify-keyspace-events includes e (KEA does), or a key the source evicts stays on the target (the final verify reports it)`,
          })
        channels.set(shard.key, r.channel!)
      }
      for (const shard of shards) {
        for (const p of pairs) {
          const set = new ChangeSet()
          changes.set(`${shard.key}/${p.source}`, set)
          const sub = await followChanges(
            source.spec,
            shard.node,
            p.source,
            (k) => set.add(k),
            (err) => (lost ??= err),
            channels.get(shard.key),
          )
          feeds.push(sub)
          closers.push(() => sub.close())
        }
      }
    }
    const resumed = Boolean(previous)
    const keysBefore = Object.values(checkpoint.nodes).reduce((n, s) => n + s.keys, 0)
    if (resumed) {
      emit({
        type: 'phase',
        phase: 'resume',
        detail: `resuming from ${options.checkpointPath}: ${keysBefore} keys already copied`,
      })
      if (options.live)
        emit({
          type: 'warning',
          message:
            'changes made while kvtop was not running are not seen by --live; the final verify finds them',
        })
    }

    const writers = new Map<number, TargetWriter>()
    const writerFor = (db: number) => {
      let w = writers.get(db)
      if (!w) writers.set(db, (w = new TargetWriter(target!.spec, target!.topology, db)))
      return w
    }
    closers.push(() => Promise.all([...writers.values()].map((w) => w.pipeline.close())).then(() => {}))

    // The copiers stop on Ctrl-C only while the bulk copy runs: after it, a Ctrl-C lets --live
    // catch up briefly, still within --max-ops.
    let bulkRunning = true
    const copyStop = new AbortController()
    const onAbort = () => {
      if (bulkRunning) copyStop.abort()
    }
    if (options.signal?.aborted) copyStop.abort()
    options.signal?.addEventListener('abort', onAbort, { once: true })
    closers.push(() => {
      options.signal?.removeEventListener('abort', onAbort)
      copyStop.abort()
    })

    const copiers = new Map<string, NodeCopier>()
    const shardOfCopier = new Map<NodeCopier, string>()
    const trackers: ProgressTracker[] = []
    for (const [i, shard] of shards.entries()) {
      const ks = sourceKeyspaces[i]
      for (const p of pairs) {
        const id = `${shard.key}/${p.source}`
        const state = checkpoint.nodes[id]
        const tracker = new ProgressTracker(
          pairs.length > 1 ? `${shard.node.address} db ${p.source}` : shard.node.address,
          'keys',
          ks[p.source] ?? 0,
        )
        tracker.add(state.keys)
        trackers.push(tracker)
        const copier = new NodeCopier({
          spec: source.spec,
          node: shard.node,
          state,
          writer: writerFor(p.target),
          absoluteTtl,
          mode,
          streams: streamSupport(target.capabilities?.engine, target.capabilities?.version),
          maxOps: options.maxOps,
          slots: options.slots,
          scanCount: options.scanCount ?? 1000,
          retryTimeoutMs: options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS,
          signal: copyStop.signal,
          onProgress: (keys, bytes) => tracker.add(keys, bytes),
          onErrors: (n) => tracker.addErrors(n),
          onWarning: (message) => emit({ type: 'warning', message }),
        })
        await copier.open()
        closers.push(() => copier.close())
        copiers.set(id, copier)
        shardOfCopier.set(copier, shard.key)
      }
    }
    /** Why a copier stopped (a write refused for good, or for too long). */
    const copierFailure = () => [...copiers.values()].find((c) => c.failure)?.failure
    /** Changes seen and not yet acknowledged by the target: queued, being copied, or refused for now. */
    let inFlight = 0
    const pendingChanges = () =>
      [...changes.values()].reduce((n, c) => n + c.size, 0) +
      inFlight +
      (options.live ? [...copiers.values()].reduce((n, c) => n + c.pendingRetries, 0) : 0)

    const save = async () => {
      if (options.checkpointPath) await saveCheckpoint(options.checkpointPath, checkpoint)
    }
    let lastSave = Date.now()
    let lastProgress = 0
    const progress = () => {
      for (const t of trackers) emit(t.snapshot())
      if (options.live) {
        const pending = pendingChanges()
        const oldest = Math.min(...[...changes.values()].map((c) => c.oldest || Infinity))
        emit({ type: 'live', pending, oldestAgeMs: Number.isFinite(oldest) ? Date.now() - oldest : 0 })
      }
    }
    // A node that owes replies and sends none (hung, partitioned) must not hold the run forever.
    let stalled: string | undefined
    const sourceAddresses = new Set([...copiers.values()].map((c) => c.address))
    const stallWatch = new StallWatch({
      timeoutMs: options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS,
      onStall: (stall) => {
        stalled = stallMessage(stall, sourceAddresses.has(stall.address) ? 'source' : 'target')
        return new OperationError(stalled)
      },
    })
    for (const c of copiers.values())
      stallWatch.add(c.address, {
        get silentForMs() {
          return c.silentForMs
        },
        abort: () => c.close(),
      })
    stallWatch.addSource(() =>
      [...writers.values()].flatMap((w) => {
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
    closers.push(() => stallWatch.stop())
    const timer = setInterval(() => {
      if (Date.now() - lastSave >= CHECKPOINT_EVERY_MS) {
        lastSave = Date.now()
        void save().catch((err) =>
          emit({ type: 'warning', message: `checkpoint not written: ${errorMessage(err)}` }),
        )
      }
      if (Date.now() - lastProgress > 500) {
        lastProgress = Date.now()
        progress()
      }
    }, 500)
    closers.push(() => clearInterval(timer))

    /**
     * Has the source changed under the copy? Its topology read anew (primaries, slot owners, server
     * processes, slots being moved) against the start, and any key read from another node than
     * its shard's (MOVED/ASK): keys could have moved past a scan.
     */
    const topologyChange = async (): Promise<TopologyChanged | undefined> => {
      let now: Shard[]
      let open: Awaited<ReturnType<typeof openSlots>>
      try {
        const again = await Deployment.connectSpec(source.spec)
        try {
          now = await readShards(again)
          open = await openSlots(again)
        } finally {
          await again.close()
        }
      } catch (err) {
        throw new OperationError(
          `the source topology could not be read again after the copy (${errorMessage(err)}): run the same command again to finish`,
          { resumable: Boolean(options.checkpointPath) },
        )
      }
      const details: string[] = []
      const tainted = new Map<string, string>()
      const before = new Map(shards.map((s) => [s.key, s.identity]))
      const after = new Map(now.map((s) => [s.key, s.identity]))
      const gone = [...before.keys()].filter((k) => !after.has(k))
      const added = [...after.keys()].filter((k) => !before.has(k))
      if (gone.length || added.length)
        details.push(
          `slot owners changed: shards ${gone.join(' | ') || '-'} became ${added.join(' | ') || '-'}`,
        )
      for (const [key, identity] of after) {
        const change = before.has(key) ? shardChange(before.get(key), identity) : undefined
        if (change) details.push(`${sourceCluster ? `slots ${key}: ` : ''}${change}`)
      }
      for (const s of now) if (open.addresses.has(s.identity.address)) tainted.set(s.key, 'slots being moved')
      if (open.text.length) details.push(open.text.slice(0, 3).join('; '))
      for (const [copier, key] of shardOfCopier)
        if (copier.redirectedReads > 0) {
          details.push(
            `${copier.redirectedReads} keys of ${copier.address} were read from another node (MOVED/ASK)`,
          )
          tainted.set(key, 'reads redirected')
          // The slots went elsewhere: the shards that hold them now are scanned again too.
          for (const k of added) tainted.set(k, 'slots received')
        }
      if (!details.length) return undefined
      return new TopologyChanged(details, Object.fromEntries(after), tainted)
    }
    /** Take the changed topology into the checkpoint (changed shards start over), save it, stop. */
    const stopForTopology = async (change: TopologyChanged): Promise<never> => {
      restartChangedShards(checkpoint, change.now, { also: change.tainted, dropMissing: true })
      checkpoint.inSync = false
      checkpoint.finished = false
      await save()
      throw change
    }

    // Live re-copies run beside the bulk copy.
    let bulkDone = false
    /** Set when the run must stop although nobody pressed Ctrl-C (the topology changed). */
    let halted: TopologyChanged | undefined
    const stopping = () => Boolean(options.signal?.aborted || halted)
    /** Live changes seen and not copied when a Ctrl-C stopped the run (undefined: none, or not stopped). */
    let pendingAtStop: number | undefined
    /** Copy every pending change once; the number of keys handled. */
    const copyPending = async (): Promise<number> => {
      let work = 0
      try {
        for (const [id, set] of changes) {
          const keys = set.take(500)
          if (!keys.length) continue
          work += keys.length
          inFlight += keys.length
          const r = await copiers.get(id)!.recopy(keys)
          checkpoint.liveCopies += r.copied
          checkpoint.liveDeletes += r.deleted
        }
        if (work) await Promise.all([...writers.values()].map((w) => w.pipeline.flush()))
      } finally {
        inFlight -= work
      }
      return work
    }
    /** Nothing pending here; is anything still on its way? Every notification sent before the
     * barrier has arrived once it resolves, and every copy made so far is acknowledged. */
    const settled = async (): Promise<boolean> => {
      await Promise.all(feeds.map((f) => f.barrier()))
      return pendingChanges() === 0
    }
    const liveLoop = async () => {
      while (!stopping()) {
        if (lost)
          throw new OperationError(`${lost.message}: changes made meanwhile may not have been seen`, {
            code: 'notifications-lost',
            resumable: true,
            hint: 'Run the same command again: it resumes, follows changes again, and its final verify shows any key that was missed (copy those with --replace).',
          })
        const failure = copierFailure()
        if (failure) throw failure
        if (await copyPending()) continue
        if (bulkDone) {
          if ((await settled()) && !copierFailure()) {
            if (!checkpoint.inSync) {
              checkpoint.inSync = true
              emit({
                type: 'in-sync',
                at: Date.now(),
                message: 'source and target are in sync (no change pending)',
              })
            }
            if (options.untilSynced) return
          } else {
            checkpoint.inSync = false
            continue
          }
        }
        await sleep(50)
        if (checkpoint.inSync && pendingChanges()) checkpoint.inSync = false
      }
      // Stopped (Ctrl-C): catch up with what is already pending, briefly and within --max-ops, so
      // that the run says whether the target has every change seen up to the stop.
      if (!bulkDone || halted) return
      checkpoint.inSync = false
      const deadline = sleep(CATCH_UP_MS).then(() => 'late' as const)
      for (;;) {
        const failure = copierFailure()
        if (failure) throw failure
        const step = (async () => ((await copyPending()) ? 'more' : (await settled()) ? 'settled' : 'more'))()
        step.catch(() => {}) // abandoned at the deadline: its connections close with the run
        const r = await Promise.race([step, deadline])
        if (r === 'settled' && !copierFailure()) {
          checkpoint.inSync = true
          return
        }
        if (r === 'late') break
      }
      pendingAtStop = pendingChanges()
    }
    emit({
      type: 'phase',
      phase: 'copy',
      detail: `${copiers.size} source node${copiers.size === 1 ? '' : 's'}`,
    })
    const live = options.live ? liveLoop() : Promise.resolve()
    live.catch(() => {}) // awaited below, once the bulk copy is done; not an unhandled rejection meanwhile
    try {
      await Promise.all([...copiers.values()].map((c) => c.bulk()))
      await Promise.all([...writers.values()].map((w) => w.pipeline.flush()))
      bulkRunning = false
      const scanned = Object.values(checkpoint.nodes).every((n) => n.done)
      // Keys may have moved past a scan while it ran: the copy is complete only if nothing moved.
      if (scanned && !options.signal?.aborted) halted = await topologyChange()
      bulkDone = scanned && !halted
      if (!options.signal?.aborted && !halted)
        emit({ type: 'phase', phase: 'bulk-done', detail: options.live ? 'following changes' : '' })
      await live
      await Promise.all([...writers.values()].map((w) => w.pipeline.flush()))
    } catch (err) {
      bulkRunning = false
      checkpoint.inSync = false
      await save().catch(() => {})
      const hint = !stalled && err instanceof KvtopError ? err.hint : undefined
      throw new OperationError(`the migration stopped: ${stalled ?? errorMessage(err)}`, {
        resumable: Boolean(options.checkpointPath),
        hint: options.checkpointPath ? hint : 'Without --checkpoint a new run starts over.',
        ...(err instanceof KvtopError && err.code !== 'failed' ? { code: err.code } : {}),
      })
    }
    progress()
    if (halted) await stopForTopology(halted)
    const complete = Object.values(checkpoint.nodes).every((n) => n.done)
    if (options.signal?.aborted && !complete) {
      checkpoint.inSync = false
      await save()
      throw new OperationError('interrupted before the copy was complete', {
        resumable: Boolean(options.checkpointPath),
      })
    }
    const failure = copierFailure()
    if (failure) {
      checkpoint.inSync = false
      await save()
      throw new OperationError(`the migration stopped: ${failure.message}`, {
        code: failure.code,
        resumable: Boolean(options.checkpointPath),
        ...(failure.hint ? { hint: failure.hint } : {}),
      })
    }
    if (pendingAtStop !== undefined) {
      await save()
      throw new OperationError(
        pendingAtStop > 0
          ? `interrupted with ${pendingAtStop} live change${pendingAtStop === 1 ? '' : 's'} not yet copied to the target`
          : 'interrupted while live changes were still being copied to the target',
        {
          code: 'changes-pending',
          resumable: Boolean(options.checkpointPath),
          hint: options.checkpointPath
            ? 'Run the same command again: it resumes, copies changes again, and its final verify shows any key that differs.'
            : 'The target lacks those changes: run migrate run --live --replace again (or kvtop verify to see them).',
        },
      )
    }
    // A long --live phase: the topology is read again at its end.
    if (options.live && complete) {
      const change = await topologyChange()
      if (change) await stopForTopology(change)
    }
    const errors = [...writers.values()].reduce((n, w) => n + w.errors, 0)
    // Finished only when every key is on the target: complete, nothing refused, nothing stopped.
    checkpoint.finished = complete && errors === 0 && !stalled
    if (errors) checkpoint.inSync = false
    await save()
    const firstErrors = [...writers.values()].flatMap((w) => w.firstErrors).slice(0, 5)
    const states = Object.values(checkpoint.nodes)
    const keys = states.reduce((n, s) => n + s.keys, 0)
    const seconds = (Date.now() - started) / 1000
    const report: MigrateReport = {
      resumed,
      mode,
      ...(modeReason ? { modeReason } : {}),
      keys,
      copiedThisRun: keys - keysBefore,
      bytes: states.reduce((n, s) => n + s.bytes, 0),
      vanished: states.reduce((n, s) => n + s.vanished, 0),
      liveCopies: checkpoint.liveCopies,
      liveDeletes: checkpoint.liveDeletes,
      inSync: checkpoint.inSync,
      restarted: restarted.map((r) => r.address),
      seconds,
      keysPerSecond: Math.round((keys - keysBefore) / Math.max(seconds, 0.001)),
      errors: { total: errors, first: firstErrors },
      cutover: [
        'Stop writes to the source (application maintenance mode, or revoke write ACLs).',
        options.live
          ? 'Wait for kvtop to report "in sync" (no change pending).'
          : 'Run migrate run --live, or copy again, for the writes made since the copy.',
        'Run kvtop verify --source ... --target ... and expect exit 0.',
        'Switch the clients to the target endpoint (and its TLS settings and credentials); keep the source until you are sure.',
      ],
    }
    // With --slots only part of the keyspace was copied: a whole-dataset verify would flag the rest.
    if (options.verify !== false && complete && !options.slots) {
      emit({ type: 'phase', phase: 'verify' })
      report.verify = await verifyDatasets(source, target, {
        dbMap: options.dbMap,
        passes: 3,
        passIntervalMs: 1000,
        maxOps: options.maxOps,
        stallTimeoutMs: options.stallTimeoutMs,
        onEvent: emit,
      })
    }
    return report
  } finally {
    for (const close of closers.reverse()) {
      try {
        await close()
      } catch {
        // closing is best effort
      }
    }
    await Promise.all([source.close(), target?.close()])
  }
}
