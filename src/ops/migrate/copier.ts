import type { ConnectionSpec } from '../../connect/client.js'
import type { Topology, TopologyNode } from '../../connect/topology.js'
import { escapeBytes } from '../../data/escape.js'
import { RateLimiter } from '../../data/keyspace/rate-limiter.js'
import { openRawNode } from '../../wire/node.js'
import { keySlot, RoutedPipeline, type CommandBatch } from '../../wire/routed-pipeline.js'
import type { CommandArg } from '../../wire/encode.js'
import type { RawRespConnection } from '../../wire/connection.js'
import { copyLogical, pendingGroups, readHeads } from './logical-copy.js'
import { RespError, type Reply } from '../../wire/reply-parser.js'
import { OperationError } from '../../errors.js'
import type { NodeCheckpoint, SlotRange } from './types.js'

/** What a target reply answers: a key of a bulk page, or a live re-copy. */
type Tag = { page: Page; key: Buffer } | { live: true; key: Buffer; onError?: () => void }

interface Page {
  cursorAfter: string
  pending: number
  sealed: boolean
  /** Counted into the checkpoint only once every write of the page is acknowledged. */
  keys: number
  bytes: number
  /** A write of the page refused by the target: counted on its source node's progress. */
  onError?: () => void
  /** Every write of the sealed page acknowledged. */
  onAcked?: () => void
}

/**
 * Every write to the target goes through one pipeline: per target node one connection, so writes
 * land in the order they were issued (a live re-copy issued after a bulk copy of the same key
 * always wins).
 */
export class TargetWriter {
  readonly pipeline: RoutedPipeline<Tag>
  errors = 0
  readonly firstErrors: string[] = []

  constructor(spec: ConnectionSpec, topology: Topology, db: number) {
    this.pipeline = new RoutedPipeline<Tag>({
      spec,
      topology,
      db,
      onReply: (reply, tag) => this.onReply(reply, tag),
    })
  }

  restore(key: Buffer, ttl: number, absolute: boolean, payload: Buffer, tag: Tag): Promise<void> | undefined {
    const slot = keySlot(key)
    const b = this.pipeline.batchFor(slot)
    encodeRestore(b, key, ttl, absolute, payload)
    b.end(tag)
    return this.pipeline.written(slot)
  }

  /** Any command about `key` (the logical copy's writes), routed by the key's slot. */
  command(key: Buffer, args: CommandArg[], tag: Tag): Promise<void> | undefined {
    const slot = keySlot(key)
    const b = this.pipeline.batchFor(slot)
    b.begin()
    b.header(0x2a, args.length)
    for (const a of args) {
      if (Buffer.isBuffer(a)) b.bulk(a)
      else if (typeof a === 'number') b.integer(a)
      else b.text(a)
    }
    b.end(tag)
    return this.pipeline.written(slot)
  }

  private onReply(reply: Reply, tag: Tag): void {
    if (reply instanceof RespError) {
      this.errors++
      if (this.firstErrors.length < 5) this.firstErrors.push(`"${escapeBytes(tag.key)}": ${reply.message}`)
      ;('page' in tag ? tag.page.onError : tag.onError)?.()
    }
    if ('page' in tag) {
      tag.page.pending--
      if (tag.page.sealed && tag.page.pending === 0) tag.page.onAcked?.()
    }
  }
}

const RESTORE = Buffer.from('$7\r\nRESTORE\r\n')

function encodeRestore(
  b: CommandBatch<Tag>,
  key: Buffer,
  ttl: number,
  absolute: boolean,
  payload: Buffer,
): void {
  b.begin()
  b.header(0x2a, absolute ? 6 : 5)
  b.raw(RESTORE)
  b.bulk(key)
  b.integer(ttl)
  b.bulk(payload)
  // The target was checked empty (or --replace given) before the copy: every key there is ours.
  b.text('REPLACE')
  if (absolute) b.text('ABSTTL')
}

