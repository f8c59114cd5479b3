import { SLOTS } from '../../wire/routed-pipeline.js'
import { RespError } from '../../wire/reply-parser.js'
import { WorkWindow } from '../work-window.js'
import { ProgressTracker } from '../progress.js'
import { compareKeys, difference, type CompareSettings } from './compare-keys.js'
import type { Endpoints } from './logical.js'
import type { KeyPage, Side } from './side.js'
import { holdsNoExpiry, unchanged, type SideState } from './side-state.js'
import {
  DEFAULT_MAX_DIFFERENCES,
  type Difference,
  type DifferenceCategory,
  type VerifyMode,
  type VerifyOptions,
  type VerifyReport,
} from './types.js'
import { wait as sleep } from '../../wait.js'

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

/** A source db and the target db its keys go to. */
type DbPair = { source: number; target: number }

interface Candidate {
  diff: Difference
  key: Buffer
  pair: DbPair
}

/** What one verify compares: the db pairs and each side's key counts, read before it starts. */
interface VerifyScope {
  mode: VerifyMode
  pairs: DbPair[]
  sourceDbs: Map<number, number>
  targetDbs: Map<number, number>
  /** Keys per batch (one pipelined round per side). */
  batch: number
  /** Each side's state before the comparison: what the reverse direction may be settled by. */
  start: { source: SideState; target: SideState }
}

/**
 * One verify over its two sides: `compareBothWays()` (every source key on the target, every target
 * key on the source), `countDifferences()` (quick mode), `recheck()` (later passes over what
 * differed), then `report()`. Differences found are candidates until the last pass.
 */
export class VerifyRun {
  readonly forward: ProgressTracker
  readonly reverse: ProgressTracker
  private readonly candidates = new Map<string, Candidate>()
  /** Keys the forward pass was given per pair (SCAN's pages, repeats included). */
  private readonly scanned = new Map<DbPair, number>()
  /** The pairs whose dbs held no key with an expiry on either side at the start. */
  private readonly noExpiries: Set<DbPair>
  /** Target db -> the source dbs mapped onto it (none: every key there is extra). */
  private readonly reversePairs = new Map<number, number[]>()
  private lastEvent = 0
  private firstPass = 0
  private pass = 1
  private countDiffs: Difference[] = []
  /** The comparison's own stop (either direction failing, or the difference limit reached). */
  private stopComparing: AbortController | undefined
  /** The limit, once reached. */
  private stoppedAt: number | undefined
  private readonly maxDifferences: number

  constructor(
    private readonly source: Side,
    private readonly target: Side,
    private readonly scope: VerifyScope,
    private readonly settings: CompareSettings,
    private readonly options: VerifyOptions,
  ) {
    const { pairs, sourceDbs, targetDbs, start } = scope
    const limit = options.maxDifferences ?? DEFAULT_MAX_DIFFERENCES
    this.maxDifferences = limit > 0 ? limit : Infinity
    this.noExpiries = new Set(
      pairs.filter(
        (p) =>
          scope.mode === 'full' &&
          holdsNoExpiry(start.source, p.source) &&
          holdsNoExpiry(start.target, p.target),
      ),
    )
    const total = pairs.reduce((n, p) => n + (sourceDbs.get(p.source) ?? 0), 0)
    this.forward = new ProgressTracker('source -> target', 'keys', total)
    for (const p of pairs)
      this.reversePairs.set(p.target, [...(this.reversePairs.get(p.target) ?? []), p.source])
    for (const db of targetDbs.keys()) if (!this.reversePairs.has(db)) this.reversePairs.set(db, [])
    const reverseTotal = [...this.reversePairs.keys()].reduce((n, db) => n + (targetDbs.get(db) ?? 0), 0)
    this.reverse = new ProgressTracker('target -> source', 'keys', reverseTotal)
  }

  private emit(event: Parameters<NonNullable<VerifyOptions['onEvent']>>[0]): void {
    this.options.onEvent?.(event)
  }

