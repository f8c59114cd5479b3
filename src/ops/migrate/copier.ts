import { setTimeout as sleep } from 'node:timers/promises'
import type { ConnectionSpec } from '../../connect/client.js'
import type { Topology, TopologyNode } from '../../connect/topology.js'
import { escapeBytes } from '../../data/escape.js'
import { frameArgsAt } from '../../data/resp/frame-scanner.js'
import { RateLimiter } from '../../data/keyspace/rate-limiter.js'
import { OperationError } from '../../errors.js'
import { classifyReply, isPayloadRefusal, parseAddress, parseRedirect } from '../../wire/classify.js'
import type { RawRespConnection } from '../../wire/connection.js'
import { encodeKeyCommands, type CommandArg } from '../../wire/encode.js'
import { openRawNode } from '../../wire/node.js'
import { RespError, type Reply } from '../../wire/reply-parser.js'
import { keySlot, RoutedPipeline, type CommandBatch } from '../../wire/routed-pipeline.js'
import { SourcePace } from './source-pace.js'
import type { StreamSupport } from './stream-support.js'
import type { NodeCheckpoint, SlotRange } from './types.js'

/**
 * What a target reply answers: a key of a bulk page, or a live re-copy (no page). `owner` is the
 * copier that wrote it: it retries what the target refused for now and stops on what it refused
 * for good.
 */
export interface WriteTag {
  /**
   * The key; left out by a writer whose command has it as first argument (RESTORE key ...), whose
   * writes then share one tag: it is read back from the batch only for a write not acknowledged.
   */
  key?: Buffer
  page?: Page
  owner: WriteOwner
}

export interface WriteOwner {
  /** Refused for now (OOM, READONLY, LOADING, ...): copy the key again after a back-off. */
  retry(key: Buffer, page: Page | undefined, reply: RespError): void
  /** Refused for good (NOPERM, a DUMP payload the target cannot read, WRONGTYPE, ...). */
  refused(key: Buffer, reply: RespError): void
}

export interface Page {
  cursorAfter: string
  /** Writes sent and not yet answered. */
  pending: number
  /** Keys of the page refused for now and waiting to be copied again. */
  retrying: number
  sealed: boolean
  /** Counted into the checkpoint only once every write of the page is acknowledged. */
  keys: number
  bytes: number
  onAcked: () => void
}

/** RESTORE's options: the target was checked empty (or --replace given) before the copy. */
const REPLACE = { replace: true, absolute: false }
const REPLACE_ABSTTL = { replace: true, absolute: true }

/** A page whose every write the target acknowledged: the cursor may move past it. */
export const acknowledged = (p: Page) => p.sealed && p.pending === 0 && p.retrying === 0

/**
 * The key of a write not acknowledged: its tag's, or read back from its command (`NAME key ...`) in
 * the batch, copied out: the batch's buffer is reused for later writes once its replies are in.
 */
function keyOfWrite(tag: WriteTag, batch: CommandBatch<WriteTag>, index: number): Buffer {
  return tag.key ?? Buffer.from(frameArgsAt(batch.buf, batch.starts[index])[1])
}

/**
 * Every write to the target goes through one pipeline: per target node one connection, so writes
 * land in the order they were issued (a live re-copy issued after a bulk copy of the same key
 * always wins). A reply is an acknowledgement only when classifyReply says 'ok'.
 */
export class TargetWriter {
  readonly pipeline: RoutedPipeline<WriteTag>
  /** Writes refused for good. */
  errors = 0
  /** Writes refused for now, and retried. */
  retried = 0
  readonly firstErrors: string[] = []

  constructor(spec: ConnectionSpec, topology: Topology, db: number) {
    this.pipeline = new RoutedPipeline<WriteTag>({
      spec,
      topology,
      db,
      // Only errors tell anything here: a run of successes (RESTORE's +OK, a count) is stepped over
      // without a reply object each, and every success still reaches onReply, as 'OK'.
      counted: { wantsSuccesses: () => true },
      onReply: (reply, tag, batch, index) => this.onReply(reply, tag, batch, index),
    })
  }

  restore(
    key: Buffer,
    ttl: number,
    absolute: boolean,
    payload: Buffer,
    tag: WriteTag,
  ): Promise<void> | undefined {
    const slot = keySlot(key)
    const b = this.pipeline.batchFor(slot)
    // The target was checked empty (or --replace given) before the copy: every key there is ours.
    b.restore(key, ttl, payload, absolute ? REPLACE_ABSTTL : REPLACE)
    return this.queued(b, slot, tag)
  }

