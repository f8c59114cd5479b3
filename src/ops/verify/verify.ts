import type { Deployment } from '../../connect/deployment.js'
import { SLOTS } from '../../wire/routed-pipeline.js'
import { RespError } from '../../wire/reply-parser.js'
import { WorkWindow } from '../work-window.js'
import { DEFAULT_STALL_TIMEOUT_MS, StallWatch, stallError } from '../../wire/stall-watch.js'
import { ProgressTracker } from '../progress.js'
import { compareKeys, difference, type CompareSettings } from './compare-keys.js'
import type { Endpoints } from './logical.js'
import { Side } from './side.js'
import type { Difference, DifferenceCategory, VerifyOptions, VerifyReport } from './types.js'
import { mapDbs } from '../../data/keyspace/db-map.js'

// Migrate finds it here too; it lives with the other keyspace facts.
export { mapDbs }

const CATEGORIES: DifferenceCategory[] = [
  'missing-in-target',
  'missing-in-source',
  'type',
  'value',
  'ttl',
  'count',
]
const EXAMPLES = 20
/** Key batches compared at once per source (or target) primary. */
const IN_FLIGHT = 8
const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms)
    signal?.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true })
  })

interface Candidate {
  diff: Difference
  key: Buffer
  pair: { source: number; target: number }
}

/**
 * `kvtop verify`: are two datasets the same, whatever the shapes (standalone, replicated, cluster,
 * different shard counts, db mapping)? Both directions, at once: the source's keys are looked up
 * on the target while the target's keys are looked up on the source (one after the other under
 * --max-ops). Differences are re-checked
 * over `passes`, so a replication still in flight converges instead of being reported.
 */
