import type { ConnectionSpec } from './spec.js'
import { formatAddress } from './address.js'
import { OperationError } from '../errors.js'
import type { CountedReplies, RawRespConnection } from './connection.js'
import { RespError, type Reply } from './reply-parser.js'
import { parseAddress, parseRedirect } from './classify.js'
import { copyBytes, writeDecimal } from './bytes.js'
import type { CommandArg } from './encode.js'
import { openRawNode } from './node.js'

export const SLOTS = 16384
/** Batch buffers kept for reuse: enough for a few nodes' windows (each buffer ~192 KiB). */
const SPARE_BUFFERS = 64
/** A buffer grown for a big value is not kept: the spares would hold a lot of memory. */
const SPARE_MAX_BYTES = 1024 * 1024

/** What the routed pipeline needs of a discovered topology: who serves which slots. */
export interface SlotOwners {
  mode: string
  nodes: readonly { role: string; address: string; slots: readonly (readonly [number, number])[] }[]
}

const ASKING = Buffer.from('*1\r\n$6\r\nASKING\r\n')
const RESTORE = Buffer.from('$7\r\nRESTORE\r\n')
/**
 * Room enough for what follows a RESTORE's payload (its CR LF, REPLACE, ABSTTL, IDLETIME and FREQ
 * with their numbers): made with the payload's, so that a big value is not copied twice.
 */
export const RESTORE_OPTIONS_ROOM = 128
const REPLACE = Buffer.from('$7\r\nREPLACE\r\n')
const ABSTTL = Buffer.from('$6\r\nABSTTL\r\n')

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false
  return true
}

/**
 * The cluster slot of a key: CRC16 (XMODEM) of the key, or of its {hash tag} when it has a
 * non-empty one, modulo 16384 — exactly Redis's keyHashSlot (cluster-key-slot differs on keys like
 * `a{}{b}`), binary-safe.
 */
export function keySlot(key: Uint8Array): number {
  return keySlotOf(key, 0, key.length)
}

