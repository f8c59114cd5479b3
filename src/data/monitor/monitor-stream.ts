import type net from 'node:net'
import { RawRespConnection, ReplyTimeoutError } from '../../wire/connection.js'
import type { RawConnectOptions } from '../../wire/dial.js'
import { encodeCommand } from '../../wire/encode.js'

/** How to reach and log in to the node (see wire/dial.ts); `timeoutMs` bounds connect, AUTH and MONITOR's reply. */
type MonitorConnectOptions = RawConnectOptions

/**
 * A MONITOR session on one node. MONITOR lines are simple strings whose arguments Redis has already
 * escaped, so they contain no raw CR LF: the stream is split on CR LF and handed on as Buffers.
 */
export class MonitorStream {
  private buffered = Buffer.alloc(0)
  private started = false
  private constructor(
    private readonly socket: net.Socket,
    private readonly onLine: (line: Buffer) => void,
    private readonly onError: (err: Error) => void,
  ) {}

  /** The address this connection has on the server, as MONITOR would print it. */
  get localAddress(): string {
    return `${this.socket.localAddress}:${this.socket.localPort}`
  }

  static async start(
    options: MonitorConnectOptions,
    onLine: (line: Buffer) => void,
    onError: (err: Error) => void,
  ): Promise<MonitorStream> {
    // Dialled and logged in by the one dialer, within the timeout; then the socket is ours.
    const deadline = Date.now() + options.timeoutMs
    const conn = await RawRespConnection.connect({ ...options, deadline })
    const socket = conn.detach()
    return new Promise((resolve, reject) => {
      const stream = new MonitorStream(socket, onLine, onError)
      let settled = false
      const fail = (err: Error) => {
        if (settled) return stream.onError(err)
        settled = true
        clearTimeout(timer)
        socket.destroy()
        reject(err)
      }
      const timer = setTimeout(
        () => fail(new ReplyTimeoutError(conn.address, 'MONITOR', options.timeoutMs)),
        Math.max(1, deadline - Date.now()),
      )
      socket.on('error', fail)
      socket.on('close', () => {
        if (!settled) fail(Object.assign(new Error('Connection is closed'), { code: 'ECONNRESET' }))
      })
      socket.on('data', (chunk: Buffer) => {
        if (stream.started) return stream.push(chunk)
        stream.buffered = Buffer.concat([stream.buffered, chunk])
        const end = stream.buffered.indexOf('\r\n')
        if (end < 0) return
        const reply = stream.buffered.toString('utf8', 0, end)
        stream.buffered = stream.buffered.subarray(end + 2)
        if (reply.startsWith('-')) return fail(new Error(reply.slice(1)))
        settled = true
        clearTimeout(timer)
        stream.started = true
        const rest = stream.buffered
        stream.buffered = Buffer.alloc(0)
        resolve(stream)
        if (rest.length) stream.push(rest)
      })
      socket.write(encodeCommand(['MONITOR']))
    })
  }

  pause(): void {
    this.socket.pause()
  }

  resume(): void {
    this.socket.resume()
  }

  close(): void {
    this.socket.destroy()
  }

  private push(chunk: Buffer): void {
    let data = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk
    let start = 0
    for (;;) {
      const end = data.indexOf('\r\n', start)
      if (end < 0) break
      // Each message is a simple string: '+<line>'.
      const line = data.subarray(data[start] === 0x2b ? start + 1 : start, end)
      start = end + 2
      this.onLine(line)
    }
    data = data.subarray(start)
    this.buffered = data.length ? Buffer.from(data) : Buffer.alloc(0)
  }
}