  private add(c: Candidate): void {
    const id = `${c.diff.category}/${c.pair.source}/${c.diff.keyHex}`
    if (this.candidates.size >= this.maxDifferences && !this.candidates.has(id)) {
      // Held to the end, every difference costs memory: past the limit the comparison stops.
      if (!this.stoppedAt) {
        this.stoppedAt = this.maxDifferences
        this.stopComparing?.abort()
      }
      return
    }
    this.candidates.set(id, c)
  }

  private tick(t: ProgressTracker): void {
    if (Date.now() - this.lastEvent < 250) return
    this.lastEvent = Date.now()
    this.emit(t.snapshot())
  }

  /**
   * Both directions at once (unless --max-ops): the reverse scan (target keys the source lacks)
   * costs little of either server, and run beside the forward one it adds no time of its own. A
   * target db whose key count equals its source db's waits for the forward pass instead: when
   * neither side changed meanwhile, the counts settle it without a scan (notSettled).
   */
  async compareBothWays(): Promise<void> {
    this.emit({ type: 'phase', phase: 'compare', detail: `${this.forward.total} source keys` })
    // A failure of either direction stops the other's scans (at their next batch).
    const stop = new AbortController()
    this.stopComparing = stop
    const stopOnAbort = () => stop.abort()
    const { signal } = this.options
    signal?.addEventListener('abort', stopOnAbort, { once: true })
    if (signal?.aborted) stop.abort()
    const stopping = (work: Promise<void>) =>
      work.catch((err: unknown) => {
        stop.abort()
        throw err
      })
    const forwardDone = stopping(this.forwardPass(stop.signal))
    const countable = this.countableDbs()
    const scanned = [...this.reversePairs.keys()].filter((db) => !countable.includes(db))
    // Under --max-ops each node's budget sets the pace, not round trips: the directions take turns,
    // each spending the whole budget.
    const reverseDone = stopping(
      this.options.maxOps
        ? forwardDone.then(() => this.reversePass(stop.signal, scanned))
        : this.reversePass(stop.signal, scanned),
    )
    const countedDone = stopping(forwardDone.then(() => this.afterForward(stop.signal, countable)))
    // Both settle before either failure is thrown: nothing left running against closed connections.
    const results = await Promise.allSettled([forwardDone, reverseDone, countedDone])
    signal?.removeEventListener('abort', stopOnAbort)
    for (const r of results) if (r.status === 'rejected') throw r.reason
    this.firstPass = this.candidates.size
    if (this.stoppedAt)
      this.emit({
        type: 'warning',
        message: `stopped comparing after ${this.stoppedAt} differences (--max-differences): the datasets are far apart; the counts are of the keys compared until then`,
      })
  }

  /**
   * What waits for the forward pass, on each side's state after it: the pairs compared without
   * expiries whose dbs hold keys with one now are compared again, expiries asked; the target dbs
   * the counts may settle are scanned only if they did not.
   */
  private async afterForward(stop: AbortSignal, countable: number[]): Promise<void> {
    const { source, target } = this
    const unasked = this.scope.pairs.filter((p) => this.noExpiries.has(p))
    if (!countable.length && !unasked.length) return
    const [sourceEnd, targetEnd] = await Promise.all([source.state(), target.state()])
    const gained = unasked.filter(
      (p) => !(holdsNoExpiry(sourceEnd, p.source) && holdsNoExpiry(targetEnd, p.target)),
    )
    if (gained.length) await this.forwardPass(stop, gained, true)
    await this.reversePass(stop, this.notSettled(countable, sourceEnd, targetEnd))
  }

  /**
   * Forward: every source key on the target. A pair whose dbs held no key with an expiry on either
   * side at the start is compared without asking for expiries, unless `again` (they have some now).
   * Keys compared `again` are not counted twice.
   */
  private async forwardPass(stop: AbortSignal, pairs = this.scope.pairs, again = false): Promise<void> {
    const { source, target } = this
    for (const pair of pairs) {
      const e: Endpoints = { source, target, sourceDb: pair.source, targetDb: pair.target }
      const settings =
        this.noExpiries.has(pair) && !again ? { ...this.settings, noExpiries: true } : this.settings
      await Promise.all(
        source.primaries.map(async (node) => {
          // Several batches in flight per node: each needs one round trip per side (two for values whose payloads differ).
          const window = new WorkWindow(IN_FLIGHT)
          for await (const page of source.scanPages(node.address, pair.source, this.scope.batch, stop)) {
            await window.add(async () => {
              try {
                for (const diff of await compareKeys(e, page.keys(), settings))
                  this.add({ diff, key: Buffer.from(diff.keyHex, 'hex'), pair })
              } finally {
                // Every difference holds its key as text: the page's bytes serve a later read.
                page.release()
              }
              if (again) return
              this.scanned.set(pair, (this.scanned.get(pair) ?? 0) + page.count)
              this.forward.add(page.count)
              this.tick(this.forward)
            })
          }
          await window.drain()
        }),
      )
    }
    this.emit(this.forward.snapshot())
  }