const CRC16_TABLE = (() => {
  const t = new Uint16Array(256)
  for (let i = 0; i < 256; i++) {
    let c = i << 8
    for (let b = 0; b < 8; b++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff
    t[i] = c
  }
  return t
})()

function crc16(buf: Uint8Array, start: number, end: number): number {
  let crc = 0
  for (let i = start; i < end; i++) crc = ((crc << 8) & 0xffff) ^ CRC16_TABLE[((crc >> 8) ^ buf[i]) & 0xff]
  return crc
}

/** keySlot for the key held in buf[start..end), without making a view of it. */
export function keySlotOf(buf: Uint8Array, start: number, end: number): number {
  for (let i = start; i < end; i++) {
    if (buf[i] === 0x7b) {
      for (let j = i + 1; j < end; j++) {
        if (buf[j] === 0x7d) {
          if (j > i + 1) return crc16(buf, i + 1, j) & 0x3fff
          break
        }
      }
      break
    }
  }
  return crc16(buf, start, end) & 0x3fff
}

/**
 * Slot -> node address, built from a discovered topology and corrected by MOVED replies. In a
 * non-cluster deployment every slot maps to the one primary.
 */
export class SlotTable {
  private readonly owner: string[] = new Array(SLOTS)
  readonly addresses = new Set<string>()
  /** Counts the changes (MOVED): what is cached from the table is stale when it moved on. */
  changes = 0

  constructor(topology: SlotOwners) {
    const primaries = topology.nodes.filter((n) => n.role === 'primary')
    if (topology.mode !== 'cluster') {
      if (!primaries[0]) throw new OperationError('no primary to write to')
      this.owner.fill(primaries[0].address)
      this.addresses.add(primaries[0].address)
      return
    }
    for (const p of primaries) {
      this.addresses.add(p.address)
      for (const [from, to] of p.slots) for (let s = from; s <= to; s++) this.owner[s] = p.address
    }
  }

  nodeFor(slot: number): string | undefined {
    return this.owner[slot]
  }

  /** After `MOVED slot host:port`. */
  moved(slot: number, address: string): void {
    this.changes++
    this.owner[slot] = address
    this.addresses.add(address)
  }

  uncovered(): number {
    let n = 0
    for (let s = 0; s < SLOTS; s++) if (this.owner[s] === undefined) n++
    return n
  }
}

/**
 * Completes ranges of a batch's buffer just before it is sent (flat start, end pairs, ascending):
 * work that costs less done for many commands at once than for each as it is written.
 */
export type RangeFinisher = (buf: Buffer, ranges: readonly number[]) => void

/**
 * A growing buffer of encoded RESP commands with each command's start offset, so that a single
 * command can be cut out again (to re-send it after a redirect).
 */
export class CommandBatch<T> {
  buf: Buffer
  used = 0
  readonly starts: number[] = []
  readonly tags: T[] = []
  /** Ranges of buf written but not finished yet (flat start, end pairs), and who finishes them. */
  private readonly unfinished: number[] = []
  private finisher: RangeFinisher | undefined

  constructor(initial = 64 * 1024, reuse?: Buffer) {
    this.buf = reuse && reuse.length >= initial ? reuse : Buffer.allocUnsafe(initial)
  }

  get count(): number {
    return this.tags.length
  }

  /** Room for `n` more bytes. */
  ensure(n: number): void {
    if (this.used + n <= this.buf.length) return
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.used + n))
    this.buf.copy(next, 0, 0, this.used)
    this.buf = next
  }

  /** Call before writing a command's bytes. */
  begin(): void {
    this.starts.push(this.used)
  }

  /** Call after writing them. */
  end(tag: T): void {
    this.tags.push(tag)
  }

  /** Append already-encoded commands. */
  append(bytes: Buffer, tag: T): void {
    this.begin()
    this.ensure(bytes.length)
    bytes.copy(this.buf, this.used)
    this.used += bytes.length
    this.end(tag)
  }

  /** Append an already-encoded command held in bytes[start..end), without making a view of it. */
  appendRange(bytes: Uint8Array, start: number, end: number, tag: T): void {
    this.begin()
    this.ensure(end - start)
    this.used += copyBytes(bytes, start, end, this.buf, this.used)
    this.end(tag)
  }

  /**
   * Append commands `from` to `to` (excluded) of a run lying back to back in `bytes`, command k at
   * bytes[start[k]..start[k + 1]) and the last ending at `end`, each with `tag`: one copy for all.
   */
  appendRun(bytes: Uint8Array, start: Int32Array, from: number, to: number, end: number, tag: T): void {
    const first = start[from]
    this.ensure(end - first)
    const shift = this.used - first
    for (let k = from; k < to; k++) {
      this.starts.push(start[k] + shift)
      this.tags.push(tag)
    }
    this.used += copyBytes(bytes, first, end, this.buf, this.used)
  }

  header(type: number, n: number): void {
    this.ensure(24)
    this.buf[this.used++] = type
    this.used += writeDecimal(this.buf, this.used, n)
    this.buf[this.used++] = 0x0d
    this.buf[this.used++] = 0x0a
  }

  /** A bulk string from bytes[start..end). */
  bulk(bytes: Uint8Array, start = 0, end = bytes.length): void {
    const n = end - start
    this.header(0x24, n)
    this.ensure(n + 2)
    this.used += copyBytes(bytes, start, end, this.buf, this.used)
    this.buf[this.used++] = 0x0d
    this.buf[this.used++] = 0x0a
  }

  /** Bytes as they are (pre-encoded RESP pieces). */
  raw(bytes: Uint8Array): void {
    this.ensure(bytes.length)
    this.used += copyBytes(bytes, 0, bytes.length, this.buf, this.used)
  }

  /** A bulk string of ASCII text (command names). */
  text(s: string): void {
    this.header(0x24, s.length)
    this.ensure(s.length + 2)
    for (let i = 0; i < s.length; i++) this.buf[this.used++] = s.charCodeAt(i)
    this.buf[this.used++] = 0x0d
    this.buf[this.used++] = 0x0a
  }

  /** A bulk string holding a decimal integer. */
  integer(n: number): void {
    const negative = n < 0
    const abs = negative ? -n : n
    let digits = 1
    for (let v = abs; v >= 10; v = Math.floor(v / 10)) digits++
    this.header(0x24, digits + (negative ? 1 : 0))
    this.ensure(digits + 3)
    if (negative) this.buf[this.used++] = 0x2d
    this.used += writeDecimal(this.buf, this.used, abs)
    this.buf[this.used++] = 0x0d
    this.buf[this.used++] = 0x0a
  }

  /** Queue one command (call `end(tag)` after it). Arguments are bytes, text or integers. */
  command(args: readonly CommandArg[]): void {
    this.begin()
    this.header(0x2a, args.length)
    for (const a of args) {
      if (Buffer.isBuffer(a)) this.bulk(a)
      else if (typeof a === 'number') this.integer(a)
      else if (isAscii(a)) this.text(a)
      else this.bulk(Buffer.from(a, 'utf8'))
    }
  }

  /** Queue a command whose arguments are all bytes (call `end(tag)` after it): no per-argument type checks. */
  bytesCommand(args: readonly Uint8Array[]): void {
    this.begin()
    this.header(0x2a, args.length)
    for (const a of args) this.bulk(a)
  }

  /** Queue `SELECT db` (call `end(tag)` after it). */
  select(db: number): void {
    this.command(['SELECT', db])
  }

  /**
   * Queue `RESTORE key ttl payload [REPLACE] [ABSTTL]` (call `end(tag)` after it): ttl 0 means no
   * expiry; with `absolute` it is a unix time in ms.
   */
  restore(
    key: Uint8Array,
    ttl: number,
    payload: Uint8Array,
    options: { replace: boolean; absolute: boolean },
  ): void {
    this.begin()
    // The whole command's room at once: a big payload that just fits would otherwise grow the
    // batch again for the options after it, copying the payload once more.
    this.ensure(key.length + payload.length + RESTORE_OPTIONS_ROOM)
    this.header(0x2a, 4 + (options.replace ? 1 : 0) + (options.absolute ? 1 : 0))
    this.raw(RESTORE)
    this.bulk(key)
    this.integer(ttl)
    this.bulk(payload)
    if (options.replace) this.raw(REPLACE)
    if (options.absolute) this.raw(ABSTTL)
  }

  /**
   * buf[start..end) is finished by `finisher` before the batch is sent (bytes()): the DUMP
   * payloads' CRCs, computed for the whole batch at once. One finisher per batch.
   */
  finishLater(finisher: RangeFinisher, start: number, end: number): void {
    if (this.finisher && this.finisher !== finisher) throw new Error('one finisher per batch')
    this.finisher = finisher
    this.unfinished.push(start, end)
  }

  /** The encoded commands, every range finished: what goes on the wire. */
  bytes(): Buffer {
    this.finish()
    return this.buf.subarray(0, this.used)
  }

  /** The bytes of command i. */
  commandBytes(i: number): Buffer {
    this.finish()
    return this.buf.subarray(this.starts[i], i + 1 < this.starts.length ? this.starts[i + 1] : this.used)
  }

  private finish(): void {
    if (this.unfinished.length === 0) return
    this.finisher!(this.buf, this.unfinished)
    this.unfinished.length = 0
  }
}

