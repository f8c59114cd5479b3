import net from 'node:net'
import tls from 'node:tls'
import { readFileSync } from 'node:fs'
import { encodeCommand } from '../../wire/encode.js'

export interface MonitorConnectOptions {
  host: string
  port: number
  username?: string
  password?: string
  tls?: { ca?: string; insecure?: boolean }
  timeoutMs: number
}

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

  static start(
    options: MonitorConnectOptions,
    onLine: (line: Buffer) => void,
    onError: (err: Error) => void,
  ): Promise<MonitorStream> {
    return new Promise((resolve, reject) => {
      const socket = options.tls
        ? tls.connect({
            host: options.host,
            port: options.port,
            ca: options.tls.ca ? readFileSync(options.tls.ca) : undefined,
            rejectUnauthorized: !options.tls.insecure,
          })
        : net.connect({ host: options.host, port: options.port })
      const stream = new MonitorStream(socket, onLine, onError)
      const timer = setTimeout(
        () => fail(Object.assign(new Error('connect timed out'), { code: 'ETIMEDOUT' })),
        options.timeoutMs,
      )
      let settled = false
      const fail = (err: Error) => {
        if (settled) return stream.onError(err)
        settled = true
        clearTimeout(timer)
        socket.destroy()
        reject(err)
      }
      socket.on('error', fail)
      socket.on('close', () => {
        if (!settled) fail(Object.assign(new Error('Connection is closed'), { code: 'ECONNRESET' }))
      })
      socket.once(options.tls ? 'secureConnect' : 'connect', () => {
        const commands: Buffer[] = []
        if (options.password !== undefined) {
          commands.push(
            encodeCommand(
              options.username ? ['AUTH', options.username, options.password] : ['AUTH', options.password],
            ),
          )
        }
        commands.push(encodeCommand(['MONITOR']))
        socket.write(Buffer.concat(commands))
      })
      let expectedReplies = (options.password !== undefined ? 1 : 0) + 1
      socket.on('data', (chunk: Buffer) => {
        if (stream.started) return stream.push(chunk)
        stream.buffered = Buffer.concat([stream.buffered, chunk])
        while (expectedReplies > 0) {
          const end = stream.buffered.indexOf('\r\n')
          if (end < 0) return
          const reply = stream.buffered.toString('utf8', 0, end)
          stream.buffered = stream.buffered.subarray(end + 2)
          if (reply.startsWith('-')) return fail(new Error(reply.slice(1)))
          expectedReplies--
        }
        settled = true
        clearTimeout(timer)
        stream.started = true
        const rest = stream.buffered
        stream.buffered = Buffer.alloc(0)
        resolve(stream)
        if (rest.length) stream.push(rest)
      })
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