  /**
   * Target dbs whose keys the counts may account for (full mode): one source db maps to each, both
   * had as many keys at the start, and both sides' primaries report their change counters.
   */
  private countableDbs(): number[] {
    const { mode, sourceDbs, targetDbs, start } = this.scope
    if (mode !== 'full' || start.source.changes === undefined || start.target.changes === undefined) return []
    return [...this.reversePairs]
      .filter(([db, from]) => from.length === 1 && sourceDbs.get(from[0]) === targetDbs.get(db))
      .map(([db]) => db)
  }

  /**
   * Of the `countable` target dbs, those the counts do not settle. A db is settled when nothing was
   * written, expired, evicted or saved on either side during the forward pass (the change counters
   * of every primary as at the start: both keyspaces held still), every key of its source db was
   * scanned and found on it (no key missing in the target, none hidden from the scan: as many
   * scanned as counted), and it holds as many keys as that source db: the source's keys are all on
   * it, and there is room for no other. Otherwise it is scanned, as always.
   */
  private notSettled(countable: number[], sourceEnd: SideState, targetEnd: SideState): number[] {
    const { start } = this.scope
    const still = unchanged(start.source, sourceEnd) && unchanged(start.target, targetEnd)
    const missing = new Set(
      [...this.candidates.values()]
        .filter((c) => c.diff.category === 'missing-in-target')
        .map((c) => c.pair.target),
    )
    return countable.filter((db) => {
      const keys = targetEnd.dbs.get(db)?.keys ?? 0
      const pair = this.scope.pairs.find((p) => p.target === db)!
      // Fewer keys scanned than counted: some were hidden (expired, not yet deleted: a paused server).
      const seen = (this.scanned.get(pair) ?? 0) >= (start.source.dbs.get(pair.source)?.keys ?? 0)
      const settled =
        still && seen && !missing.has(db) && keys === (sourceEnd.dbs.get(pair.source)?.keys ?? 0)
      if (settled) this.reverse.add(keys)
      return !settled
    })
  }

  /** Reverse: target keys the source does not have. Target dbs no source db maps to are all extra. */
  private async reversePass(stop: AbortSignal, dbs: number[]): Promise<void> {
    if (this.scope.mode !== 'full') return
    const { target } = this
    for (const targetDb of dbs) {
      const sourceDbsFor = this.reversePairs.get(targetDb)!
      if (target.cluster && targetDb !== 0) continue
      await Promise.all(
        target.primaries.map(async (node) => {
          const window = new WorkWindow(IN_FLIGHT)
          for await (const page of target.scanPages(node.address, targetDb, this.scope.batch, stop)) {
            await window.add(async () => {
              try {
                await this.extraKeys(page, targetDb, sourceDbsFor)
              } finally {
                page.release()
              }
              this.reverse.add(page.count)
              this.tick(this.reverse)
            })
          }
          await window.drain()
        }),
      )
    }
    this.emit(this.reverse.snapshot())
  }