interface NodeLane<T> {
  address: string
  conn: Promise<RawRespConnection>
  /** The connection once open (for the stall watch). */
  open?: RawRespConnection
  batch: CommandBatch<T>
  inflight: Set<Promise<void>>
  /** Bytes of the writes in flight. */
  inflightBytes: number
}

export interface RoutedPipelineOptions<T> {
  spec: ConnectionSpec
  /** Resolve a node address (host:port as the cluster announces it) to connect to. */
  topology: SlotOwners
  /** Bytes per write to one node (default 128 KiB). */
  batchBytes?: number
  /** Writes in flight per node (default 4). */
  window?: number
  /** Bytes in flight per node, at most (default: no limit but `window`): big values do not multiply the window's memory. */
  windowBytes?: number
  /**
   * Every command's final reply (after redirects are followed), with its tag, and the batch and
   * index it was sent at (for tags shared by several commands of a batch).
   */
  onReply: (reply: Reply, tag: T, batch: CommandBatch<T>, index: number) => void
  /** Database to SELECT on each connection (standalone). */
  db?: number
  /**
   * Read replies by counting (RawRespConnection.sendCounted): onReply gets the errors, arrays and
   * nulls; the other replies (successes) reach it, as 'OK', only while `wantsSuccesses()` says so.
   */
  counted?: { wantsSuccesses: () => boolean }
}

/**
 * Pipelined writing to a standalone server or a whole cluster: commands are routed by slot to
 * per-node batches, each node gets `window` batches in flight, and MOVED (the slot table is fixed
 * and the command re-sent to the new owner) and ASK (ASKING + the command, once) are followed.
 */
export class RoutedPipeline<T> {
  readonly table: SlotTable
  private readonly lanes = new Map<string, NodeLane<T>>()
  private readonly batchBytes: number
  private readonly window: number
  private readonly windowBytes: number
  private failure: unknown
  private redirects = 0
  private readonly cluster: boolean
  /** Batch buffers whose replies have come back, for reuse (large buffers are costly to allocate). */
  private readonly spare: Buffer[] = []
  /** Slot -> its lane, as of the slot table's `changes`: no address lookup per command. */
  private slotLanes: (NodeLane<T> | undefined)[] = new Array(SLOTS)
  private slotLanesOf = 0

