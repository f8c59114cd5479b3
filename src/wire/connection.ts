import type net from 'node:net'
import { formatAddress } from './address.js'
import { authCommand, openSocket, type RawConnectOptions } from './dial.js'
import { encodeCommand, encodeCommands, type CommandArg } from './encode.js'
import { APPLIED, INCOMPLETE, RespError, RespReplyParser, type Reply } from './reply-parser.js'
import { RawReplies } from './raw-replies.js'
import { BufferPool } from './buffer-pool.js'

export type { RawConnectOptions }

/**
 * A node owed a reply and sent nothing for the call's timeout: the connection is destroyed (the
 * replies after it could no longer be matched to their commands). A transport error, like a
 * reset: `code` is ETIMEDOUT, and the message names the node and the command.
 */
export class ReplyTimeoutError extends Error {
  readonly code = 'ETIMEDOUT'
  constructor(
    readonly address: string,
    readonly command: string,
    readonly timeoutMs: number,
  ) {
    super(`${address} did not answer ${command} within ${timeoutMs / 1000}s`)
    this.name = 'ReplyTimeoutError'
  }
}

interface CallOptions {
  /**
   * How long the server may owe this reply without sending anything, once it is the next reply
   * due; past it the connection is destroyed and every pending command fails with a
   * ReplyTimeoutError. Default: the connection's timeout (--timeout). 0: no limit — only for
   * commands that may legitimately run long (MIGRATE of a big key), under a stall watch.
   */
  timeoutMs?: number
}

/**
 * The replies to a batch read by counting (sendCounted): only those that say more than "done" —
 * errors, arrays, nulls — with their index in the batch. Every other reply was a success.
 */
export interface CountedReplies {
  indexes: number[]
  replies: Reply[]
}

interface Waiter {
  resolve: (reply: Reply) => void
  reject: (err: Error) => void
  /** A batch waiter collects this many replies before it resolves (with the array). */
  batch?: Reply[]
  remaining?: number
  /** A counting batch waiter (sendCounted): the notable replies, and how many replies came. */
  counted?: CountedReplies
  seen?: number
  /** A raw batch waiter (sendRaw): the replies' bytes, kept back to back. */
  raw?: RawReplies
  /** A batch whose bulk replies are views of the bytes received (see RespReplyParser.next). */
  views?: boolean
  /** A single call's timeout (see CallOptions); batches have none: stall detection covers them. */
  timeoutMs?: number
  command?: string
}

/**
 * A lean pipelined RESP connection: commands are written straight onto the socket and replies are
 * sliced out of the read buffer, in order. Used where ioredis's per-command objects cost too much
 * (bulk copy, replay) or where ioredis refuses a connection state (the pub/sub-context probe).
 * Error replies resolve as RespError values; only transport failures reject.
 *
 * Nothing waits forever: a single `call` is bounded by its timeout (the connection's by default);
 * batches (`pipeline`, `sendEncoded`) may legitimately take long, so they are watched from outside
 * through `silentForMs` (see stall-watch.ts), which can `abort` the connection.
 */
export class RawRespConnection {
  private readonly parser = new RespReplyParser()
  /** The buffers of released raw batches (sendRaw), for the next ones. */
  private readonly rawBuffers = new BufferPool()
  /** Due replies' waiters from `head` on; answered ones are cleared at once (see settle). */
  private readonly waiters: (Waiter | undefined)[] = []
  private head = 0
  private closedError: Error | undefined
  /** The timer of the call whose reply is due next, if it has a timeout. */
  private timer: NodeJS.Timeout | undefined

  private readonly listeners: { data: (c: Buffer) => void; error: (e: Error) => void; close: () => void }

  /**
   * @param address host:port, for messages.
   * @param timeoutMs the default timeout of a single call (--timeout).
   */
  constructor(
    private readonly socket: net.Socket,
    readonly address: string,
    readonly timeoutMs: number,
  ) {
    this.listeners = {
      data: (chunk: Buffer) => this.onData(chunk),
      error: (err) => this.fail(err),
      close: () => this.fail(Object.assign(new Error('Connection is closed'), { code: 'ECONNRESET' })),
    }
    socket.on('data', this.listeners.data)
    socket.on('error', this.listeners.error)
    socket.on('close', this.listeners.close)
  }

