import type { ConnectedTarget } from '../../connect/target.js'
import type { TopologyNode } from '../../connect/topology.js'
import type { NodePool } from '../../wire/node-pool.js'
import { DEFAULT_STALL_TIMEOUT_MS, StallWatch, stallError } from '../../wire/stall-watch.js'
import { ProgressTracker } from '../progress.js'
import type { SnapshotOutputs } from './outputs.js'
import type { SnapshotCreateOptions, SnapshotMethod } from './create-options.js'
import { preflightCreate } from './create-preflight.js'
import type { CreateStrategy, SnapshotRun } from './create-strategy.js'
import { newWriteState } from './create-write.js'
import { nodeText } from './create-calls.js'

/**
 * A snapshot's run, before anything is read: the preflight (every check that may refuse, before
 * any file is written), then what the strategy works with: the write state, the files' AUX fields,
 * the progress trackers and the stall watch over every node read from.
 */
export async function startRun(
  deployment: ConnectedTarget,
  nodes: NodePool,
  outputs: SnapshotOutputs,
  options: SnapshotCreateOptions,
  strategy: CreateStrategy,
): Promise<SnapshotRun> {
  const emit = options.onEvent ?? (() => {})
  const engine = deployment.capabilities?.engine ?? 'redis'
  const version = deployment.capabilities?.version ?? '0.0.0'
  const cluster = deployment.topology.mode === 'cluster'
  const warnings: string[] = []
  const warn = (message: string) => {
    warnings.push(message)
    emit({ type: 'warning', message })
  }
  const plan = await preflightCreate(
    deployment,
    nodes,
    (refused, provider) => strategy.checkAllowed(refused, provider),
    warn,
  )
  const usedMemory = await sumUsedMemory(nodes, plan.primaries)
  const keys = plan.sources.reduce((n, s) => n + s.keys, 0)
  const stallTimeoutMs = options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS
  return {
    deployment,
    nodes,
    outputs,
    options,
    plan,
    cluster,
    engine,
    version,
    state: newWriteState(outputs.files.length, strategy.repeatsKeys(cluster) ? keys : undefined),
    aux: auxFields(engine, version, usedMemory, options.method),
    trackers: new Map(),
    total: new ProgressTracker('snapshot', 'keys', keys),
    stallWatch: snapshotStallWatch(stallTimeoutMs),
    stallTimeoutMs,
    emit,
    warn,
    warnings,
  }
}

/** Every node read from is watched: one that owes replies and stays silent stops the snapshot. */
function snapshotStallWatch(timeoutMs: number): StallWatch {
  return new StallWatch({
    timeoutMs,
    onStall: (stall) =>
      stallError(stall, {
        what: 'the snapshot',
        resumable: false,
        hint: 'Nothing was written. Check the node (hung, overloaded or cut off?), then run the snapshot again; if it is only slow, raise --stall-timeout (0 waits forever).',
      }),
  })
}

/** The AUX fields of a file of this RDB version. */
function auxFields(
  engine: string,
  version: string,
  usedMemory: number,
  method: SnapshotMethod,
): (rdbVersion: number) => [string, string][] {
  return (rdbVersion) => [
    [engine === 'valkey' ? 'valkey-ver' : 'redis-ver', version],
    ['redis-bits', '64'],
    ['ctime', String(Math.floor(Date.now() / 1000))],
    ['used-mem', String(usedMemory)],
    ['aof-base', '0'],
    ['kvtop-method', method],
    ['kvtop-rdb-version', String(rdbVersion)],
  ]
}

async function sumUsedMemory(nodes: NodePool, primaries: TopologyNode[]): Promise<number> {
  let total = 0
  for (const node of primaries) {
    const text = await nodeText(nodes, node, ['INFO', 'memory'])
    const m = /^used_memory:(\d+)/m.exec(text)
    if (m) total += Number(m[1])
  }
  return total
}
