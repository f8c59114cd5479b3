import net from 'node:net'
import tls from 'node:tls'
import { readFileSync } from 'node:fs'
import { encodeCommand, encodeCommands, type CommandArg } from './encode.js'
import { INCOMPLETE, RespError, RespReplyParser, type Reply } from './reply-parser.js'

export interface RawConnectOptions {
  host: string
  port: number
  tls?: { ca?: string; insecure?: boolean; servername?: string }
  username?: string
  password?: string
  timeoutMs: number
}

interface Waiter {
  resolve: (reply: Reply) => void
  reject: (err: Error) => void
  /** A batch waiter collects this many replies before it resolves (with the array). */
  batch?: Reply[]
  remaining?: number
}

/**
 * A lean pipelined RESP connection: commands are written straight onto the socket and replies are
 * sliced out of the read buffer, in order. Used where ioredis's per-command objects cost too much
 * (bulk copy, replay) or where ioredis refuses a connection state (the pub/sub-context probe).
 * Error replies resolve as RespError values; only transport failures reject.
 */
export class RawRespConnection {
  private readonly parser = new RespReplyParser()
  private readonly waiters: Waiter[] = []
  private head = 0
  private closedError: Error | undefined

  private readonly listeners: { data: (c: Buffer) => void; error: (e: Error) => void; close: () => void }

  private constructor(private readonly socket: net.Socket) {
    this.listeners = {
      data: (chunk: Buffer) => this.onData(chunk),
      error: (err) => this.fail(err),
      close: () => this.fail(Object.assign(new Error('Connection is closed'), { code: 'ECONNRESET' })),
    }
    socket.on('data', this.listeners.data)
    socket.on('error', this.listeners.error)
    socket.on('close', this.listeners.close)
  }

  static async connect(options: RawConnectOptions): Promise<RawRespConnection> {
    const socket = await openSocket(options)
    const conn = new RawRespConnection(socket)
    if (options.password !== undefined) {
      const args: CommandArg[] = options.username
        ? ['AUTH', options.username, options.password]
        : ['AUTH', options.password]
      const reply = await conn.call(args)
      if (reply instanceof RespError) {
        conn.close()
        throw reply
      }
    }
    return conn
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

  /** Send one command; resolves with its reply (an error reply resolves as a RespError). */
  call(args: readonly CommandArg[]): Promise<Reply> {
    return this.callEncoded(encodeCommand(args))
  }

  /** Send many commands in one write; resolves with their replies in order. */
  pipeline(commands: readonly (readonly CommandArg[])[]): Promise<Reply[]> {
    if (commands.length === 0) return Promise.resolve([])
    const buf = encodeCommands(commands)
    return this.sendEncoded(buf, commands.length)
  }

  /** Send pre-encoded RESP holding `count` commands. */
  sendEncoded(buf: Buffer, count: number): Promise<Reply[]> {
    if (this.closedError) return Promise.reject(this.closedError)
    if (count === 0) return Promise.resolve([])
    // One waiter for the whole batch: no promise per command.
    return new Promise<Reply[]>((resolve, reject) => {
      this.expectReply()
      this.waiters.push({
        resolve: resolve as (reply: Reply) => void,
        reject,
        batch: [],
        remaining: count,
      })
      this.socket.write(buf)
    })
  }

  private callEncoded(buf: Buffer): Promise<Reply> {
    if (this.closedError) return Promise.reject(this.closedError)
    return new Promise((resolve, reject) => {
      this.expectReply()
      this.waiters.push({ resolve, reject })
      this.socket.write(buf)
    })
  }

  /** Resolves when the socket can take more writes (backpressure for bulk senders). */
  drained(): Promise<void> {
    if (!this.socket.writableNeedDrain) return Promise.resolve()
    return new Promise((resolve) => this.socket.once('drain', () => resolve()))
  }

  close(): void {
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
    return this.socket
  }

  private onData(chunk: Buffer): void {
    this.quietSince = Date.now() // bytes from the server: it is alive, whatever they complete
    this.parser.push(chunk)
    for (;;) {
      let reply: Reply | typeof INCOMPLETE
      try {
        reply = this.parser.next()
      } catch (err) {
        this.fail(err as Error)
        this.socket.destroy()
        return
      }
      if (reply === INCOMPLETE) break
      const waiter = this.waiters[this.head]
      if (waiter?.batch) {
        waiter.batch.push(reply)
        if (--waiter.remaining! > 0) continue
      }
      this.head++
      if (this.head > 1024 && this.head * 2 > this.waiters.length) {
        this.waiters.splice(0, this.head)
        this.head = 0
      }
      if (waiter?.batch) waiter.resolve(waiter.batch as Reply)
      else waiter?.resolve(reply)
    }
  }

  private fail(err: Error): void {
    if (this.closedError) return
    this.closedError = err
    for (let i = this.head; i < this.waiters.length; i++) this.waiters[i].reject(err)
    this.waiters.length = 0
    this.head = 0
  }
}

function openSocket(options: RawConnectOptions): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    let socket: net.Socket
    const timer = setTimeout(() => {
      socket?.destroy()
      reject(Object.assign(new Error('connect timed out'), { code: 'ETIMEDOUT' }))
    }, options.timeoutMs)
    const done = (err?: Error) => {
      clearTimeout(timer)
      if (err) {
        socket.destroy()
        reject(err)
      } else {
        socket.setNoDelay(true)
        socket.removeAllListeners('error')
        resolve(socket)
      }
    }
    if (options.tls) {
      socket = tls.connect({
        host: options.host,
        port: options.port,
        ca: options.tls.ca ? readFileSync(options.tls.ca) : undefined,
        rejectUnauthorized: !options.tls.insecure,
        servername: options.tls.servername,
      })
      socket.once('secureConnect', () => done())
    } else {
      socket = net.connect({ host: options.host, port: options.port })
      socket.once('connect', () => done())
    }
    socket.once('error', (err) => done(err))
  })
}