export interface NodeCopierOptions {
  spec: ConnectionSpec
  node: TopologyNode
  state: NodeCheckpoint
  writer: TargetWriter
  /** PEXPIRETIME (absolute, Redis 7+) or PTTL. */
  absoluteTtl: boolean
  /** dump: DUMP/RESTORE payloads; logical: values rebuilt with type commands. */
  mode?: 'dump' | 'logical'
  maxOps?: number
  slots?: SlotRange
  scanCount: number
  signal?: AbortSignal
  onProgress: (keys: number, bytes: number) => void
  /** Writes the target refused, for this node's progress line. */
  onErrors?: (n: number) => void
  onWarning: (message: string) => void
}

/**
 * One source node (one db): SCAN pages, PEXPIRETIME/PTTL + DUMP pipelined for their keys, RESTORE
 * routed by slot on the target. The cursor saved in the state only moves past a page once all its
 * writes are acknowledged, so a resume never skips a key. The same connection serves the live
 * re-copies: replies come in order, so a re-copy's DUMP is never older than a bulk one before it.
 */
export class NodeCopier {
  private conn!: RawRespConnection
  /** SCAN goes on its own connection so the next page's keys are known before this page's DUMPs return. */
  private scanConn!: RawRespConnection
  private readonly limiter: RateLimiter
  private readonly pages: Page[] = []
  private baselineMs: number | undefined
  private warnedStreams = 0
  private readonly countError = () => this.o.onErrors?.(1)
  private liveTag(key: Buffer): Tag {
    return { live: true, key, onError: this.countError }
  }
  private backedOff = false

  constructor(private readonly o: NodeCopierOptions) {
    this.limiter = new RateLimiter(o.maxOps)
  }

  async open(): Promise<void> {
    const open = () => openRawNode(this.o.spec, this.o.node, { db: this.o.state.db, name: 'kvtop-migrate' })
    ;[this.conn, this.scanConn] = await Promise.all([open(), open()])
  }

  close(): void {
    this.conn?.close()
    this.scanConn?.close()
  }

  /** How long this source node has owed replies without answering (0 when nothing is awaited). */
  get silentForMs(): number {
    return Math.max(this.conn?.silentForMs ?? 0, this.scanConn?.silentForMs ?? 0)
  }

  get address(): string {
    return this.o.node.address
  }

  private async scan(cursor: string): Promise<[string, Buffer[]]> {
    await this.limiter.take(1, this.o.signal)
    const reply = await this.scanConn.call(['SCAN', cursor, 'COUNT', this.o.scanCount])
    if (reply instanceof RespError)
      throw new OperationError(`SCAN refused on ${this.o.node.address}: ${reply.message}`)
    const [next, found] = reply as [Buffer, Buffer[]]
    return [next.toString(), found]
  }

  /** The bulk copy, from the state's cursor to the end of the keyspace (or an abort). */
  async bulk(): Promise<void> {
    const s = this.o.state
    if (s.done) return
    let cursor = s.cursor
    const window: Promise<void>[] = []
    // Promises awaited later get a handler now: a node that dies must fail the copy, not the process.
    const handled = <T>(p: Promise<T>) => (p.catch(() => {}), p)
    let ahead = handled(this.scan(cursor))
    do {
      const [next, found] = await ahead
      if (this.o.signal?.aborted) break
      cursor = next
      if (cursor !== '0') ahead = handled(this.scan(cursor))
      const keys = this.o.slots ? found.filter((k) => inRange(keySlot(k), this.o.slots!)) : found
      const page: Page = {
        cursorAfter: cursor,
        pending: 0,
        sealed: false,
        keys: 0,
        bytes: 0,
        onError: this.countError,
        onAcked: () => this.advance(),
      }
      this.pages.push(page)
      const copied = this.copyKeys(keys, page)
      window.push(handled(copied))
      if (window.length >= 4) await window.shift()
    } while (cursor !== '0' && !this.o.signal?.aborted)
    await Promise.all(window)
    await this.o.writer.pipeline.flush()
    this.advance()
    if (cursor === '0' && !this.pages.length) s.done = true
  }

