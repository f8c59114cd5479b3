import net from 'node:net'
import { afterEach } from 'vitest'
import { NEED_MORE, RespCommandParser } from '../../../src/data/resp/command-parser.js'

/**
 * What the fake server does with one command: a raw reply to write (RESP text or bytes), or
 * undefined to answer nothing (a server that accepted the connection and then hangs).
 */
export type Handler = (args: string[], socket: net.Socket) => string | Buffer | undefined

export interface FakeServer {
  port: number
  /** Every command received, in order, as text. */
  commands: string[][]
  /** Server-side sockets, and whether each was closed (by either side). */
  sockets: net.Socket[]
  closedCount(): number
  /** Resolves once the client side has closed `n` connections. */
  waitClosed(n?: number): Promise<void>
  close(): Promise<void>
}

/** fakeServer for a test file: every server it starts is closed after each test. */
export function fakeServersClosedAfterEach(): (handler?: Handler) => Promise<FakeServer> {
  const servers: FakeServer[] = []
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()))
  })
  return async (handler) => {
    const s = await fakeServer(handler)
    servers.push(s)
    return s
  }
}

/** A TCP server on 127.0.0.1 that parses RESP commands and answers through `handler`. */
export async function fakeServer(handler: Handler = () => undefined): Promise<FakeServer> {
  const commands: string[][] = []
  const sockets: net.Socket[] = []
  let closed = 0
  const closeWaiters: (() => void)[] = []
  const server = net.createServer((socket) => {
    sockets.push(socket)
    const parser = new RespCommandParser()
    socket.on('error', () => {})
    socket.on('close', () => {
      closed++
      for (const w of closeWaiters.splice(0)) w()
    })
    let junk = false
    socket.on('data', (chunk: Buffer) => {
      if (junk) return
      parser.push(chunk)
      for (;;) {
        let rec
        try {
          rec = parser.next()
        } catch {
          // Not RESP (a TLS ClientHello): heard, never answered.
          junk = true
          return
        }
        if (rec === NEED_MORE) break
        if (rec.kind !== 'command') continue
        const args = rec.args.map((a) => a.toString('latin1'))
        commands.push(args)
        const reply = handler(args, socket)
        if (reply !== undefined && !socket.destroyed) socket.write(reply)
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as net.AddressInfo).port
  return {
    port,
    commands,
    sockets,
    closedCount: () => closed,
    waitClosed: (n = 1) =>
      new Promise<void>((resolve) => {
        const check = () => (closed >= n ? resolve() : closeWaiters.push(check))
        check()
      }),
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** Answers the handshake commands (AUTH, HELLO-less setup, CLIENT SETNAME, SELECT, REPLCONF) with +OK, the rest with `rest`. */
export function handshakeThen(rest: Handler): Handler {
  return (args, socket) => {
    const name = args[0].toUpperCase()
    if (name === 'AUTH' || name === 'CLIENT' || name === 'SELECT' || name === 'REPLCONF') return '+OK\r\n'
    return rest(args, socket)
  }
}