  /**
   * Dial (TCP/TLS) and log in: the whole of it — connect, TLS, AUTH — bounded by `timeoutMs`, or
   * by `deadline` (ms since the epoch) when the caller has more handshake to do within the same
   * budget. An AUTH refusal rejects with the server's error (a RespError); a silent server with a
   * ReplyTimeoutError; both close the socket.
   */
  static async connect(options: RawConnectOptions & { deadline?: number }): Promise<RawRespConnection> {
    const deadline = options.deadline ?? Date.now() + options.timeoutMs
    const socket = await openSocket({ ...options, timeoutMs: Math.max(1, deadline - Date.now()) })
    const conn = new RawRespConnection(socket, formatAddress(options.host, options.port), options.timeoutMs)
    const auth = authCommand(options)
    if (auth) {
      let reply: Reply
      try {
        reply = await conn.withDeadline(deadline, 'AUTH', conn.call(auth, { timeoutMs: 0 }))
      } catch (err) {
        conn.close()
        throw err
      }
      if (reply instanceof RespError) {
        conn.close()
        throw reply
      }
    }
    return conn
  }

  /**
   * Await `work` (commands on this connection) until `deadline` (ms since the epoch) at most: then
   * the connection is aborted and `work` rejects with a ReplyTimeoutError naming `what`. For
   * handshakes, whose several commands share one --timeout.
   */
  async withDeadline<T>(deadline: number, what: string, work: Promise<T>): Promise<T> {
    const ms = Math.max(1, deadline - Date.now())
    const timer = setTimeout(() => this.abort(new ReplyTimeoutError(this.address, what, this.timeoutMs)), ms)
    try {
      return await work
    } finally {
      clearTimeout(timer)
    }
  }

  /** True once the connection failed, was closed, aborted or detached. */
  get closed(): boolean {
    return this.closedError !== undefined
  }

  get pendingReplies(): number {
    return this.waiters.length - this.head
  }

  /** Since when replies have been awaited without one arriving (0: nothing awaited). */
  private quietSince = 0

  /** How long the server has owed a reply without sending any: a hung node, whatever the throttle. */
  get silentForMs(): number {
    return this.pendingReplies > 0 && this.quietSince ? Date.now() - this.quietSince : 0
  }

  private expectReply(): void {
    if (this.pendingReplies === 0) this.quietSince = Date.now()
  }

  /**
   * Send one command; resolves with its reply (an error reply resolves as a RespError). Bounded by
   * `options.timeoutMs` (default: the connection's timeout): see CallOptions.
   */
  call(args: readonly CommandArg[], options: CallOptions = {}): Promise<Reply> {
    return this.callEncoded(encodeCommand(args), options.timeoutMs ?? this.timeoutMs, args)
  }

  /** Send many commands in one write; resolves with their replies in order. */
  pipeline(commands: readonly (readonly CommandArg[])[]): Promise<Reply[]> {
    if (commands.length === 0) return Promise.resolve([])
    const buf = encodeCommands(commands)
    return this.sendEncoded(buf, commands.length)
  }

  /**
   * Send pre-encoded RESP holding `count` commands. With `views`, bulk replies are views of the
   * bytes received, not copies: for a caller that consumes them at once (see RespReplyParser.next).
   */
  sendEncoded(buf: Buffer, count: number, options: { views?: boolean } = {}): Promise<Reply[]> {
    if (this.closedError) return Promise.reject(this.closedError)
    if (count === 0) return Promise.resolve([])
    // One waiter for the whole batch: no promise per command.
    return new Promise<Reply[]>((resolve, reject) => {
      this.expectReply()
      this.waiters.push({
        resolve: resolve as (reply: Reply) => void,
        reject,
        // Sized up front: thousands of replies are not pushed into a growing array.
        batch: new Array<Reply>(count),
        remaining: count,
        views: options.views === true,
      })
      this.socket.write(buf)
    })
  }