  constructor(private readonly o: RoutedPipelineOptions<T>) {
    this.table = new SlotTable(o.topology)
    this.batchBytes = o.batchBytes ?? 128 * 1024
    this.window = o.window ?? 4
    this.windowBytes = o.windowBytes ?? Infinity
    this.cluster = o.topology.mode === 'cluster'
  }

  get redirected(): number {
    return this.redirects
  }

  /** The batch that commands for `slot` go into (write the command, then call `written`). */
  batchFor(slot: number): CommandBatch<T> {
    return this.laneFor(slot).batch
  }

  /** After a command was added to `batchFor(slot)`: send the batch when it is full. Returns a promise
   * when the node already has `window` writes in flight (wait for it: backpressure). */
  written(slot: number): Promise<void> | undefined {
    if (this.failure) throw this.failure
    const lane = this.laneFor(slot)
    if (lane.batch.used < this.batchBytes) return undefined
    return this.send(lane)
  }

  /**
   * written(slot) for `batch`, the batch batchFor(slot) just gave (nothing sent in between): the
   * node is looked up again only when the batch is full.
   */
  writtenTo(slot: number, batch: CommandBatch<T>): Promise<void> | undefined {
    if (this.failure) throw this.failure
    if (batch.used < this.batchBytes) return undefined
    return this.send(this.laneFor(slot))
  }

  /** The longest any node has owed replies without answering, with its address. */
  silentest(): { address: string; ms: number } | undefined {
    let worst: { address: string; ms: number } | undefined
    for (const lane of this.lanes.values()) {
      const ms = lane.open?.silentForMs ?? 0
      if (ms > (worst?.ms ?? 0)) worst = { address: lane.address, ms }
    }
    return worst
  }

  /** Give up: every connection closed, every pending and later write failing with `err`. */
  abort(err: Error): void {
    this.failure ??= err
    for (const lane of this.lanes.values()) lane.conn.then((c) => c.close()).catch(() => {})
  }

  /**
   * Send what is queued now, without waiting for replies (a partial batch at the end of a unit of
   * work). Returns a promise when a node now has `window` writes in flight or more: wait for it
   * before queueing more. Units of work smaller than a batch per node (a SCAN page spread over
   * many shards) only ever send this way, and would otherwise outrun a slow target without bound.
   */
  sendQueued(): Promise<void> | undefined {
    if (this.failure) throw this.failure
    let full: Promise<void>[] | undefined
    for (const lane of this.lanes.values()) {
      const room = this.send(lane)
      if (room) (full ??= []).push(room)
    }
    return full && Promise.all(full).then(() => undefined)
  }

  /** Send everything queued and wait for every reply. */
  async flush(): Promise<void> {
    for (;;) {
      if (this.failure) throw this.failure
      const pending: Promise<void>[] = []
      for (const lane of this.lanes.values()) {
        if (lane.batch.count) {
          const p = this.send(lane)
          if (p) pending.push(p)
        }
        pending.push(...lane.inflight)
      }
      if (pending.length === 0) break
      await Promise.all(pending)
    }
    if (this.failure) throw this.failure
  }

  async close(): Promise<void> {
    await Promise.all(
      [...this.lanes.values()].map(async (l) => {
        await Promise.allSettled(l.inflight)
        try {
          ;(await l.conn).close()
        } catch {
          // never connected
        }
      }),
    )
  }

  private addressFor(slot: number): string {
    const address = this.table.nodeFor(slot)
    if (!address) throw new OperationError(`slot ${slot} is not served by any node`, { resumable: true })
    return address
  }

  private laneFor(slot: number): NodeLane<T> {
    if (!this.cluster) slot = 0
    if (this.slotLanesOf !== this.table.changes) {
      this.slotLanes = new Array(SLOTS)
      this.slotLanesOf = this.table.changes
    }
    return (this.slotLanes[slot] ??= this.lane(this.cluster ? this.addressFor(slot) : this.table.nodeFor(0)!))
  }

  private lane(address: string): NodeLane<T> {
    let lane = this.lanes.get(address)
    if (!lane) {
      const node = parseAddress(address)
      if (!node) throw new OperationError(`not a node address: ${address}`)
      const conn = openRawNode(this.o.spec, node, { db: this.o.db, name: 'kvtop-restore' })
      conn.catch(() => {})
      lane = { address, conn, batch: this.newBatch(), inflight: new Set(), inflightBytes: 0 }
      const opened = lane
      void conn.then((c) => (opened.open = c)).catch(() => {})
      this.lanes.set(address, lane)
    }
    return lane
  }