export async function verifyDatasets(
  sourceDeployment: Deployment,
  targetDeployment: Deployment,
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
  const batch = options.batchKeys ?? 2000
  const passes = Math.max(1, options.passes ?? 3)
  const emit = options.onEvent ?? (() => {})
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
    const [sourceDbs, targetDbs] = await Promise.all([source.keyspace(), target.keyspace()])
    if (mode !== 'quick')
      settings.absoluteTtl = (
        await Promise.all([source.hasAbsoluteExpiry(), target.hasAbsoluteExpiry()])
      ).every(Boolean)
    const pairs = mapDbs(sourceDbs, source, target, options.dbMap ?? new Map())
    const candidates = new Map<string, Candidate>()
    const add = (c: Candidate) => candidates.set(`${c.diff.category}/${c.pair.source}/${c.diff.keyHex}`, c)

    // Both directions at once (unless --max-ops): the reverse scan (target keys the source lacks)
    // costs little of either server, and run beside the forward one it adds no time of its own.
    const total = pairs.reduce((n, p) => n + (sourceDbs.get(p.source) ?? 0), 0)
    const forward = new ProgressTracker('source -> target', 'keys', total)
    emit({ type: 'phase', phase: 'compare', detail: `${total} source keys` })
    let lastEvent = 0
    const tick = (t: ProgressTracker) => {
      if (Date.now() - lastEvent < 250) return
      lastEvent = Date.now()
      emit(t.snapshot())
    }
    const reversePairs = new Map<number, number[]>()
    for (const p of pairs) reversePairs.set(p.target, [...(reversePairs.get(p.target) ?? []), p.source])
    for (const db of targetDbs.keys()) if (!reversePairs.has(db)) reversePairs.set(db, [])
    const reverseTotal = [...reversePairs.keys()].reduce((n, db) => n + (targetDbs.get(db) ?? 0), 0)
    const reverse = new ProgressTracker('target -> source', 'keys', reverseTotal)

    // A failure of either direction stops the other's scans (at their next batch).
    const stop = new AbortController()
    const stopOnAbort = () => stop.abort()
    options.signal?.addEventListener('abort', stopOnAbort, { once: true })
    if (options.signal?.aborted) stop.abort()
    const stopping = (work: Promise<void>) =>
      work.catch((err: unknown) => {
        stop.abort()
        throw err
      })

    // Forward: every source key on the target.
    const forwardPass = async () => {
      for (const pair of pairs) {
        const e: Endpoints = { source, target, sourceDb: pair.source, targetDb: pair.target }
        await Promise.all(
          source.primaries.map(async (node) => {
            // Several batches in flight per node: each needs one round trip per side (two for values whose payloads differ).
            const window = new WorkWindow(IN_FLIGHT)
            for await (const keys of source.scanNode(node.address, pair.source, batch, stop.signal)) {
              await window.add(async () => {
                for (const diff of await compareKeys(e, keys, settings))
                  add({ diff, key: Buffer.from(diff.keyHex, 'hex'), pair })
                forward.add(keys.length)
                tick(forward)
              })
            }
            await window.drain()
          }),
        )
      }
      emit(forward.snapshot())
    }

    // Reverse: target keys the source does not have. Target dbs no source db maps to are all extra.
    const reversePass = async () => {
      if (mode !== 'full') return
      for (const [targetDb, sourceDbsFor] of reversePairs) {
        if (target.cluster && targetDb !== 0) continue
        await Promise.all(
          target.primaries.map(async (node) => {
            const window = new WorkWindow(IN_FLIGHT)
            for await (const keys of target.scanNode(node.address, targetDb, batch, stop.signal)) {
              await window.add(async () => {
                const found = new Array<boolean>(keys.length).fill(false)
                for (const sdb of sourceDbsFor) {
                  const exists = await source.existing(sdb, keys)
                  exists.forEach((yes, i) => {
                    if (yes) found[i] = true
                  })
                }
                keys.forEach((key, i) => {
                  if (found[i]) return
                  const pair = { source: sourceDbsFor[0] ?? targetDb, target: targetDb }
                  add({
                    diff: difference('missing-in-source', key, pair.source, 'only in target'),
                    key,
                    pair,
                  })
                })
                reverse.add(keys.length)
                tick(reverse)
              })
            }
            await window.drain()
          }),
        )
      }
      emit(reverse.snapshot())
    }
    const forwardDone = stopping(forwardPass())
    // Under --max-ops each node's budget sets the pace, not round trips: the directions take turns,
    // each spending the whole budget.
    const reverseDone = stopping(options.maxOps ? forwardDone.then(reversePass) : reversePass())
    // Both settle before either failure is thrown: nothing left running against closed connections.
    const [forwardResult, reverseResult] = await Promise.allSettled([forwardDone, reverseDone])
    options.signal?.removeEventListener('abort', stopOnAbort)
    for (const r of [forwardResult, reverseResult]) if (r.status === 'rejected') throw r.reason

    // Counts: per db always; per slot when both sides are clusters (quick mode).
    const countDiffs: Difference[] = []
    for (const pair of pairs) {
      const a = sourceDbs.get(pair.source) ?? 0
      const b = targetDbs.get(pair.target) ?? 0
      if (mode === 'quick' && a !== b && pairs.filter((p) => p.target === pair.target).length === 1) {
        countDiffs.push(
          difference(
            'count',
            Buffer.alloc(0),
            pair.source,
            `db ${pair.source}: ${a} keys in source, db ${pair.target}: ${b} in target`,
          ),
        )
      }
    }
    if (mode === 'quick' && source.cluster && target.cluster)
      countDiffs.push(...(await slotCountDiffs(source, target)))

    // Later passes: only what differed, after a pause.
    const firstPass = candidates.size
    let pass = 1
    while (pass < passes && candidates.size && !options.signal?.aborted) {
      pass++
      emit({ type: 'phase', phase: `pass ${pass}`, detail: `re-checking ${candidates.size} keys` })
      await sleep(options.passIntervalMs ?? 1000, options.signal)
      const byPair = new Map<string, Candidate[]>()
      for (const c of candidates.values()) {
        const id = `${c.pair.source}:${c.pair.target}`
        byPair.set(id, [...(byPair.get(id) ?? []), c])
      }
      candidates.clear()
      for (const list of byPair.values()) {
        const pair = list[0].pair
        const e: Endpoints = { source, target, sourceDb: pair.source, targetDb: pair.target }
        const unique = new Map(list.map((c) => [c.diff.keyHex, c.key]))
        const keys = [...unique.values()]
        for (let i = 0; i < keys.length; i += batch) {
          for (const diff of await compareKeys(e, keys.slice(i, i + batch), settings)) {
            add({ diff, key: Buffer.from(diff.keyHex, 'hex'), pair })
          }
        }
      }
    }

    const final = [...countDiffs, ...[...candidates.values()].map((c) => c.diff)]
    const counts = Object.fromEntries(CATEGORIES.map((c) => [c, 0])) as Record<DifferenceCategory, number>
    for (const d of final) {
      counts[d.category]++
      options.onDifference?.(d)
    }
    const seconds = (Date.now() - started) / 1000
    return {
      mode,
      identical: final.length === 0,
      sourceKeys: forward.done,
      targetKeys: reverse.done,
      counts,
      examples: final.slice(0, EXAMPLES),
      converged: Math.max(0, firstPass - candidates.size),
      passes: pass,
      seconds,
      keysPerSecond: seconds > 0 ? Math.round((forward.done + reverse.done) / seconds) : 0,
      dbs: pairs,
    }
  } catch (err) {
    // What a stall caused (connections aborted) is reported as the stall itself.
    throw stalls.error ?? err
  } finally {
    stalls.stop()
    await Promise.all([source.close(), target.close()])
  }
}

/** Keys per slot on each side (CLUSTER COUNTKEYSINSLOT on the owners), the slots that differ. */
async function slotCountDiffs(source: Side, target: Side): Promise<Difference[]> {
  const counts = async (side: Side) => {
    const out = new Array<number>(SLOTS).fill(0)
    for (const node of side.primaries) {
      const slots = node.slots.flatMap(([a, b]) => Array.from({ length: b - a + 1 }, (_, i) => a + i))
      const conn = await side.conn(node.address, 0)
      for (let i = 0; i < slots.length; i += 2048) {
        const part = slots.slice(i, i + 2048)
        await side.throttle(node.address, part.length)
        const replies = await conn.pipeline(part.map((s) => ['CLUSTER', 'COUNTKEYSINSLOT', s]))
        part.forEach((s, j) => {
          const r = replies[j]
          if (!(r instanceof RespError)) out[s] = Number(r)
        })
      }
    }
    return out
  }
  const [a, b] = await Promise.all([counts(source), counts(target)])
  const diffs: Difference[] = []
  for (let s = 0; s < SLOTS; s++) {
    if (a[s] !== b[s])
      diffs.push(
        difference('count', Buffer.alloc(0), 0, `slot ${s}: ${a[s]} keys in source, ${b[s]} in target`),
      )
  }
  return diffs
}