  /**
   * Send pre-encoded RESP holding `count` commands whose replies matter only when they are errors
   * (or arrays, or nulls): the others are counted, not made (see RespReplyParser.nextCounted).
   */
  sendCounted(buf: Buffer, count: number): Promise<CountedReplies> {
    if (this.closedError) return Promise.reject(this.closedError)
    if (count === 0) return Promise.resolve({ indexes: [], replies: [] })
    return new Promise<CountedReplies>((resolve, reject) => {
      this.expectReply()
      this.waiters.push({
        resolve: resolve as unknown as (reply: Reply) => void,
        reject,
        counted: { indexes: [], replies: [] },
        seen: 0,
        remaining: count,
      })
      this.socket.write(buf)
    })
  }

  /**
   * Send pre-encoded RESP holding `count` commands; resolves with their replies as bytes (see
   * RawReplies): no object per reply, for callers that read values where they lie. Error replies
   * are bytes too: the caller decides what each one means. A caller done with them calls
   * `release()`: their buffer serves a later batch of this connection.
   */
  sendRaw(buf: Buffer, count: number, sizeHint?: number): Promise<RawReplies> {
    if (this.closedError) return Promise.reject(this.closedError)
    const raw = new RawReplies(count, sizeHint, this.rawBuffers)
    if (count === 0) return Promise.resolve(raw)
    return new Promise<RawReplies>((resolve, reject) => {
      this.expectReply()
      this.waiters.push({
        resolve: resolve as unknown as (reply: Reply) => void,
        reject,
        raw,
        remaining: count,
      })
      this.socket.write(buf)
    })
  }

  private callEncoded(buf: Buffer, timeoutMs: number, args: readonly CommandArg[]): Promise<Reply> {
    if (this.closedError) return Promise.reject(this.closedError)
    return new Promise((resolve, reject) => {
      this.expectReply()
      const waiter: Waiter = { resolve, reject }
      if (timeoutMs > 0) {
        waiter.timeoutMs = timeoutMs
        waiter.command = commandName(args)
      }
      this.waiters.push(waiter)
      if (this.waiters[this.head] === waiter) this.armTimer()
      this.socket.write(buf)
    })
  }