  private newBatch(): CommandBatch<T> {
    return new CommandBatch<T>(this.batchBytes + 64 * 1024, this.spare.pop())
  }

  /** Send the lane's batch; returns a promise if the lane is at its window (wait for a slot). */
  private send(lane: NodeLane<T>): Promise<void> | undefined {
    const batch = lane.batch
    if (batch.count === 0) return undefined
    lane.batch = this.newBatch()
    const bytes = batch.bytes()
    const p: Promise<void> = lane.conn
      .then((conn) =>
        this.o.counted
          ? conn.sendCounted(bytes, batch.count).then((counted) => this.settleCounted(batch, counted))
          : conn.sendEncoded(bytes, batch.count).then((replies) => this.settle(batch, replies)),
      )
      .then((redirected) => {
        if (!redirected && this.spare.length < SPARE_BUFFERS && batch.buf.length <= SPARE_MAX_BYTES)
          this.spare.push(batch.buf)
        return redirected
      })
      .catch((err) => {
        this.failure ??= err
      })
      .finally(() => {
        lane.inflight.delete(p)
        lane.inflightBytes -= bytes.length
      })
    lane.inflight.add(p)
    lane.inflightBytes += bytes.length
    if (lane.inflight.size >= this.window || lane.inflightBytes >= this.windowBytes)
      return Promise.race(lane.inflight)
    return undefined
  }

  private settle(batch: CommandBatch<T>, replies: Reply[]): Promise<void> | undefined {
    let redirected: Promise<void>[] | undefined
    for (let i = 0; i < replies.length; i++) {
      const resent = this.onReply(replies[i], batch, i)
      if (resent) (redirected ??= []).push(resent)
    }
    if (redirected) return Promise.all(redirected).then(() => undefined)
  }

  /** settle() for replies read by counting: the notable ones, then (when wanted) the successes. */
  private settleCounted(batch: CommandBatch<T>, counted: CountedReplies): Promise<void> | undefined {
    let redirected: Promise<void>[] | undefined
    const { indexes, replies } = counted
    for (let j = 0; j < indexes.length; j++) {
      const resent = this.onReply(replies[j], batch, indexes[j])
      if (resent) (redirected ??= []).push(resent)
    }
    if (this.o.counted!.wantsSuccesses()) {
      let next = 0
      for (let i = 0; i < batch.count; i++) {
        if (next < indexes.length && indexes[next] === i) {
          next++
          continue
        }
        this.o.onReply('OK', batch.tags[i], batch, i)
      }
    }
    if (redirected) return Promise.all(redirected).then(() => undefined)
  }

  /** One reply: handed on, or (MOVED, ASK) the command sent where it belongs. */
  private onReply(reply: Reply, batch: CommandBatch<T>, i: number): Promise<void> | undefined {
    if (reply instanceof RespError && (reply.prefix === 'MOVED' || reply.prefix === 'ASK')) {
      const target = parseRedirect(reply)
      if (target) {
        this.redirects++
        const address = formatAddress(target.host, target.port)
        return this.resend(batch.commandBytes(i), batch.tags[i], target.kind, target.slot, address, batch, i)
      }
    }
    this.o.onReply(reply, batch.tags[i], batch, i)
  }

  private async resend(
    command: Buffer,
    tag: T,
    kind: 'MOVED' | 'ASK',
    slot: number,
    address: string,
    batch: CommandBatch<T>,
    index: number,
    depth = 0,
  ): Promise<void> {
    if (depth > 5) throw new OperationError(`too many redirects for slot ${slot}`, { resumable: true })
    if (kind === 'MOVED') this.table.moved(slot, address)
    const conn = await this.lane(address).conn
    // ASKING and the command in one write: the flag holds for the very next command only.
    const reply =
      kind === 'ASK'
        ? (await conn.sendEncoded(Buffer.concat([ASKING, command]), 2))[1]
        : (await conn.sendEncoded(Buffer.from(command), 1))[0]
    if (reply instanceof RespError && (reply.prefix === 'MOVED' || reply.prefix === 'ASK')) {
      const target = parseRedirect(reply)
      if (target)
        return this.resend(
          command,
          tag,
          target.kind,
          target.slot,
          formatAddress(target.host, target.port),
          batch,
          index,
          depth + 1,
        )
    }
    this.o.onReply(reply, tag, batch, index)
  }
}

export { parseRedirect }