  /** Any command about `key` (the logical copy's writes, DEL), routed by the key's slot. */
  command(key: Buffer, args: readonly CommandArg[], tag: WriteTag): Promise<void> | undefined {
    const slot = keySlot(key)
    const b = this.pipeline.batchFor(slot)
    b.command(args)
    return this.queued(b, slot, tag)
  }

  private queued(b: ReturnType<RoutedPipeline<WriteTag>['batchFor']>, slot: number, tag: WriteTag) {
    if (tag.page) tag.page.pending++
    b.end(tag)
    return this.pipeline.writtenTo(slot, b)
  }

  private onReply(reply: Reply, tag: WriteTag, batch: CommandBatch<WriteTag>, index: number): void {
    const kind = classifyReply(reply)
    if (kind === 'refused') {
      // Never acknowledged: the page stays pending, so the checkpoint never moves past this key.
      const key = keyOfWrite(tag, batch, index)
      this.errors++
      if (this.firstErrors.length < 5)
        this.firstErrors.push(`"${escapeBytes(key)}": ${(reply as RespError).message}`)
      tag.owner.refused(key, reply as RespError)
      return
    }
    if (kind !== 'ok') {
      // Refused for now, or a redirect the pipeline could not follow: the owner copies the key
      // again, reading it from the source anew, so an older value never overwrites a newer one.
      this.retried++
      tag.owner.retry(keyOfWrite(tag, batch, index), tag.page, reply as RespError)
    }
    if (tag.page) {
      tag.page.pending--
      if (acknowledged(tag.page)) tag.page.onAcked()
    }
  }
}

interface NodeCopierOptions {
  spec: ConnectionSpec
  node: TopologyNode
  state: NodeCheckpoint
  writer: TargetWriter
  /** PEXPIRETIME (absolute, Redis 7+) or PTTL. */
  absoluteTtl: boolean
  /** dump: DUMP/RESTORE payloads; logical: values rebuilt with type commands. */
  mode?: 'dump' | 'logical'
  /** logical: what the target can rebuild of a stream's metadata (default: everything). */
  streams?: StreamSupport
  maxOps?: number
  slots?: SlotRange
  scanCount: number
  signal?: AbortSignal
  /**
   * How long writes refused for now (OOM, READONLY, LOADING, ...) are retried before the run stops
   * (resumable). 0: retry until stopped. Default 60 s.
   */
  retryTimeoutMs?: number
  onProgress: (keys: number, bytes: number) => void
  /** Writes the target refused, for this node's progress line. */
  onErrors?: (n: number) => void
  onWarning: (message: string) => void
}

/** A key's expiry and DUMP replies read: what to write, or why not. */
type Dumped =
  | { ttl: number; payload: Buffer }
  | 'gone'
  | { redirect: { kind: 'MOVED' | 'ASK'; address: string } }
  | { retry: RespError }

const DEFAULT_RETRY_MS = 60_000

/**
 * One source node (one db): SCAN pages, PEXPIRETIME/PTTL + DUMP pipelined for their keys, RESTORE
 * routed by slot on the target. The cursor saved in the state only moves past a page once every
 * write of it is acknowledged, so a resume never skips a key:
 * - a write refused for now (OOM, READONLY, ...) keeps its page open; the key is read again from
 *   the source and written again after a back-off, for up to `retryTimeoutMs`;
 * - a write refused for good stops the copy (the page stays open, the checkpoint before it);
 * - a key the source answers with MOVED/ASK (a failover, a slot moving) is read from the node the
 *   redirect names, never skipped; `redirectedReads` tells the run that the topology changed.
 * The same connection serves the live re-copies: replies come in order, so a re-copy's DUMP is
 * never older than a bulk one before it.
 */
