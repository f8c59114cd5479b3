import type { TopologyNode } from '../../connect/topology.js'
import { versionAtLeast } from '../../connect/capabilities.js'
import { scanNode, type NodeScanResult } from '../../data/keyspace/scanner.js'
import { rdbVersionForServer, RDB_OPCODE } from '../../data/rdb/constants.js'
import { RdbWriter } from '../../data/rdb/writer.js'
import { BufferCursor, readString } from '../../data/rdb/walker.js'
import { UsageError, errorMessage } from '../../errors.js'
import { isCommandRefusal } from '../../wire/classify.js'
import type { NodePool } from '../../wire/node-pool.js'
import { ProgressTracker } from '../progress.js'
import type { Source } from './create-preflight.js'
import { selectDbAll, scanSink } from './create-write.js'
import { interrupted, type CreateStrategy, type MethodResult, type SnapshotRun } from './create-strategy.js'
import { checkTopologyUnchanged } from './create-topology.js'
import { callNode } from './create-calls.js'

/** What the scan strategy needs granted, for the refusals that name it. */
const SCAN_GRANT_HINT =
  'snapshot create --method scan needs SCAN, DUMP and PEXPIRETIME/PTTL: grant them to the ACL user.'

/**
 * `--method scan`: SCAN every source, DUMP + PEXPIRETIME (PTTL before Redis 7) pipelined, payloads
 * written as RDB entries; a cluster's shards in parallel, a standalone's dbs one after another.
 * SCAN may return a key twice: every key written is fingerprinted.
 */
export const scanStrategy: CreateStrategy = {
  checkAllowed(refused) {
    for (const command of ['scan', 'dump']) {
      if (refused.has(command)) {
        throw new UsageError(`the endpoint refuses ${command.toUpperCase()} for this user`, {
          code: 'refused',
          hint: SCAN_GRANT_HINT,
        })
      }
    }
  },
  repeatsKeys: () => true,
  read: scanSources,
}

async function scanSources(ctx: SnapshotRun): Promise<MethodResult> {
  const { deployment, cluster, state } = ctx
  const { primaries, refused } = ctx.plan
  const rdbVersion = await openWriters(ctx)
  const results = await scanAll(ctx)
  if (ctx.options.signal?.aborted) throw interrupted()
  const vanished = results.reduce((n, r) => n + r.vanished, 0)
  const redirected = results.reduce((n, r) => n + r.redirected, 0)
  if (cluster) await checkTopologyUnchanged(deployment, redirected)
  const functions = refused.has('function') ? 0 : await copyFunctions(ctx, primaries[0], state.writers[0])
  return { rdbVersion, functions, vanished }
}

/** The files' writers, at the RDB version of the source's values (that of the server when it holds no key). */
async function openWriters(ctx: SnapshotRun): Promise<number> {
  ctx.emit({ type: 'phase', phase: 'probing', detail: 'RDB version of the values' })
  const rdbVersion =
    (await probeDumpVersion(ctx.nodes, ctx.plan.sources)) ?? rdbVersionForServer(ctx.engine, ctx.version)
  ctx.state.writers = ctx.outputs.files.map(
    (f) => new RdbWriter(f.writeStream(), { version: rdbVersion, aux: ctx.aux(rdbVersion) }),
  )
  return rdbVersion
}

/** Every source scanned: a cluster's shards side by side (one failing stops the others), a standalone's dbs one after another. */
async function scanAll(ctx: SnapshotRun): Promise<NodeScanResult[]> {
  const { options, cluster, state, total } = ctx
  const { primaries, sources } = ctx.plan
  ctx.emit({
    type: 'phase',
    phase: 'scanning',
    detail: `${sources.length} source${sources.length === 1 ? '' : 's'} (${primaries.length} primar${primaries.length === 1 ? 'y' : 'ies'})`,
  })
  const expireCommand = versionAtLeast(ctx.version, '7.0.0') ? 'PEXPIRETIME' : 'PTTL'
  const stopAll = new AbortController()
  const signal = options.signal ? AbortSignal.any([options.signal, stopAll.signal]) : stopAll.signal
  const scan = (source: Source) => scanSource(ctx, source, expireCommand, signal)
  if (!cluster) {
    const results: NodeScanResult[] = []
    for (const source of sources) results.push(await scan(source))
    return results
  }
  selectDbAll(state, 0, { keys: total.total ?? 0, expires: sources.reduce((n, s) => n + s.expires, 0) })
  const settled = await Promise.allSettled(
    sources.map((source) =>
      scan(source).catch((err: unknown) => {
        stopAll.abort()
        throw err
      }),
    ),
  )
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected')
  if (failed) throw failed.reason
  return settled.map((r) => (r as PromiseFulfilledResult<NodeScanResult>).value)
}