  /** The keys of a target page that no source db mapped to its db holds: each a difference. */
  private async extraKeys(page: KeyPage, targetDb: number, sourceDbsFor: number[]): Promise<void> {
    const { source } = this
    // The common case, equal datasets: one EXISTS settles the page, no key made.
    if (sourceDbsFor.length === 1 && (await source.holdsAll(sourceDbsFor[0], page))) return
    const keys = page.keys()
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
      // A copy: the page's bytes serve a later read once it is released.
      const own = Buffer.from(key)
      this.add({ diff: difference('missing-in-source', own, pair.source, 'only in target'), key: own, pair })
    })
  }

  /** Counts (quick mode): per db, and per slot when both sides are clusters. */
  async countDifferences(): Promise<void> {
    const { mode, pairs, sourceDbs, targetDbs } = this.scope
    if (mode !== 'quick') return
    for (const pair of pairs) {
      const a = sourceDbs.get(pair.source) ?? 0
      const b = targetDbs.get(pair.target) ?? 0
      if (a !== b && pairs.filter((p) => p.target === pair.target).length === 1) {
        this.countDiffs.push(
          difference(
            'count',
            Buffer.alloc(0),
            pair.source,
            `db ${pair.source}: ${a} keys in source, db ${pair.target}: ${b} in target`,
          ),
        )
      }
    }
    if (this.source.cluster && this.target.cluster)
      this.countDiffs.push(...(await slotCountDiffs(this.source, this.target)))
  }

  /** Later passes: only what differed, after a pause, until nothing does or the passes run out. */
  async recheck(passes: number): Promise<void> {
    const { options, source, target, settings } = this
    const batch = this.scope.batch
    // Stopped at the limit, the comparison is partial: re-checking what it found would not complete it.
    while (this.pass < passes && this.candidates.size && !this.stoppedAt && !options.signal?.aborted) {
      this.pass++
      this.emit({
        type: 'phase',
        phase: `pass ${this.pass}`,
        detail: `re-checking ${this.candidates.size} keys`,
      })
      await sleep(options.passIntervalMs ?? 1000, options.signal)
      // Appended in place: a copy of the list per candidate made 200,000 differences take minutes.
      const byPair = new Map<string, Candidate[]>()
      for (const c of this.candidates.values()) {
        const id = `${c.pair.source}:${c.pair.target}`
        const list = byPair.get(id)
        if (list) list.push(c)
        else byPair.set(id, [c])
      }
      this.candidates.clear()
      for (const list of byPair.values()) {
        const pair = list[0].pair
        const e: Endpoints = { source, target, sourceDb: pair.source, targetDb: pair.target }
        const unique = new Map(list.map((c) => [c.diff.keyHex, c.key]))
        const keys = [...unique.values()]
        // Several batches in flight, as in the first pass: each is a round trip or two per side.
        const window = new WorkWindow(IN_FLIGHT)
        for (let i = 0; i < keys.length; i += batch) {
          // Stopped (Ctrl-C) in the middle of a pass: what it did not re-check is reported as the
          // pass before found it, and the run ends now rather than after the whole pass.
          if (options.signal?.aborted) {
            const unchecked = new Set([...unique.keys()].slice(i))
            for (const c of list) if (unchecked.has(c.diff.keyHex)) this.add(c)
            break
          }
          const part = keys.slice(i, i + batch)
          await window.add(async () => {
            for (const diff of await compareKeys(e, part, settings))
              this.add({ diff, key: Buffer.from(diff.keyHex, 'hex'), pair })
          })
        }
        await window.drain()
      }
    }
  }

  /** What differs after the last pass, each difference also handed to `onDifference`. */
  report(started: number): VerifyReport {
    const final = [...this.countDiffs, ...[...this.candidates.values()].map((c) => c.diff)]
    const counts = Object.fromEntries(CATEGORIES.map((c) => [c, 0])) as Record<DifferenceCategory, number>
    for (const d of final) {
      counts[d.category]++
      this.options.onDifference?.(d)
    }
    const seconds = (Date.now() - started) / 1000
    const { forward, reverse } = this
    return {
      mode: this.scope.mode,
      identical: final.length === 0,
      sourceKeys: forward.done,
      targetKeys: reverse.done,
      counts,
      examples: final.slice(0, EXAMPLES),
      converged: Math.max(0, this.firstPass - this.candidates.size),
      passes: this.pass,
      seconds,
      keysPerSecond: seconds > 0 ? Math.round((forward.done + reverse.done) / seconds) : 0,
      dbs: this.scope.pairs,
      ...(this.stoppedAt ? { stoppedAt: this.stoppedAt } : {}),
    }
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