export class NodeCopier implements WriteOwner {
  private conn!: RawRespConnection
  /** SCAN goes on its own connection so the next page's keys are known before this page's DUMPs return. */
  private scanConn!: RawRespConnection
  /** Other source nodes, opened when a read is redirected to them. */
  private readonly redirectConns = new Map<string, Promise<RawRespConnection>>()
  private readonly limiter: RateLimiter
  private readonly pages: Page[] = []
  /** How fast the source answers this copier's reads on `conn`: when to back off. */
  private readonly pace = new SourcePace()
  private warnedStreams = 0
  /** Keys refused for now, by latin1 form, with the page they hold open. */
  private readonly retries = new Map<string, { key: Buffer; page?: Page }>()
  private refusingSince = 0
  private lastRefusal = ''
  private pump: Promise<void> | undefined
  private failed: OperationError | undefined
  /** Keys read from another source node than this one because the source redirected them. */
  redirectedReads = 0

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
    for (const c of this.redirectConns.values()) c.then((x) => x.close()).catch(() => {})
  }

  /** How long this source node has owed replies without answering (0 when nothing is awaited). */
  get silentForMs(): number {
    return Math.max(this.conn?.silentForMs ?? 0, this.scanConn?.silentForMs ?? 0)
  }

  get address(): string {
    return this.o.node.address
  }

  /** Why this copier stopped (a write refused for good, or refused for too long); undefined while it works. */
  get failure(): OperationError | undefined {
    return this.failed
  }

  /** Keys waiting to be written again after a refusal: the run is not in sync while there are any. */
  get pendingRetries(): number {
    return this.retries.size
  }

  private async scan(cursor: string): Promise<[string, Buffer[]]> {
    await this.limiter.take(1, this.o.signal)
    const reply = await this.scanConn.call(['SCAN', cursor, 'COUNT', this.o.scanCount])
    if (reply instanceof RespError)
      throw new OperationError(`SCAN refused on ${this.o.node.address}: ${reply.message}`, {
        resumable: true,
      })
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
      if (this.o.signal?.aborted || this.failed) break
      cursor = next
      if (cursor !== '0') ahead = handled(this.scan(cursor))
      const keys = this.o.slots ? found.filter((k) => inRange(keySlot(k), this.o.slots!)) : found
      const page: Page = {
        cursorAfter: cursor,
        pending: 0,
        retrying: 0,
        sealed: false,
        keys: 0,
        bytes: 0,
        onAcked: () => this.advance(),
      }
      this.pages.push(page)
      window.push(handled(this.copyKeys(keys, page)))
      if (window.length >= 4) await window.shift()
    } while (cursor !== '0' && !this.o.signal?.aborted && !this.failed)
    await Promise.all(window)
    await this.settleRetries()
    this.advance()
  }

  /**
   * Every write queued so far answered, keys refused for now written again until accepted (or
   * refused for too long, or stopped); throws why this copier stopped, if it did.
   */
  async settleRetries(): Promise<void> {
    await this.o.writer.pipeline.flush()
    while (this.pump) await this.pump
    if (this.failed) throw this.failed
    await this.o.writer.pipeline.flush()
  }

  /** Copy keys again (they changed: --live) through the same connection; gone ones are deleted. */
  async recopy(keys: Buffer[]): Promise<{ copied: number; deleted: number }> {
    if (this.failed) throw this.failed
    let copied = 0
    let deleted = 0
    await this.copy(keys, () => undefined, {
      onCopied: (n) => (copied += n),
      onGone: (key) => {
        deleted++
        this.o.writer.command(key, ['DEL', key], { key, owner: this })
      },
    })
    if (this.o.mode === 'logical') await this.o.writer.pipeline.flush()
    return { copied, deleted }
  }

  /**
   * Read keys from the source and queue their writes, tagged with `pageOf(key)`. Writes are queued
   * in the same tick their replies arrive: a live re-copy read later on the same connection
   * (replies in order) must never have its writes queued first.
   */
  private async copy(
    keys: Buffer[],
    pageOf: (key: Buffer) => Page | undefined,
    on: {
      onCopied: (n: number, bytes: number) => void
      onGone: (key: Buffer) => void
      timed?: (ms: number) => void
    },
  ): Promise<void> {
    if (!keys.length) return
    if (this.o.mode === 'logical') return this.logical(keys, pageOf, on)
    const replies = await this.read(this.conn, keys, false, on.timed)
    const written = this.write(this.address, keys, replies, pageOf, on, 0)
    // Its writes are queued: the source's answer to the next read on conn waits on it no longer.
    this.pace.handled()
    await written
  }

  /** Queue the writes of keys read from `from`; keys it redirected are read where it says. */
  private async write(
    from: string,
    keys: Buffer[],
    replies: Reply[],
    pageOf: (key: Buffer) => Page | undefined,
    on: { onCopied: (n: number, bytes: number) => void; onGone: (key: Buffer) => void },
    hop: number,
  ): Promise<void> {
    let bytes = 0
    let copied = 0
    let wait: Promise<void> | undefined
    const redirected = new Map<string, Redirected>()
    const absolute = this.o.absoluteTtl
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]
      const ttl = replies[2 * i]
      const dump = replies[2 * i + 1]
      let payload: Buffer | undefined
      let expiry = 0
      if (dump instanceof Buffer && typeof ttl === 'number' && ttl !== -2) {
        // The usual replies (a payload and an expiry): nothing allocated for them but the write's tag.
        payload = dump
        expiry = toTtl(ttl, absolute)
      } else {
        const value = this.dumped(from, ttl, dump)
        if (value === 'gone') on.onGone(key)
        else if ('retry' in value) this.retry(key, pageOf(key), value.retry)
        else if ('redirect' in value) redirectedKey(redirected, value.redirect, key)
        else ({ payload, ttl: expiry } = value)
      }
      if (!payload) continue
      bytes += payload.length
      copied++
      wait =
        this.o.writer.restore(key, expiry, absolute, payload, { key, page: pageOf(key), owner: this }) ?? wait
    }
    on.onCopied(copied, bytes)
    if (!redirected.size) {
      if (wait) await wait
      return
    }
    if (hop === 3)
      throw new OperationError(
        `keys of ${this.address} keep being redirected (a cluster in the middle of changing)`,
        {
          resumable: true,
          hint: 'Wait for the source cluster to settle, then run the same command again: it resumes.',
        },
      )
    // The slot moved (a failover, resharding): each key is read from the node that has it now,
    // never skipped. The reads are issued now, in order, so later reads of the same keys come after.
    const reads = [...redirected.values()].map((g) => {
      this.redirectedReads += g.keys.length
      return this.redirectConn(g.address).then((c) => this.read(c, g.keys, g.ask))
    })
    if (wait) await wait
    for (const [i, g] of [...redirected.values()].entries())
      await this.write(g.address, g.keys, await reads[i], pageOf, on, hop + 1)
  }

  private redirectConn(address: string): Promise<RawRespConnection> {
    let c = this.redirectConns.get(address)
    if (!c) {
      const node = parseAddress(address)
      if (!node) throw new OperationError(`the source redirected to an address kvtop cannot read: ${address}`)
      c = openRawNode(this.o.spec, node, { db: this.o.state.db, name: 'kvtop-migrate' })
      c.catch(() => this.redirectConns.delete(address))
      this.redirectConns.set(address, c)
    }
    return c
  }

  /**
   * One key's expiry and DUMP replies: the payload and the TTL to restore it with, or why not
   * (write() takes the usual replies, a payload and an expiry, without asking).
   */
  private dumped(from: string, ttl: Reply, dump: Reply): Dumped {
    // The DUMP reply's error first, then the expiry's.
    if (dump instanceof RespError) return this.readRefused(from, 'DUMP', dump)
    if (ttl instanceof RespError)
      return this.readRefused(from, this.o.absoluteTtl ? 'PEXPIRETIME' : 'PTTL', ttl)
    if (dump === null || ttl === -2) return 'gone'
    return { ttl: toTtl(ttl, this.o.absoluteTtl), payload: dump as Buffer }
  }

  /** An error reply to a read: follow a redirect, retry what is refused for now, stop on the rest. */
  private readRefused(from: string, what: string, reply: RespError): Dumped {
    const kind = classifyReply(reply)
    if (kind === 'redirect') {
      const r = parseRedirect(reply)
      if (r) return { redirect: { kind: r.kind, address: formatRedirect(reply) } }
    }
    if (kind === 'retryable') return { retry: reply }
    // An error reply is never "no expiry" and never "no value": the copy stops here.
    throw new OperationError(`${what} refused on ${from}: ${reply.message}`, {
      hint: 'The DUMP path needs SCAN, DUMP and PEXPIRETIME/PTTL on the source; --mode logical reads values with type commands instead.',
    })
  }

  /**
   * Expiry and DUMP of each key. `timed` (reads on `conn` only) gets how long the source took to
   * answer them (SourcePace.took: not the wait behind this copier's earlier reads, nor throttling).
   */
  private async read(
    conn: RawRespConnection,
    keys: Buffer[],
    asking: boolean,
    timed?: (ms: number) => void,
  ): Promise<Reply[]> {
    const ttlCmd = this.o.absoluteTtl ? 'PEXPIRETIME' : 'PTTL'
    await this.limiter.take(keys.length * 2, this.o.signal)
    const started = performance.now()
    // ASKING holds for the next command only: one before each read of a slot being imported.
    const commands = encodeKeyCommands([ttlCmd, 'DUMP'], keys, asking ? 'ASKING' : undefined)
    // Views, not copies: each payload is encoded into a RESTORE as soon as its batch arrives.
    const replies = await conn.sendEncoded(commands, keys.length * (asking ? 4 : 2), { views: true })
    if (timed) timed(this.pace.took(started))
    return asking ? replies.filter((_, i) => i % 2 === 1) : replies
  }

  private async copyKeys(keys: Buffer[], page: Page): Promise<void> {
    let ms = 0
    await this.copy(keys, () => page, {
      timed: (t) => (ms = t),
      onCopied: (copied, bytes) => {
        page.keys += copied
        page.bytes += bytes
        this.o.onProgress(copied, bytes)
      },
      onGone: () => this.o.state.vanished++,
    })
    // A throttled copy fills batches slowly: send the page now, so that its acknowledgement (and
    // the checkpoint) does not wait for the next pages.
    const room = this.o.writer.pipeline.sendQueued()
    if (keys.length && this.o.mode !== 'logical') await this.backOff(ms, keys.length)
    page.sealed = true
    if (acknowledged(page)) this.advance()
    // A target node has its window of writes in flight: the next pages are not read until it has
    // room (a slow target holds the copy back instead of filling kvtop's memory).
    await room
  }

  retry(key: Buffer, page: Page | undefined, reply: RespError): void {
    const id = key.toString('latin1')
    if (!this.retries.has(id)) {
      this.retries.set(id, { key, page })
      if (page) page.retrying++
    }
    this.lastRefusal = reply.message
    if (!this.pump) {
      const pump = this.retryLoop()
      this.pump = pump
      pump.catch(() => {}).finally(() => (this.pump = undefined))
    }
  }

  refused(key: Buffer, reply: RespError): void {
    this.o.onErrors?.(1)
    this.failed ??= new OperationError(
      `the target refused "${escapeBytes(key)}" (copied from ${this.address}): ${reply.message}`,
      {
        resumable: true,
        code: 'write-refused',
        hint: isPayloadRefusal(reply)
          ? "The target cannot read the source's DUMP payloads (an older RDB version): run again with --mode logical."
          : 'Fix the cause (ACL rights, a key of another type on the target), then run the same command again: it resumes before this key.',
      },
    )
  }

  /**
   * Keys refused for now are read from the source again and written again, with a back-off
   * doubling to 2 s, until the target takes them or refuses for longer than retryTimeoutMs.
   */
  private async retryLoop(): Promise<void> {
    const limit = this.o.retryTimeoutMs ?? DEFAULT_RETRY_MS
    let delay = 100
    this.refusingSince = Date.now()
    this.o.onWarning(
      `the target refuses writes from ${this.address} for now (${this.lastRefusal}): retrying ${this.retries.size} key(s) with back-off` +
        (limit > 0 ? ` for up to ${Math.round(limit / 1000)} s` : ''),
    )
    while (this.retries.size && !this.failed && !this.o.signal?.aborted) {
      await sleep(delay)
      delay = Math.min(delay * 2, 2000)
      if (limit > 0 && Date.now() - this.refusingSince > limit) {
        this.failed = new OperationError(
          `the target kept refusing writes for ${Math.round(limit / 1000)} s (${this.lastRefusal}); ${this.retries.size} key(s) from ${this.address} not copied`,
          {
            resumable: true,
            code: 'write-refused',
            hint: /^OOM/.test(this.lastRefusal)
              ? 'The target is out of memory: raise its maxmemory (or scale it), then run the same command again: it resumes before the refused keys.'
              : 'When the target accepts writes again, run the same command: it resumes before the refused keys.',
          },
        )
        return
      }
      const entries = [...this.retries.values()]
      this.retries.clear()
      for (let i = 0; i < entries.length; i += 500) {
        const chunk = entries.slice(i, i + 500)
        const pages = new Map(chunk.map((e) => [e.key.toString('latin1'), e.page]))
        try {
          await this.copy(
            chunk.map((e) => e.key),
            (key) => pages.get(key.toString('latin1')),
            {
              onCopied: () => {},
              onGone: (key) => {
                const page = pages.get(key.toString('latin1'))
                if (page) this.o.state.vanished++
                // A logical copy may have written part of the value before the refusal.
                if (!page || this.o.mode === 'logical')
                  this.o.writer.command(key, ['DEL', key], { key, page, owner: this })
              },
            },
          )
        } finally {
          // Their writes are queued (each holds its page) or they are back in the retry set.
          for (const e of chunk) if (e.page) e.page.retrying--
        }
        await this.o.writer.pipeline.sendQueued()
      }
      await this.o.writer.pipeline.flush()
      for (const e of entries) if (e.page && acknowledged(e.page)) e.page.onAcked()
      if (!this.retries.size) this.o.onWarning(`the target accepts writes from ${this.address} again`)
    }
  }

  /**
   * The logical copy of keys: TYPE, expiry and length, then the values (small ones in one round,
   * big ones chunked). A key that changes type between the reads is read again (three tries).
   * Logical copies of one node run one after another: a value read in several rounds (or chunks)
   * must have all its writes queued before a later read of the same key queues its own.
   */
  private logicalQueue: Promise<void> = Promise.resolve()

  private logical(
    keys: Buffer[],
    pageOf: (key: Buffer) => Page | undefined,
    on: { onCopied: (n: number, bytes: number) => void; onGone: (key: Buffer) => void },
  ): Promise<void> {
    const run = this.logicalQueue.then(() => this.logicalNow(keys, pageOf, on))
    this.logicalQueue = run.catch(() => {})
    return run
  }

  private async logicalNow(
    keys: Buffer[],
    pageOf: (key: Buffer) => Page | undefined,
    on: { onCopied: (n: number, bytes: number) => void; onGone: (key: Buffer) => void },
  ): Promise<void> {
    let todo = keys
    for (let attempt = 0; todo.length; attempt++) {
      if (attempt === 3)
        throw new OperationError(
          `keys keep changing type while they are read on ${this.o.node.address} (e.g. "${escapeBytes(todo[0])}")`,
          { resumable: true },
        )
      await this.limiter.take(todo.length * 4, this.o.signal)
      const { copyLogical, readHeads } = await import('./logical-copy.js')
      const heads = await readHeads(this.conn, todo, this.o.absoluteTtl, this.address)
      const r = await copyLogical(
        this.conn,
        heads,
        this.o.absoluteTtl,
        (key, args) => this.o.writer.command(key, args, { key, page: pageOf(key), owner: this }),
        this.address,
        {
          streams: this.o.streams,
          warn: (message) => {
            if (this.warnedStreams++ < 5) this.o.onWarning(message)
          },
        },
      )
      on.onCopied(r.copied, r.bytes)
      for (const h of heads) if (h.type === 'none') on.onGone(h.key)
      todo = r.changed
    }
  }

  /** Move the saved cursor past every leading page whose writes are all acknowledged. */
  private advance(): void {
    while (this.pages.length && acknowledged(this.pages[0])) {
      const page = this.pages.shift()!
      this.o.state.cursor = page.cursorAfter
      this.o.state.keys += page.keys
      this.o.state.bytes += page.bytes
      if (page.cursorAfter === '0') this.o.state.done = true
    }
  }

  /** Slow down when the source's answers slow down: the migration must not become the incident. */
  private async backOff(ms: number, keys: number): Promise<void> {
    const slower = this.pace.read(ms, keys)
    if (!slower) return
    if (slower.first)
      this.o.onWarning(
        `${this.o.node.address} answers slower (${slower.msPerKey.toFixed(2)} ms/key): backing off`,
      )
    await sleep(slower.pauseMs)
  }
}

/** Keys a source node redirected to one node (MOVED, or ASK: read there after ASKING). */
interface Redirected {
  address: string
  ask: boolean
  keys: Buffer[]
}

function redirectedKey(
  redirected: Map<string, Redirected>,
  to: { kind: 'MOVED' | 'ASK'; address: string },
  key: Buffer,
): void {
  const id = `${to.kind} ${to.address}`
  let group = redirected.get(id)
  if (!group) redirected.set(id, (group = { address: to.address, ask: to.kind === 'ASK', keys: [] }))
  group.keys.push(key)
}

/** `MOVED 3999 10.0.0.5:6379` -> `10.0.0.5:6379` as the cluster names it (IPv6 in brackets). */
function formatRedirect(reply: RespError): string {
  return reply.message.slice(reply.message.lastIndexOf(' ') + 1)
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