/** One source (a node, or a standalone's db) scanned into the files, with a progress task of its own. */
async function scanSource(
  ctx: SnapshotRun,
  source: Source,
  expireCommand: 'PEXPIRETIME' | 'PTTL',
  signal: AbortSignal,
): Promise<NodeScanResult> {
  const { cluster, state, total, options } = ctx
  const task =
    cluster || ctx.plan.dbs.length === 1 ? source.node.address : `${source.node.address} db${source.db}`
  const tracker = new ProgressTracker(task, 'keys', source.keys)
  ctx.trackers.set(task, tracker)
  if (!cluster) selectDbAll(state, source.db, source)
  return scanNode({
    spec: ctx.deployment.spec,
    node: source.node,
    db: source.db,
    count: options.scanCount,
    maxOps: options.maxOps,
    expireCommand,
    signal,
    stallWatch: ctx.stallWatch,
    onProgress: (d) => {
      tracker.add(d.keys, d.bytes)
      total.add(d.keys, d.bytes)
    },
    sink: scanSink(state, source.db),
  })
}

/**
 * The RDB version the file must carry is that of the values in it: DUMP one key of each source
 * (the first SCAN finds) and take the highest. Undefined when there are no keys at all.
 */
async function probeDumpVersion(nodes: NodePool, sources: Source[]): Promise<number | undefined> {
  let best: number | undefined
  for (const source of sources) {
    if (source.keys === 0) continue
    const call = (args: (string | Buffer)[]) => callNode(nodes, source.node, args, source.db)
    try {
      let cursor = '0'
      for (let round = 0; round < 50; round++) {
        const [next, keys] = (await call(['SCAN', cursor, 'COUNT', '100'])) as [Buffer, Buffer[]]
        cursor = next.toString()
        let found = false
        for (const key of keys) {
          const payload = (await call(['DUMP', key])) as Buffer | null
          if (!payload || payload.length < 11) continue
          const v = payload.readUInt16LE(payload.length - 10)
          best = best === undefined ? v : Math.max(best, v)
          found = true
          break
        }
        if (found || cursor === '0') break
      }
    } catch (err) {
      if (isCommandRefusal(err as Error)) {
        throw new UsageError(
          `${source.node.address} refuses SCAN or DUMP for this user: ${errorMessage(err)}`,
          { code: 'refused', hint: SCAN_GRANT_HINT },
        )
      }
      throw err
    }
  }
  return best
}

/** Function libraries (Redis 7+): FUNCTION DUMP is a payload of FUNCTION2 records. */
async function copyFunctions(ctx: SnapshotRun, node: TopologyNode, writer: RdbWriter): Promise<number> {
  const { warn } = ctx
  const caps = ctx.deployment.capabilities
  if (caps && !versionAtLeast(caps.version, '7.0.0')) return 0
  let payload: Buffer | null
  try {
    payload = (await callNode(ctx.nodes, node, ['FUNCTION', 'DUMP'])) as Buffer | null
  } catch (err) {
    warn(`function libraries not copied: FUNCTION DUMP failed (${errorMessage(err)})`)
    return 0
  }
  if (!payload || payload.length < 11) return 0
  const c = new BufferCursor(payload, 0, payload.length - 10)
  c.what = 'the FUNCTION DUMP payload'
  let n = 0
  while (c.pos < c.end) {
    const op = c.buf[c.pos++]
    if (op !== RDB_OPCODE.FUNCTION2) {
      warn(`function libraries not copied: unexpected opcode ${op} in FUNCTION DUMP`)
      return n
    }
    writer.writeFunction(Buffer.from(readString(c)))
    n++
  }
  return n
}
