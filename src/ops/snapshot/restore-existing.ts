import type { ConnectedTarget } from '../../connect/target.js'
import { escapeBytes } from '../../data/escape.js'
import { keyAtOffset, RdbReader } from '../../data/rdb/reader.js'
import { parseInfo } from '../../redis/info.js'
import { openRawNode } from '../../wire/node.js'
import { RoutedPipeline } from '../../wire/routed-pipeline.js'
import type { RespError, Reply } from '../../wire/reply-parser.js'
import { classifyReply } from '../../wire/classify.js'
import { DEFAULT_STALL_TIMEOUT_MS, StallWatch, stallMessage } from '../../wire/stall-watch.js'
import { OperationError } from '../../errors.js'
import type { EventSink } from '../events.js'
import { fileError } from './inspect.js'
import { watchPipeline } from './pipeline-stall.js'
import { entryRouting } from './restore-routing.js'
import type { RestoreOptions } from './restore-options.js'

/**
 * The target databases that hold keys, asked of every primary (INFO keyspace, one round trip
 * each) while the file is still being checked: it needs nothing from the file. Undefined when a
 * primary would not say (INFO refused for the user): then each database is asked with DBSIZE once
 * the file says which. A failure to reach a node rejects when it is awaited, after the file's verdict.
 */
export function startOccupancyCheck(target: ConnectedTarget): Promise<Set<number> | undefined> {
  const asked = Promise.all(target.primaries.map((node) => keyspaceOf(target, node))).then((each) =>
    each.some((dbs) => dbs === undefined) ? undefined : new Set(each.flatMap((dbs) => [...dbs!])),
  )
  asked.catch(() => {})
  return asked
}

async function keyspaceOf(
  target: ConnectedTarget,
  node: ConnectedTarget['primaries'][number],
): Promise<number[] | undefined> {
  const conn = await openRawNode(target.spec, node, { name: 'kvtop-restore' })
  try {
    const reply = await conn.call(['INFO', 'keyspace'])
    if (!Buffer.isBuffer(reply) && typeof reply !== 'string') return undefined
    const dbs: number[] = []
    for (const [field, value] of Object.entries(parseInfo(String(reply)))) {
      const db = /^db(\d+)$/.exec(field)
      if (db && !/^keys=0\b/.test(value)) dbs.push(Number(db[1]))
    }
    return dbs
  } finally {
    conn.close()
  }
}

/** Whether any of `dbs` holds keys on any primary: from the occupancy check, or asked now (DBSIZE). */
async function holdsKeys(
  target: ConnectedTarget,
  dbs: Iterable<number>,
  occupied: Set<number> | undefined,
): Promise<boolean> {
  if (occupied) return [...dbs].some((db) => occupied.has(db))
  for (const node of target.primaries) {
    for (const db of dbs) {
      const conn = await openRawNode(target.spec, node, { db, name: 'kvtop-restore' })
      try {
        const n = await conn.call(['DBSIZE'])
        if (typeof n === 'number' && n > 0) return true
      } finally {
        conn.close()
      }
    }
  }
  return false
}

/** Keys of the file found on the target, with the file offset of the first one. */
class ExistsTally {
  count = 0
  firstOffset = -1
  /** An error instead of an answer (NOPERM, LOADING ...): the count would be wrong. */
  refusal: RespError | undefined

  add(reply: Reply, offset: number): void {
    if (classifyReply(reply) !== 'ok') this.refusal ??= reply as RespError
    else if (offset >= 0 && reply === 1) {
      this.count++
      if (this.firstOffset < 0) this.firstOffset = offset
    }
  }
}

/**
 * Count the file's keys that exist on the target (EXISTS, pipelined), when the target databases
 * they go to are not empty. `occupied` is startOccupancyCheck's answer.
 */
export async function countExisting(
  target: ConnectedTarget,
  path: string,
  merged: Map<number, number[]>,
  targetDb: (db: number) => number,
  options: RestoreOptions,
  emit: EventSink,
  occupied: Set<number> | undefined,
): Promise<{ count: number; example?: string }> {
  if (!(await holdsKeys(target, merged.keys(), occupied))) return { count: 0 }
  emit({ type: 'phase', phase: 'checking', detail: 'which keys already exist on the target' })
  const tally = new ExistsTally()
  await askExists(target, path, targetDb, options, tally)
  if (tally.refusal)
    throw new OperationError(
      `cannot check which keys already exist on the target: ${tally.refusal.message}: nothing was restored`,
      {
        resumable: true,
        hint: 'Fix the cause, or pass --replace to overwrite existing keys without checking.',
      },
    )
  if (tally.firstOffset < 0) return { count: tally.count }
  return { count: tally.count, example: escapeBytes(await keyAtOffset(path, tally.firstOffset)) }
}

/** EXISTS for every key of the file not expired, on the node and db it goes to; replies into `tally`. */
async function askExists(
  target: ConnectedTarget,
  path: string,
  targetDb: (db: number) => number,
  options: RestoreOptions,
  tally: ExistsTally,
): Promise<void> {
  const pipeline = new RoutedPipeline<number>({
    spec: target.spec,
    topology: target.topology,
    batchBytes: options.batchBytes,
    window: options.window,
    onReply: (reply, offset) => tally.add(reply, offset),
  })
  const stallWatch = new StallWatch({
    timeoutMs: options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS,
    onStall: (stall) =>
      new OperationError(`the restore stopped before writing anything: ${stallMessage(stall)}`, {
        code: 'stalled',
        resumable: true,
        hint: 'Check the node (hung, overloaded or cut off?), then run the restore again. If it is only slow, raise --stall-timeout (0 waits forever).',
      }),
  })
  watchPipeline(stallWatch, pipeline)
  const routing = entryRouting(pipeline, target.topology.mode === 'cluster', targetDb, -1)
  try {
    let wait: Promise<void> | undefined
    let now = Date.now()
    await RdbReader.fromFile(path, { verifyChecksum: false, reuseBuffers: true }).eachRecord(
      (rec) => {
        if (rec.kind !== 'entry') return
        if (rec.expireAt !== undefined && rec.expireAt <= now) return
        const slot = routing.slotFor(rec)
        const b = pipeline.batchFor(slot)
        b.begin()
        b.header(0x2a, 2)
        b.text('EXISTS')
        if (rec.keyIsPlain) b.bulk(rec.buf, rec.keyStart, rec.keyEnd)
        else b.bulk(rec.key)
        b.end(rec.offset)
        wait = pipeline.written(slot) ?? wait
      },
      async () => {
        if (wait) await wait
        wait = undefined
        now = Date.now()
      },
    )
    await pipeline.flush()
  } catch (err) {
    throw stallWatch.error ?? fileError(path, err)
  } finally {
    stallWatch.stop()
    await pipeline.close()
  }
}
