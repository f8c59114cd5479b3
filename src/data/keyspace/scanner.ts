import type net from 'node:net'
import type { ConnectionSpec, NodeAddress } from '../../connect/client.js'
import { formatAddress } from '../../connect/endpoint.js'
import { OperationError, UsageError } from '../../errors.js'
import { RateLimiter } from './rate-limiter.js'
import { commandHead, encodeDumpBatch, scanCommand, type Page, type PageRange } from './dump-requests.js'
import { classifyError, firstWord, isCommandRefusal } from '../../wire/classify.js'
import { openRawNode } from '../../wire/node.js'
import type { StallWatch } from '../../wire/stall-watch.js'

/**
 * Receives every key read, synchronously, as byte ranges that are valid only during the call: the
 * key is `key[keyStart..keyEnd)`, its DUMP payload `payload[payloadStart..payloadEnd)`; `expireAt`
 * is ms since the epoch, or -1 when the key does not expire. Copy what you keep.
 */
export interface DumpSink {
  key(
    key: Buffer,
    keyStart: number,
    keyEnd: number,
    payload: Buffer,
    payloadStart: number,
    payloadEnd: number,
    expireAt: number,
  ): void
  /** A promise when the sink wants the scanner to pause (backpressure), else undefined. */
  wait(): Promise<void> | undefined
}

interface NodeScanOptions {
  spec: ConnectionSpec
  node: NodeAddress
  db: number
  /** SCAN's COUNT hint (default 1000). */
  count?: number
  /** Keys per DUMP pipeline write (default 512). */
  batchKeys?: number
  /** DUMP pipelines in flight at once (default 4). */
  window?: number
  /** Commands per second on this node, all kinds counted; 0 or undefined: unlimited. */
  maxOps?: number
  /** PEXPIRETIME (Redis 7+: absolute, no clock skew) or PTTL (older servers). */
  expireCommand?: 'PEXPIRETIME' | 'PTTL'
  signal?: AbortSignal
  /** Watched while it runs: a stall fails the scan with the watch's error. */
  stallWatch?: StallWatch
  sink: DumpSink
  onProgress?: (delta: { keys: number; bytes: number; skipped: number }) => void
}

export interface NodeScanResult {
  node: string
  db: number
  keys: number
  bytes: number
  /** Keys SCAN returned that were gone (deleted or expired) by the time they were read. */
  vanished: number
  /** Keys whose DUMP was redirected (MOVED/ASK: their slot was moving); not read. */
  redirected: number
  commands: number
}

/** The replies to one page's part of a DUMP batch: PEXPIRETIME (or PTTL) and DUMP for each key. */
interface BatchPart {
  kind: 'batch'
  page: Page
  from: number
  to: number
  /** The key whose replies come next, and which of its two (0: the expire time, 1: DUMP). */
  next: number
  stage: 0 | 1
  /** The expire time of key `next` (-1: none, -2: gone, -3: moved). */
  expireAt: number
  keys: number
  bytes: number
  skipped: number
  /** The batch's last part: its end frees a place in the window. */
  last: boolean
}

/** What the next replies on the wire are. */
type Expect = { kind: 'scan' } | BatchPart

const CR = 0x0d
const INCOMPLETE = Number.NEGATIVE_INFINITY

/**
 * SCAN one database of one node, with PEXPIRETIME (or PTTL) and DUMP pipelined for every key found:
 * the next SCAN goes out as soon as the previous one answers, `window` DUMP batches are kept in
 * flight, and a slow sink pauses new batches. Replies are sliced straight out of the socket's read
 * buffer and handed to the sink as byte ranges (no object per reply), which is what lets one client
 * core keep up with the server. Binary-safe throughout. Keys that vanish between SCAN and DUMP are
 * counted and skipped.
 */
export async function scanNode(o: NodeScanOptions): Promise<NodeScanResult> {
  const address = formatAddress(o.node.host, o.node.port)
  const conn = await openRawNode(o.spec, o.node, { db: o.db, name: 'kvtop-snapshot' })
  const socket = conn.detach()
  const dumper = new NodeDumper(socket, address, o)
  const unwatch = o.stallWatch?.add(address, dumper)
  try {
    return await dumper.run()
  } finally {
    unwatch?.()
  }
}

class NodeDumper {
  private readonly result: NodeScanResult
  private readonly limiter: RateLimiter
  private readonly count: string
  private readonly batchKeys: number
  private readonly window: number
  private readonly expireHead: Buffer
  private readonly relative: boolean
  private readonly expireName: 'PEXPIRETIME' | 'PTTL'
  private readonly expects: Expect[] = []
  private expectHead = 0
  private readonly queue: PageRange[] = []
  private queuedKeys = 0
  private cursor = '0'
  private scanInFlight = false
  private scanDone = false
  private batchesInFlight = 0
  private paused = false
  private waitingForRate = false
  private failure: Error | undefined
  private finished = false
  private buf: Buffer = Buffer.alloc(0)
  private pos = 0
  private pending: Buffer[] = []
  private pendingBytes = 0
  private need = 0
  private resolve!: (r: NodeScanResult) => void
  private reject!: (e: Error) => void
  private now = Date.now()
  /** Since when replies have been owed without a byte arriving (see silentForMs). */
  private quietSince = 0

