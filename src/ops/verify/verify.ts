import type { ConnectedTarget } from '../../connect/target.js'
import { DEFAULT_STALL_TIMEOUT_MS, StallWatch, stallError } from '../../wire/stall-watch.js'
import type { CompareSettings } from './compare-keys.js'
import { Side } from './side.js'
import type { SideState } from './side-state.js'
import type { VerifyOptions, VerifyReport } from './types.js'
import { VerifyRun } from './verify-run.js'
import { mapDbs } from '../../data/keyspace/db-map.js'

const keyCounts = (state: SideState) => new Map([...state.dbs].map(([db, c]) => [db, c.keys]))

/**
 * `kvtop verify`: are two datasets the same, whatever the shapes (standalone, replicated, cluster,
 * different shard counts, db mapping)? Both directions, at once: the source's keys are looked up
 * on the target while the target's keys are looked up on the source (one after the other under
 * --max-ops). Differences are re-checked over `passes`, so a replication still in flight converges
 * instead of being reported.
 */
export async function verifyDatasets(
  sourceDeployment: ConnectedTarget,
  targetDeployment: ConnectedTarget,
  options: VerifyOptions = {},
): Promise<VerifyReport> {
  const started = Date.now()
  const mode = options.mode ?? 'full'
  const settings: CompareSettings = {
    ttlToleranceMs: options.ttlToleranceMs ?? 1000,
    chunkElements: options.chunkElements ?? 1000,
    showValues: options.showValues ?? false,
    typesOnly: mode === 'quick',
  }
  const limits = { maxOps: options.maxOps, signal: options.signal }
  const source = new Side(sourceDeployment, 'source', limits)
  const target = new Side(targetDeployment, 'target', limits)
  // A node that owes replies and answers nothing stops the compare, naming the node.
  const stalls = new StallWatch({
    timeoutMs: options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS,
    onStall: (stall) =>
      stallError(stall, {
        what: 'verify',
        role: source.watched().some((w) => w.address === stall.address) ? 'source' : 'target',
      }),
  })
  stalls.addSource(() => [...source.watched(), ...target.watched()])
  try {
    const [sourceState, targetState] = await Promise.all([source.state(), target.state()])
    const sourceDbs = keyCounts(sourceState)
    const targetDbs = keyCounts(targetState)
    if (mode !== 'quick')
      settings.absoluteTtl = (
        await Promise.all([source.hasAbsoluteExpiry(), target.hasAbsoluteExpiry()])
      ).every(Boolean)
    const pairs = mapDbs(sourceDbs, source, target, options.dbMap ?? new Map())
    const batch = options.batchKeys ?? 2000
    const scope = {
      mode,
      pairs,
      sourceDbs,
      targetDbs,
      batch,
      start: { source: sourceState, target: targetState },
    }
    const run = new VerifyRun(source, target, scope, settings, options)
    await run.compareBothWays()
    await run.countDifferences()
    await run.recheck(Math.max(1, options.passes ?? 3))
    return run.report(started)
  } catch (err) {
    // What a stall caused (connections aborted) is reported as the stall itself.
    throw stalls.error ?? err
  } finally {
    stalls.stop()
    await Promise.all([source.close(), target.close()])
  }
}