  /** Copy keys again (they changed: --live) through the same connection; gone ones are deleted. */
  async recopy(keys: Buffer[]): Promise<{ copied: number; deleted: number }> {
    if (this.o.mode === 'logical') return this.recopyLogical(keys)
    const replies = await this.read(keys)
    let copied = 0
    let deleted = 0
    let wait: Promise<void> | undefined
    keys.forEach((key, i) => {
      const value = this.dumped(replies[2 * i], replies[2 * i + 1])
      if (value === 'moved') return
      if (value === 'gone') {
        wait = this.o.writer.command(key, ['DEL', key], this.liveTag(key)) ?? wait
        deleted++
      } else {
        wait =
          this.o.writer.restore(key, value.ttl, this.o.absoluteTtl, value.payload, this.liveTag(key)) ?? wait
        copied++
      }
    })
    if (wait) await wait
    return { copied, deleted }
  }

  /** One key's PEXPIRETIME/PTTL and DUMP replies: the payload and the TTL to restore it with. */
  private dumped(ttl: Reply, dump: Reply): { ttl: number; payload: Buffer } | 'gone' | 'moved' {
    if (dump instanceof RespError) {
      if (/^(MOVED|ASK) /.test(dump.message)) return 'moved'
      throw new OperationError(`DUMP refused on ${this.o.node.address}: ${dump.message}`, {
        hint: 'The DUMP path needs SCAN, DUMP and PEXPIRETIME/PTTL on the source; --mode logical reads values with type commands instead.',
      })
    }
    if (dump === null || ttl === -2) return 'gone'
    return { ttl: toTtl(ttl, this.o.absoluteTtl), payload: dump as Buffer }
  }

  /** Expiry and DUMP of each key; `timed` gets the round trip's duration (throttling not included). */
  private async read(keys: Buffer[], timed?: (ms: number) => void): Promise<Reply[]> {
    const ttlCmd = this.o.absoluteTtl ? 'PEXPIRETIME' : 'PTTL'
    await this.limiter.take(keys.length * 2, this.o.signal)
    const started = performance.now()
    const replies = await this.conn.pipeline(
      keys.flatMap((k) => [
        [ttlCmd, k],
        ['DUMP', k],
      ]),
    )
    timed?.(performance.now() - started)
    return replies
  }

  private async copyKeys(keys: Buffer[], page: Page): Promise<void> {
    if (this.o.mode === 'logical') return this.copyKeysLogical(keys, page)
    if (keys.length) {
      let ms = 0
      // The writes are queued in the same tick the replies arrive: a live re-copy read after this
      // page (same connection, replies in order) must never have its writes queued first.
      const replies = await this.read(keys, (t) => (ms = t))
      let bytes = 0
      let copied = 0
      let wait: Promise<void> | undefined
      keys.forEach((key, i) => {
        // MOVED: its slot is moving; the new owner's scan has it.
        const value = this.dumped(replies[2 * i], replies[2 * i + 1])
        if (value === 'moved') return
        if (value === 'gone') {
          this.o.state.vanished++
          return
        }
        page.pending++
        bytes += value.payload.length
        copied++
        wait = this.o.writer.restore(key, value.ttl, this.o.absoluteTtl, value.payload, { page, key }) ?? wait
      })
      page.keys = copied
      page.bytes = bytes
      this.o.onProgress(copied, bytes)
      // A throttled copy fills batches slowly: send the page now, so that its acknowledgement (and
      // the checkpoint) does not wait for the next pages.
      this.o.writer.pipeline.sendQueued()
      await this.backOff(ms / keys.length)
      if (wait) await wait
    }
    page.sealed = true
    if (page.pending === 0) this.advance()
  }

  /**
   * The logical copy of a page: TYPE, expiry and length, then the values (small ones in one round,
   * big ones chunked). A key that changes type between the reads is read again (three tries).
   */
  private async copyKeysLogical(keys: Buffer[], page: Page): Promise<void> {
    await this.logical(keys, { page }, (copied, gone, bytes) => {
      page.keys += copied
      page.bytes += bytes
      this.o.state.vanished += gone
      this.o.onProgress(copied, bytes)
    })
    this.o.writer.pipeline.sendQueued()
    page.sealed = true
    if (page.pending === 0) this.advance()
  }