  constructor(
    private readonly socket: net.Socket,
    private readonly address: string,
    private readonly o: NodeScanOptions,
  ) {
    this.result = { node: address, db: o.db, keys: 0, bytes: 0, vanished: 0, redirected: 0, commands: 0 }
    this.limiter = new RateLimiter(o.maxOps)
    this.count = String(o.count ?? 1000)
    this.batchKeys = o.batchKeys ?? 512
    this.window = o.window ?? 4
    const cmd = o.expireCommand ?? 'PEXPIRETIME'
    this.relative = cmd === 'PTTL'
    this.expireName = cmd
    this.expireHead = commandHead(cmd)
  }

  run(): Promise<NodeScanResult> {
    return new Promise<NodeScanResult>((resolve, reject) => {
      this.resolve = resolve
      this.reject = reject
      this.socket.on('data', (chunk: Buffer) => this.onData(chunk))
      // A reset (the node restarted, failed over, was killed) is an error naming the node, as a close is.
      this.socket.on('error', (err) => this.fail(connectionLost(this.address, err)))
      this.socket.on('close', () => {
        if (!this.finished) this.fail(connectionLost(this.address))
      })
      this.o.signal?.addEventListener('abort', this.onAbort)
      this.pump()
    }).finally(() => {
      this.o.signal?.removeEventListener('abort', this.onAbort)
      this.socket.destroy()
    })
  }

  /** How long the server has owed replies without sending a byte (0: nothing owed): for the stall watch. */
  get silentForMs(): number {
    return !this.finished && this.expectHead < this.expects.length && this.quietSince
      ? Date.now() - this.quietSince
      : 0
  }

  /** Stop at once: the scan fails with `err` (a stall), the socket is closed. */
  abort(err: Error): void {
    this.fail(err)
    this.socket.destroy()
  }

  /** Call before sending a command: the silence starts now if nothing was owed. */
  private expectReply(): void {
    if (this.expectHead >= this.expects.length) this.quietSince = Date.now()
  }

  private readonly onAbort = () => {
    this.scanDone = true
    this.queue.length = 0
    this.queuedKeys = 0
    this.pump()
  }

  private fail(err: Error): void {
    if (this.finished) return
    this.failure ??= err
    this.finished = true
    this.reject(this.failure)
  }

  // --- sending --------------------------------------------------------------------------------------

  private pump(): void {
    if (this.finished) return
    if (!this.scanDone && !this.scanInFlight && this.queuedKeys < this.batchKeys * this.window * 2)
      this.sendScan()
    while (
      !this.paused &&
      !this.waitingForRate &&
      this.batchesInFlight < this.window &&
      this.queuedKeys > 0
    ) {
      if (!this.sendBatch()) break
    }
    if (this.scanDone && !this.scanInFlight && this.queuedKeys === 0 && this.batchesInFlight === 0) {
      this.finished = true
      this.resolve(this.result)
    }
  }

  private sendScan(): void {
    this.expectReply()
    this.socket.write(scanCommand(this.cursor, this.count))
    this.expects.push({ kind: 'scan' })
    this.scanInFlight = true
    this.result.commands++
  }

  /** Send one batch of PEXPIRETIME+DUMP pairs; false when the rate limit says wait. */
  private sendBatch(): boolean {
    const planned = Math.min(this.batchKeys, this.queuedKeys)
    const delay = this.limiter.delayFor(planned * 2)
    if (delay > 0) {
      this.waitingForRate = true
      setTimeout(() => {
        this.waitingForRate = false
        this.pump()
      }, delay).unref()
      return false
    }
    const { parts, keys, bytes } = this.takeQueued(planned)
    this.expectReply()
    const out = encodeDumpBatch(this.expireHead, parts, keys, bytes)
    for (const p of parts) {
      this.expects.push({
        kind: 'batch',
        page: p.page,
        from: p.from,
        to: p.to,
        next: p.from,
        stage: 0,
        expireAt: -1,
        keys: 0,
        bytes: 0,
        skipped: 0,
        last: false,
      })
    }
    // The last part of the batch reports completion.
    ;(this.expects[this.expects.length - 1] as BatchPart).last = true
    this.batchesInFlight++
    this.result.commands += keys * 2
    this.socket.write(out)
    return true
  }

