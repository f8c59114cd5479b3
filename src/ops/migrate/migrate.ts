import { versionAtLeast } from '../../connect/capabilities.js'
import { Deployment } from '../../connect/deployment.js'
import type { ConnectionInput } from '../../connect/options.js'
import type { TopologyNode } from '../../connect/topology.js'
import { OperationError, UsageError, errorMessage } from '../../errors.js'
import { parseInfoSections, parseKeyspace } from '../../metrics/info.js'
import { ProgressTracker, type EventSink } from '../progress.js'
import type { Side } from '../verify/side.js'
import { mapDbs, verifyDatasets } from '../verify/verify.js'
import { ChangeSet } from './change-set.js'
import { loadCheckpoint, saveCheckpoint } from './checkpoint.js'
import { NodeCopier, TargetWriter } from './copier.js'
import { followChanges, notificationsReach, type ChangeFeed } from './notifications.js'
import { notificationsHint } from './preflight.js'
import type { Checkpoint, MigrateOptions, MigrateReport } from './types.js'

const CHECKPOINT_EVERY_MS = 2000
const DEFAULT_STALL_MS = 60_000
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function keyspaceOf(d: Deployment, node: TopologyNode): Promise<Record<number, number>> {
  const text = String(await (await d.client(node)).info('keyspace'))
  return Object.fromEntries(
    Object.entries(parseKeyspace(parseInfoSections(text).keyspace)).map(([db, k]) => [db, k.keys]),
  )
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
  const source = await Deployment.connect(inputs.source, { probe: true })
  let target: Deployment | undefined
  const closers: (() => Promise<void> | void)[] = []
  try {
    target = await Deployment.connect(inputs.target, { probe: true })
    const cluster = (d: Deployment) => ({ cluster: d.topology.mode === 'cluster' }) as Side
    const sourceKeyspaces = await Promise.all(source.primaries.map((n) => keyspaceOf(source, n)))
    const sourceDbs = new Map<number, number>()
    for (const ks of sourceKeyspaces)
      for (const [db, n] of Object.entries(ks))
        sourceDbs.set(Number(db), (sourceDbs.get(Number(db)) ?? 0) + n)
    const pairs = mapDbs(sourceDbs, cluster(source), cluster(target), options.dbMap ?? new Map())
    const addresses = (d: Deployment) => d.primaries.map((n) => n.address).sort()

    // Resume or start.
    const previous = options.checkpointPath ? loadCheckpoint(options.checkpointPath) : undefined
    if (previous) {
      if (previous.finished && !options.live) {
        throw new UsageError(`the checkpoint ${options.checkpointPath} records a finished migration`, {
          hint: 'Run kvtop verify to compare the datasets, or remove the checkpoint to copy again.',
        })
      }
      const same = (a: string[], b: string[]) => a.join(',') === b.join(',')
      if (!same(previous.source, addresses(source)) || !same(previous.target, addresses(target))) {
        throw new UsageError(`the checkpoint ${options.checkpointPath} is for another source or target`, {
          hint: `It records ${previous.source.join(', ')} -> ${previous.target.join(', ')}. Give another --checkpoint file.`,
        })
      }
      // Its cursors are positions in a scan of those slots only: another range would skip keys.
      const range = (r?: { from: number; to: number }) => (r ? `${r.from}-${r.to}` : 'all')
      if (range(previous.slots) !== range(options.slots)) {
        throw new UsageError(
          `the checkpoint ${options.checkpointPath} records --slots ${range(previous.slots)}, not ${range(options.slots)}`,
          { hint: 'Resume with the same --slots, or give another --checkpoint file.' },
        )
      }
    } else if (!options.replace) {
      const targetKeys = (await Promise.all(target.primaries.map((n) => keyspaceOf(target!, n)))).reduce(
        (sum, ks) => sum + Object.values(ks).reduce((a, b) => a + b, 0),
        0,
      )
      if (targetKeys > 0) {
        throw new UsageError(`the target already holds ${targetKeys} keys`, {
          code: 'target-not-empty',
          hint: 'Empty it first, or pass --replace to overwrite keys of the same name (others stay).',
        })
      }
    }
    const absoluteTtl = versionAtLeast(source.capabilities?.version ?? '0.0.0', '7.0.0')
    const checkpoint: Checkpoint = previous ?? {
      kind: 'kvtop-migrate',
      version: 1,
      source: addresses(source),
      target: addresses(target),
      ...(options.slots ? { slots: options.slots } : {}),
      live: Boolean(options.live),
      startedAt: started,
      updatedAt: started,
      nodes: {},
      liveCopies: 0,
      liveDeletes: 0,
      inSync: false,
      finished: false,
    }
    for (const node of source.primaries) {
      for (const p of pairs) {
        checkpoint.nodes[`${node.address}/${p.source}`] ??= {
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

    // --live: notifications must reach kvtop, and the subscriptions start before the scan.
    const changes = new Map<string, ChangeSet>()
    const feeds: ChangeFeed[] = []
    const pendingChanges = () => [...changes.values()].reduce((n, c) => n + c.size, 0)
    /** A subscription that dropped: changes made meanwhile were not seen, so sync can no longer be claimed. */
    let lost: Error | undefined
    if (options.live) {
      for (const node of source.primaries) {
        for (const p of pairs) {
          if (!(await notificationsReach(source.spec, node, p.source, source.topology.mode === 'cluster'))) {
            throw new UsageError(
              `keyspace notifications do not reach kvtop from ${node.address} (db ${p.source}): --live cannot follow changes`,
              {
                code: 'no-notifications',
                hint: notificationsHint(source.capabilities),
              },
            )
          }
        }
      }
      for (const node of source.primaries) {
        for (const p of pairs) {
          const set = new ChangeSet()
          changes.set(`${node.address}/${p.source}`, set)
          const sub = await followChanges(
            source.spec,
            node,
            p.source,
            (k) => set.add(k),
            (err) => (lost ??= err),
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

    const copiers = new Map<string, NodeCopier>()
    const trackers: ProgressTracker[] = []
    for (const node of source.primaries) {
      const ks = sourceKeyspaces[source.primaries.indexOf(node)]
      for (const p of pairs) {
        const id = `${node.address}/${p.source}`
        const state = checkpoint.nodes[id]
        const tracker = new ProgressTracker(
          pairs.length > 1 ? `${node.address} db ${p.source}` : node.address,
          'keys',
          ks[p.source] ?? 0,
        )
        tracker.add(state.keys)
        trackers.push(tracker)
        const copier = new NodeCopier({
          spec: source.spec,
          node,
          state,
          writer: writerFor(p.target),
          absoluteTtl,
          mode: options.mode ?? 'dump',
          maxOps: options.maxOps,
          slots: options.slots,
          scanCount: options.scanCount ?? 1000,
          signal: options.signal,
          onProgress: (keys, bytes) => tracker.add(keys, bytes),
          onErrors: (n) => tracker.addErrors(n),
          onWarning: (message) => emit({ type: 'warning', message }),
        })
        await copier.open()
        closers.push(() => copier.close())
        copiers.set(id, copier)
      }
    }

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
    const watchStalls = () => {
      const limit = options.stallTimeoutMs ?? DEFAULT_STALL_MS
      if (stalled || limit <= 0) return
      const silent = [
        ...[...copiers.values()].map((c) => ({ side: 'source', address: c.address, ms: c.silentForMs })),
        ...[...writers.values()].flatMap((w) => {
          const worst = w.pipeline.silentest()
          return worst ? [{ side: 'target', ...worst }] : []
        }),
      ].sort((a, b) => b.ms - a.ms)[0]
      if (!silent || silent.ms < limit) return
      stalled = `the ${silent.side} node ${silent.address} has not answered for ${Math.round(silent.ms / 1000)} s`
      for (const c of copiers.values()) c.close()
      for (const w of writers.values()) w.pipeline.abort(new OperationError(stalled))
    }
    const timer = setInterval(() => {
      watchStalls()
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

    // Live re-copies run beside the bulk copy.
    let bulkDone = false
    /** Copy every pending change once; the number of keys handled. */
    const copyPending = async (): Promise<number> => {
      let work = 0
      for (const [id, set] of changes) {
        const keys = set.take(500)
        if (!keys.length) continue
        work += keys.length
        const r = await copiers.get(id)!.recopy(keys)
        checkpoint.liveCopies += r.copied
        checkpoint.liveDeletes += r.deleted
      }
      if (work) await Promise.all([...writers.values()].map((w) => w.pipeline.flush()))
      return work
    }
    /** Nothing pending here; is anything still on its way? Every notification sent before the
     * barrier has arrived once it resolves, and every copy made so far is acknowledged. */
    const settled = async (): Promise<boolean> => {
      await Promise.all(feeds.map((f) => f.barrier()))
      return pendingChanges() === 0
    }
    const liveLoop = async () => {
      while (!options.signal?.aborted) {
        if (lost)
          throw new OperationError(`${lost.message}: changes made meanwhile may not have been seen`, {
            code: 'notifications-lost',
            resumable: true,
            hint: 'Run the same command again: it resumes, follows changes again, and its final verify shows any key that was missed (copy those with --replace).',
          })
        if (await copyPending()) continue
        if (bulkDone) {
          if (await settled()) {
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
      // Stopped (Ctrl-C): catch up with what is already pending, briefly, so that the report says
      // whether the target had every change seen up to the stop.
      if (!bulkDone) return
      const until = Date.now() + 5000
      checkpoint.inSync = false
      while (Date.now() < until) {
        if (await copyPending()) continue
        if (await settled()) {
          checkpoint.inSync = true
          return
        }
      }
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
      bulkDone = Object.values(checkpoint.nodes).every((n) => n.done)
      if (!options.signal?.aborted)
        emit({ type: 'phase', phase: 'bulk-done', detail: options.live ? 'following changes' : '' })
      await live
      await Promise.all([...writers.values()].map((w) => w.pipeline.flush()))
    } catch (err) {
      await save().catch(() => {})
      throw new OperationError(`the migration stopped: ${stalled ?? errorMessage(err)}`, {
        resumable: Boolean(options.checkpointPath),
        hint: options.checkpointPath ? undefined : 'Without --checkpoint a new run starts over.',
      })
    }
    progress()
    const complete = Object.values(checkpoint.nodes).every((n) => n.done)
    if (options.signal?.aborted && !complete) {
      await save()
      throw new OperationError('interrupted before the copy was complete', {
        resumable: Boolean(options.checkpointPath),
      })
    }
    checkpoint.finished = complete
    await save()
    const errors = [...writers.values()].reduce((n, w) => n + w.errors, 0)
    const firstErrors = [...writers.values()].flatMap((w) => w.firstErrors).slice(0, 5)
    const states = Object.values(checkpoint.nodes)
    const keys = states.reduce((n, s) => n + s.keys, 0)
    const seconds = (Date.now() - started) / 1000
    const report: MigrateReport = {
      resumed,
      keys,
      copiedThisRun: keys - keysBefore,
      bytes: states.reduce((n, s) => n + s.bytes, 0),
      vanished: states.reduce((n, s) => n + s.vanished, 0),
      liveCopies: checkpoint.liveCopies,
      liveDeletes: checkpoint.liveDeletes,
      inSync: checkpoint.inSync,
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