  private async recopyLogical(keys: Buffer[]): Promise<{ copied: number; deleted: number }> {
    let copied = 0
    let deleted = 0
    await this.logical(keys, { live: true }, (c, gone, _bytes, goneKeys) => {
      copied += c
      deleted += gone
      for (const key of goneKeys) this.o.writer.command(key, ['DEL', key], this.liveTag(key))
    })
    await this.o.writer.pipeline.flush()
    return { copied, deleted }
  }

  /**
   * Logical copies of one node run one after another: a value read in several rounds (or chunks)
   * must have all its writes queued before a later read of the same key (a live re-copy) queues its own.
   */
  private logicalQueue: Promise<void> = Promise.resolve()

  private logical(
    keys: Buffer[],
    tagBase: { page: Page } | { live: true },
    done: (copied: number, gone: number, bytes: number, goneKeys: Buffer[]) => void,
  ): Promise<void> {
    const run = this.logicalQueue.then(() => this.logicalNow(keys, tagBase, done))
    this.logicalQueue = run.catch(() => {})
    return run
  }

  private async logicalNow(
    keys: Buffer[],
    tagBase: { page: Page } | { live: true },
    done: (copied: number, gone: number, bytes: number, goneKeys: Buffer[]) => void,
  ): Promise<void> {
    let todo = keys
    for (let attempt = 0; todo.length; attempt++) {
      if (attempt === 3)
        throw new OperationError(
          `keys keep changing type while they are read on ${this.o.node.address} (e.g. "${escapeBytes(todo[0])}")`,
          { resumable: true },
        )
      await this.limiter.take(todo.length * 4, this.o.signal)
      const heads = await readHeads(this.conn, todo, this.o.absoluteTtl)
      for (const key of await pendingGroups(this.conn, heads))
        if (this.warnedStreams++ < 5)
          this.o.onWarning(
            `stream "${escapeBytes(key)}" has consumer groups with pending entries: --mode logical copies the groups, not their pending entries`,
          )
      const r = await copyLogical(this.conn, heads, this.o.absoluteTtl, (key, args) => {
        if ('page' in tagBase) tagBase.page.pending++
        return this.o.writer.command(key, args, 'page' in tagBase ? { ...tagBase, key } : this.liveTag(key))
      })
      done(
        r.copied,
        r.gone,
        r.bytes,
        heads.filter((h) => h.type === 'none').map((h) => h.key),
      )
      todo = r.changed
    }
  }

  /** Move the saved cursor past every leading page whose writes are all acknowledged. */
  private advance(): void {
    while (this.pages.length && this.pages[0].sealed && this.pages[0].pending === 0) {
      const page = this.pages.shift()!
      this.o.state.cursor = page.cursorAfter
      this.o.state.keys += page.keys
      this.o.state.bytes += page.bytes
      if (page.cursorAfter === '0') this.o.state.done = true
    }
  }

  /** Slow down when the source's answers slow down: the migration must not become the incident. */
  private async backOff(msPerKey: number): Promise<void> {
    if (this.baselineMs === undefined || msPerKey < this.baselineMs)
      this.baselineMs = Math.max(msPerKey, 0.005)
    if (msPerKey > this.baselineMs * 8 && msPerKey > 0.2) {
      if (!this.backedOff) {
        this.backedOff = true
        this.o.onWarning(`${this.o.node.address} answers slower (${msPerKey.toFixed(2)} ms/key): backing off`)
      }
      await new Promise((r) => setTimeout(r, Math.min(1000, msPerKey * 100)))
    } else this.backedOff = false
  }
}

function toTtl(reply: Reply, absolute: boolean): number {
  const n = Number(reply)
  // -1: no expiry. RESTORE takes 0 for "none" in both forms.
  if (!Number.isFinite(n) || n < 0) return 0
  return absolute ? n : Math.max(1, n)
}

function inRange(slot: number, r: SlotRange): boolean {
  return slot >= r.from && slot <= r.to
}