  /** Up to `planned` keys off the queue, as ranges of their pages, with the bytes of their names. */
  private takeQueued(planned: number): { parts: PageRange[]; keys: number; bytes: number } {
    let keys = 0
    let bytes = 0
    const parts: PageRange[] = []
    while (keys < planned && this.queue.length) {
      const q = this.queue[0]
      const take = Math.min(planned - keys, q.to - q.from)
      parts.push({ page: q.page, from: q.from, to: q.from + take })
      for (let i = q.from; i < q.from + take; i++) bytes += q.page.ends[i] - q.page.starts[i]
      keys += take
      q.from += take
      if (q.from >= q.to) this.queue.shift()
    }
    this.queuedKeys -= keys
    return { parts, keys, bytes }
  }

  // --- receiving ------------------------------------------------------------------------------------

  private onData(chunk: Buffer): void {
    if (this.finished) return
    this.quietSince = Date.now() // bytes from the server: it is alive, whatever they complete
    this.pending.push(chunk)
    this.pendingBytes += chunk.length
    if (this.buf.length - this.pos + this.pendingBytes < this.need) return
    this.buf =
      this.pos < this.buf.length
        ? Buffer.concat([this.buf.subarray(this.pos), ...this.pending])
        : this.pending.length === 1
          ? this.pending[0]
          : Buffer.concat(this.pending)
    this.pos = 0
    this.pending = []
    this.pendingBytes = 0
    this.need = 0
    this.now = Date.now()
    try {
      while (this.pos < this.buf.length && this.expectHead < this.expects.length) {
        const e = this.expects[this.expectHead]
        const ok = e.kind === 'scan' ? this.readScan() : this.readBatch(e)
        if (!ok) break
      }
    } catch (err) {
      this.fail(err as Error)
      return
    }
    if (this.expectHead > 256) {
      this.expects.splice(0, this.expectHead)
      this.expectHead = 0
    }
    this.pump()
  }

  /** An integer at pos ending in CRLF (the header of `$`, `*` or `:`); INCOMPLETE if not all here. */
  private int(at: number): number {
    const b = this.buf
    let i = at
    let neg = false
    if (b[i] === 0x2d) {
      neg = true
      i++
    }
    let n = 0
    while (i < b.length && b[i] !== CR) {
      const c = b[i]
      if (c < 0x30 || c > 0x39) throw new OperationError(`protocol error from ${this.address}: bad number`)
      n = n * 10 + (c - 0x30)
      i++
    }
    if (i + 1 >= b.length) return INCOMPLETE
    this.intEnd = i + 2
    return neg ? -n : n
  }

  private intEnd = 0

  /** An error line at pos ('-' ...); returns its text and moves pos, or undefined if not all here. */
  private errorLine(): string | undefined {
    const end = this.buf.indexOf(CR, this.pos)
    if (end < 0 || end + 1 >= this.buf.length) return undefined
    const text = this.buf.toString('utf8', this.pos + 1, end)
    this.pos = end + 2
    return text
  }

  private readScan(): boolean {
    const b = this.buf
    const start = this.pos
    if (b[start] === 0x2d) {
      const text = this.errorLine()
      if (text === undefined) return this.more(start)
      throw refusal('SCAN', text, this.address)
    }
    // *2 $n cursor *k ($n key)...
    if (b[start] !== 0x2a) throw new OperationError(`unexpected SCAN reply from ${this.address}`)
    if (this.int(start + 1) === INCOMPLETE) return this.more(start)
    let p = this.intEnd
    if (p >= b.length) return this.more(start)
    const clen = this.int(p + 1)
    if (clen === INCOMPLETE) return this.more(start)
    p = this.intEnd
    if (p + clen + 2 > b.length) return this.more(start)
    const cursor = b.toString('latin1', p, p + clen)
    p += clen + 2
    if (p >= b.length) return this.more(start)
    const n = this.int(p + 1)
    if (n === INCOMPLETE) return this.more(start)
    p = this.intEnd
    const starts: number[] = new Array(n)
    const ends: number[] = new Array(n)
    const first = p
    for (let i = 0; i < n; i++) {
      if (p >= b.length) return this.more(start)
      const len = this.int(p + 1)
      if (len === INCOMPLETE) return this.more(start)
      p = this.intEnd
      if (p + len + 2 > b.length) return this.more(start, p + len + 2 - start)
      starts[i] = p - first
      ends[i] = p - first + len
      p += len + 2
    }
    // One copy of the whole key list; the keys are ranges of it.
    const page: Page = { bytes: Buffer.from(b.subarray(first, p)), starts, ends }
    this.pos = p
    this.expectHead++
    this.scanInFlight = false
    this.cursor = cursor
    if (cursor === '0') this.scanDone = true
    if (n > 0 && !this.finished && !this.o.signal?.aborted) {
      this.queue.push({ page, from: 0, to: n })
      this.queuedKeys += n
    }
    return true
  }

