import type { Deployment } from '../../connect/deployment.js'
import { escapeBytes } from '../../data/escape.js'
import { keyAtOffset, RdbReader } from '../../data/rdb/reader.js'
import { openRawNode } from '../../wire/node.js'
import { RoutedPipeline } from '../../wire/routed-pipeline.js'
import type { RespError } from '../../wire/reply-parser.js'
import { classifyReply } from '../../wire/classify.js'
import { DEFAULT_STALL_TIMEOUT_MS, StallWatch, stallMessage } from '../../wire/stall-watch.js'
import { OperationError } from '../../errors.js'
import type { EventSink } from '../events.js'
import { fileError } from './inspect.js'
import { watchPipeline } from './pipeline-stall.js'
import { entryRouting } from './restore-routing.js'
import type { RestoreOptions } from './restore-options.js'

/** Count the file's keys that exist on the target (EXISTS, pipelined), when the target is not empty. */
export async function countExisting(
  deployment: Deployment,
  path: string,
  merged: Map<number, number[]>,
  targetDb: (db: number) => number,
  options: RestoreOptions,
  emit: EventSink,
): Promise<{ count: number; example?: string }> {
  let occupied = false
  for (const node of deployment.primaries) {
    for (const db of merged.keys()) {
      const conn = await openRawNode(deployment.spec, node, { db, name: 'kvtop-restore' })
      try {
        const n = await conn.call(['DBSIZE'])
        if (typeof n === 'number' && n > 0) occupied = true
      } finally {
        conn.close()
      }
    }
  }
  if (!occupied) return { count: 0 }
  emit({ type: 'phase', phase: 'checking', detail: 'which keys already exist on the target' })
  let count = 0
  let example: string | undefined
  let exampleOffset = -1
  let refusal: RespError | undefined
  const pipeline = new RoutedPipeline<number>({
    spec: deployment.spec,
    topology: deployment.topology,
    batchBytes: options.batchBytes,
    window: options.window,
    onReply: (reply, offset) => {
      // An error instead of the answer (NOPERM, LOADING ...): the count would be wrong.
      if (classifyReply(reply) !== 'ok') refusal ??= reply as RespError
      else if (offset >= 0 && reply === 1) {
        count++
        if (exampleOffset < 0) exampleOffset = offset
      }
    },
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
  const reader = RdbReader.fromFile(path, { verifyChecksum: false })
  const routing = entryRouting(pipeline, deployment.topology.mode === 'cluster', targetDb, -1)
  try {
    for await (const batch of reader.batches()) {
      let wait: Promise<void> | undefined
      const now = Date.now()
      for (const rec of batch) {
        if (rec.kind !== 'entry') continue
        if (rec.expireAt !== undefined && rec.expireAt <= now) continue
        const slot = routing.slotFor(rec)
        const b = pipeline.batchFor(slot)
        b.begin()
        b.header(0x2a, 2)
        b.text('EXISTS')
        if (rec.keyIsPlain) b.bulk(rec.buf, rec.keyStart, rec.keyEnd)
        else b.bulk(rec.key)
        b.end(rec.offset)
        wait = pipeline.written(slot) ?? wait
      }
      if (wait) await wait
    }
    await pipeline.flush()
  } catch (err) {
    throw stallWatch.error ?? fileError(path, err)
  } finally {
    stallWatch.stop()
    await pipeline.close()
  }
  if (refusal)
    throw new OperationError(
      `cannot check which keys already exist on the target: ${refusal.message}: nothing was restored`,
      {
        resumable: true,
        hint: 'Fix the cause, or pass --replace to overwrite existing keys without checking.',
      },
    )
  if (exampleOffset >= 0) example = escapeBytes(await keyAtOffset(path, exampleOffset))
  return { count, ...(example ? { example } : {}) }
}