  /**
   * The due reply's timer: runs while the server owes it and sends nothing (restarted by every
   * chunk received and when an earlier reply completes), so that a call queued behind a long batch
   * is not charged for the batch's time.
   */
  private armTimer(): void {
    if (this.timer) {
      clearTimeout(this.timer)
      this.timer = undefined
    }
    const waiter = this.waiters[this.head]
    if (!waiter?.timeoutMs || this.closedError) return
    const ms = waiter.timeoutMs
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.abort(new ReplyTimeoutError(this.address, waiter.command ?? 'a command', ms))
    }, ms)
  }

  /** Resolves when the socket can take more writes (backpressure for bulk senders). */
  drained(): Promise<void> {
    if (this.closedError || !this.socket.writableNeedDrain) return Promise.resolve()
    // A socket destroyed meanwhile never drains: its close ends the wait too (the next send fails).
    return new Promise((resolve) => {
      const done = () => {
        this.socket.off('drain', done)
        this.socket.off('close', done)
        resolve()
      }
      this.socket.once('drain', done)
      this.socket.once('close', done)
    })
  }

  /** Close the connection: pending commands fail ('Connection is closed'), `closed` is true at once. */
  close(): void {
    this.fail(Object.assign(new Error('Connection is closed'), { code: 'ECONNRESET' }))
    this.socket.destroy()
  }

  /** Give up on this connection: every pending and later command fails with `err`, the socket is destroyed. */
  abort(err: Error): void {
    this.fail(err)
    this.socket.destroy()
  }

  /**
   * Hand the socket over to a caller that speaks to it directly (a specialised bulk reader), once
   * every reply has arrived. The connection object is unusable afterwards.
   */
  detach(): net.Socket {
    if (this.pendingReplies > 0 || this.parser.buffered > 0) {
      throw new Error('cannot detach a connection with replies outstanding')
    }
    this.socket.off('data', this.listeners.data)
    this.socket.off('error', this.listeners.error)
    this.socket.off('close', this.listeners.close)
    this.closedError = new Error('connection detached')
    this.armTimer()
    return this.socket
  }

  private onData(chunk: Buffer): void {
    this.quietSince = Date.now() // bytes from the server: it is alive, whatever they complete
    this.parser.push(chunk)
    for (;;) {
      const waiter = this.waiters[this.head]
      let reply: Reply | typeof INCOMPLETE | typeof APPLIED
      try {
        if (waiter?.raw) {
          // A raw batch reads the bytes itself; the rest of the stream goes back to the parser.
          if (!this.feedRaw(waiter.raw)) break
          this.settle(waiter, waiter.raw as unknown as Reply)
          continue
        }
        if (waiter?.counted && waiter.remaining! > 1) {
          // Successes in a row (most replies to a bulk write) stepped over at once; a waiter's last
          // reply is read below, where it resolves.
          const stepped = this.parser.skipApplied(waiter.remaining! - 1)
          waiter.seen! += stepped
          waiter.remaining! -= stepped
        }
        reply = waiter?.counted ? this.parser.nextCounted() : this.parser.next(waiter?.views === true)
      } catch (err) {
        this.fail(err as Error)
        this.socket.destroy()
        return
      }
      if (reply === INCOMPLETE) break
      if (waiter?.counted) {
        if (reply !== APPLIED) {
          waiter.counted.indexes.push(waiter.seen!)
          waiter.counted.replies.push(reply as Reply)
        }
        waiter.seen!++
        if (--waiter.remaining! > 0) continue
      } else if (waiter?.batch) {
        // Only counted waiters read by counting: this is a reply.
        waiter.batch[waiter.batch.length - waiter.remaining!] = reply as Reply
        if (--waiter.remaining! > 0) continue
      }
      this.settle(waiter, reply as Reply)
    }
    // Bytes arrived (or the due reply changed): the due call's silence starts again.
    if (this.timer || this.waiters[this.head]?.timeoutMs) this.armTimer()
  }

  /**
   * Hand every byte the parser holds to the raw batch due (copied once, never joined). True once
   * its last reply is whole: the bytes after it are given back to the parser, for the next waiter.
   */
  private feedRaw(raw: RawReplies): boolean {
    const chunks = this.parser.take()
    for (let k = 0; k < chunks.length; k++) {
      const chunk = chunks[k]
      const end = raw.feed(chunk, 0, chunk.length)
      if (end < 0) continue
      if (end < chunk.length) this.parser.push(chunk.subarray(end))
      for (let rest = k + 1; rest < chunks.length; rest++) this.parser.push(chunks[rest])
      return true
    }
    return false
  }

  /** The waiter due is answered: the next one is due. */
  private settle(waiter: Waiter | undefined, reply: Reply): void {
    // An answered waiter is let go at once: it holds its batch's replies (DUMP payloads, often
    // megabytes), which would otherwise live on until the queue is next compacted.
    this.waiters[this.head++] = undefined
    if (this.head === this.waiters.length) {
      this.waiters.length = 0
      this.head = 0
    } else if (this.head > 1024 && this.head * 2 > this.waiters.length) {
      this.waiters.splice(0, this.head)
      this.head = 0
    }
    if (waiter?.counted) waiter.resolve(waiter.counted as unknown as Reply)
    else if (waiter?.batch) waiter.resolve(waiter.batch as Reply)
    else waiter?.resolve(reply)
  }

  private fail(err: Error): void {
    if (this.closedError) return
    this.closedError = err
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    for (let i = this.head; i < this.waiters.length; i++) this.waiters[i]?.reject(err)
    this.waiters.length = 0
    this.head = 0
  }
}

/** `GET`, `CLUSTER SETSLOT`: a command's name for messages (never its arguments: they may be secrets). */
function commandName(args: readonly CommandArg[]): string {
  const first = String(args[0] ?? '').toUpperCase()
  const sub = args[1]
  if (
    sub !== undefined &&
    /^(CLUSTER|CONFIG|CLIENT|MEMORY|OBJECT|FUNCTION|SCRIPT|XINFO|ACL|COMMAND|REPLCONF)$/.test(first)
  )
    return `${first} ${String(sub).toUpperCase()}`
  return first
}