  /** The replies of one part of a batch, key after key; false when the rest is not all here yet. */
  private readBatch(e: BatchPart): boolean {
    const b = this.buf
    while (e.next < e.to) {
      if (this.pos >= b.length) return false
      if (e.stage === 0 ? !this.readExpire(e) : !this.readDump(e)) return false
    }
    this.partRead(e)
    return true
  }

  /** PEXPIRETIME / PTTL: an integer, or an error (a redirect marks the key as moved: -3). */
  private readExpire(e: BatchPart): boolean {
    const start = this.pos
    const t = this.buf[start]
    if (t === 0x3a) {
      const v = this.int(start + 1)
      if (v === INCOMPLETE) return this.more(start)
      this.pos = this.intEnd
      e.expireAt = v < 0 ? v : this.relative ? this.now + v : v
    } else if (t === 0x2d) {
      const text = this.errorLine()
      if (text === undefined) return this.more(start)
      if (!isRedirect(text)) throw refusal(this.expireName, text, this.address)
      e.expireAt = -3
    } else throw new OperationError(`unexpected reply to ${this.expireName} from ${this.address}`)
    e.stage = 1
    return true
  }

  /** DUMP: a bulk string (the key to the sink), nil (vanished), or an error (a redirect: skipped). */
  private readDump(e: BatchPart): boolean {
    const b = this.buf
    const start = this.pos
    const t = b[start]
    if (t === 0x24) {
      const len = this.int(start + 1)
      if (len === INCOMPLETE) return this.more(start)
      if (len < 0) {
        this.pos = this.intEnd
        this.result.vanished++
        e.skipped++
      } else {
        const ps = this.intEnd
        if (ps + len + 2 > b.length) return this.more(start, ps + len + 2 - start)
        this.pos = ps + len + 2
        this.dumped(e, ps, len)
      }
    } else if (t === 0x2d) {
      const text = this.errorLine()
      if (text === undefined) return this.more(start)
      if (!isRedirect(text)) throw refusal('DUMP', text, this.address)
      this.result.redirected++
      e.skipped++
    } else throw new OperationError(`unexpected reply to DUMP from ${this.address}`)
    e.stage = 0
    e.next++
    return true
  }

  /** A DUMP payload (buf[ps..ps+len)): to the sink, unless the key was gone or moved when its expire time was read. */
  private dumped(e: BatchPart, ps: number, len: number): void {
    if (e.expireAt === -2 || e.expireAt === -3) {
      // Gone (or moved) between the two commands: a key re-created meanwhile is skipped too.
      if (e.expireAt === -3) this.result.redirected++
      else this.result.vanished++
      e.skipped++
      return
    }
    const page = e.page
    this.o.sink.key(page.bytes, page.starts[e.next], page.ends[e.next], this.buf, ps, ps + len, e.expireAt)
    e.keys++
    e.bytes += len
  }

  /** A part read in full: its counts into the result and the progress; the batch's last part lets the sink pause the scan. */
  private partRead(e: BatchPart): void {
    this.expectHead++
    this.result.keys += e.keys
    this.result.bytes += e.bytes
    this.o.onProgress?.({ keys: e.keys, bytes: e.bytes, skipped: e.skipped })
    if (!e.last) return
    this.batchesInFlight--
    const wait = this.o.sink.wait()
    if (wait && !this.paused) {
      this.paused = true
      wait.then(
        () => {
          this.paused = false
          this.pump()
        },
        (err: Error) => this.fail(err),
      )
    }
  }

  /** Not all of the reply at `start` is here yet: keep it and wait for `bytes` (if known). */
  private more(start: number, bytes = 0): boolean {
    this.pos = start
    this.need = bytes
    return false
  }
}

/** The node's connection closed or reset during the scan (`err`: the socket's error, if any). */
function connectionLost(address: string, err?: Error): OperationError {
  return new OperationError(
    `${address} closed the connection during the scan${err ? ` (${err.message})` : ''}`,
    { resumable: true, ...(err ? { cause: err } : {}) },
  )
}

/** The key's slot is elsewhere or moving (MOVED, ASK, TRYAGAIN): skipped, counted as redirected. */
function isRedirect(text: string): boolean {
  return classifyError({ message: text }) === 'redirect' || firstWord(text) === 'TRYAGAIN'
}

function refusal(command: string, message: string, address: string): Error {
  if (isCommandRefusal({ message })) {
    return new UsageError(`${address} refuses ${command} for this user: ${message}`, {
      code: 'refused',
      hint: 'snapshot create --method scan needs SCAN, DUMP and PEXPIRETIME (PTTL before Redis 7): grant them to the ACL user.',
    })
  }
  return new OperationError(`${command} failed on ${address}: ${message}`, { resumable: false })
}
