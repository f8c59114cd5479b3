import net from 'node:net'
import { describe, expect, it } from 'vitest'
import type { ConnectionSpec } from '../../../src/connect/client.js'
import { mapConnectError } from '../../../src/wire/connect-errors.js'
import { ConnectError } from '../../../src/errors.js'
import { RawRespConnection, ReplyTimeoutError } from '../../../src/wire/connection.js'
import { openSocket } from '../../../src/wire/dial.js'
import { openRawNode } from '../../../src/wire/node.js'
import { MonitorStream } from '../../../src/data/monitor/monitor-stream.js'
import { RespError } from '../../../src/wire/reply-parser.js'
import { fakeServersClosedAfterEach, handshakeThen, type Handler } from './fake-server.js'

/** A loaded 2-core machine delays timers by hundreds of ms; a missing deadline would never fire. */
const MARGIN = 1000
/**
 * Node schedules a timer from the event loop's cached time, which a loaded machine leaves behind
 * the clock: a 300 ms timeout can end 70 ms "early" by Date.now(). Lower bounds allow for that.
 */
const EARLY = 100

const server = fakeServersClosedAfterEach()

function spec(port: number, timeoutMs: number, password?: string): ConnectionSpec {
  return {
    endpoint: { host: '127.0.0.1', port, tls: false, db: 0, ...(password ? { password } : {}) },
    insecure: false,
    timeoutMs,
    natMap: new Map(),
  }
}

/** How long `p` takes to settle, and how. */
async function timed<T>(p: Promise<T>): Promise<{ ms: number; value?: T; error?: unknown }> {
  const started = Date.now()
  try {
    const value = await p
    return { ms: Date.now() - started, value }
  } catch (error) {
    return { ms: Date.now() - started, error }
  }
}

describe('the dialer: a server that accepts TCP and never answers', () => {
  it('AUTH is bounded by the timeout: ReplyTimeoutError naming node and command, socket closed', async () => {
    const s = await server()
    const r = await timed(
      RawRespConnection.connect({ host: '127.0.0.1', port: s.port, password: 'pw', timeoutMs: 300 }),
    )
    expect(r.error).toBeInstanceOf(ReplyTimeoutError)
    expect((r.error as ReplyTimeoutError).code).toBe('ETIMEDOUT')
    expect((r.error as Error).message).toBe(`127.0.0.1:${s.port} did not answer AUTH within 0.3s`)
    expect(r.ms).toBeGreaterThanOrEqual(300 - EARLY)
    expect(r.ms).toBeLessThan(300 + MARGIN)
    await s.waitClosed(1)
    expect(s.commands).toEqual([['AUTH', 'pw']])
  })

  it('openRawNode without a password: the CLIENT SETNAME/SELECT handshake is bounded, ConnectError (exit 3)', async () => {
    const s = await server()
    const r = await timed(openRawNode(spec(s.port, 300), { host: '127.0.0.1', port: s.port }, { db: 2 }))
    expect(r.error).toBeInstanceOf(ConnectError)
    const err = r.error as ConnectError
    expect(err.exitCode).toBe(3)
    expect(err.code).toBe('timeout')
    expect(err.message).toBe(`no answer from 127.0.0.1:${s.port} within 0.3s`)
    expect(r.ms).toBeLessThan(300 + MARGIN)
    await s.waitClosed(1)
    expect(s.commands.map((c) => c[0])).toEqual(['CLIENT', 'SELECT'])
  })

  it('openRawNode with a password: connect + AUTH + setup share one --timeout', async () => {
    // AUTH answered late (after 200 ms), the setup never: the whole handshake still ends at 300 ms.
    const s = await server((args, socket) => {
      if (args[0] === 'AUTH') setTimeout(() => socket.write('+OK\r\n'), 200)
      return undefined
    })
    const r = await timed(openRawNode(spec(s.port, 300, 'secret'), { host: '127.0.0.1', port: s.port }))
    expect(r.error).toBeInstanceOf(ConnectError)
    expect((r.error as ConnectError).code).toBe('timeout')
    expect(r.ms).toBeLessThan(300 + MARGIN)
  })

  it('MONITOR: connect, AUTH and the MONITOR reply bounded by the timeout', async () => {
    const s = await server(handshakeThen(() => undefined))
    const r = await timed(
      MonitorStream.start(
        { host: '127.0.0.1', port: s.port, password: 'pw', timeoutMs: 300 },
        () => {},
        () => {},
      ),
    )
    expect(r.error).toBeInstanceOf(ReplyTimeoutError)
    expect((r.error as Error).message).toMatch(/did not answer MONITOR within 0\.3s/)
    expect(r.ms).toBeLessThan(300 + MARGIN)
    const mapped = mapConnectError(r.error, {
      host: '127.0.0.1',
      port: s.port,
      tls: false,
      timeoutMs: 300,
    })
    expect(mapped.code).toBe('timeout')
    await s.waitClosed(1)
  })

  it('TLS to a port that accepts and never speaks TLS: a TLS error (exit 3), not a hang', async () => {
    const s = await server()
    const r = await timed(openSocket({ host: '127.0.0.1', port: s.port, tls: {}, timeoutMs: 300 }))
    expect((r.error as NodeJS.ErrnoException).code).toBe('ETIMEDOUT')
    expect((r.error as Error).message).toMatch(/TLS negotiation did not complete within 0\.3s/)
    expect(r.ms).toBeLessThan(300 + MARGIN)
    const mapped = mapConnectError(r.error, { host: '127.0.0.1', port: s.port, tls: true, timeoutMs: 300 })
    expect(mapped).toBeInstanceOf(ConnectError)
    expect(mapped.code).toBe('tls')
  })

  it('a refused connection and a wrong password are ConnectErrors naming the node', async () => {
    const probe = net.createServer()
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r))
    const port = (probe.address() as net.AddressInfo).port
    await new Promise<void>((r) => probe.close(() => r()))
    const refused = await timed(openRawNode(spec(port, 1000), { host: '127.0.0.1', port }))
    expect((refused.error as ConnectError).code).toBe('refused')
    const s = await server((args) =>
      args[0] === 'AUTH' ? '-WRONGPASS invalid username-password pair or user is disabled.\r\n' : '+OK\r\n',
    )
    const wrong = await timed(openRawNode(spec(s.port, 1000, 'bad'), { host: '127.0.0.1', port: s.port }))
    expect(wrong.error).toBeInstanceOf(ConnectError)
    expect((wrong.error as ConnectError).code).toBe('auth-failed')
    expect((wrong.error as Error).message).toBe(`authentication failed at 127.0.0.1:${s.port}`)
  })
})

describe('RawRespConnection.call timeout', () => {
  async function connected(handler: Handler, timeoutMs = 5000) {
    const s = await server(handshakeThen(handler))
    const conn = await openRawNode(spec(s.port, timeoutMs), { host: '127.0.0.1', port: s.port })
    return { s, conn }
  }

  it('a call the server never answers rejects within its timeout, and the connection is destroyed', async () => {
    const { s, conn } = await connected(() => undefined)
    const r = await timed(conn.call(['CLUSTER', 'NODES'], { timeoutMs: 250 }))
    expect(r.error).toBeInstanceOf(ReplyTimeoutError)
    expect((r.error as Error).message).toBe(`127.0.0.1:${s.port} did not answer CLUSTER NODES within 0.25s`)
    expect(r.ms).toBeGreaterThanOrEqual(250 - EARLY)
    expect(r.ms).toBeLessThan(250 + MARGIN)
    expect(conn.closed).toBe(true)
    await s.waitClosed(1)
    // Later commands fail at once: the replies could no longer be matched to their commands.
    const after = await timed(conn.call(['PING']))
    expect(after.error).toBe(r.error)
    expect(after.ms).toBeLessThan(50)
  })

  it("the default timeout is the connection's (--timeout)", async () => {
    const { conn } = await connected(() => undefined, 300)
    expect(conn.timeoutMs).toBe(300)
    const r = await timed(conn.call(['PING']))
    expect(r.error).toBeInstanceOf(ReplyTimeoutError)
    expect(r.ms).toBeLessThan(300 + MARGIN)
  })

  it('a partial reply followed by silence: rejects once the silence lasts the timeout', async () => {
    const { conn } = await connected((args) => (args[0] === 'GET' ? '$10\r\nabc' : undefined))
    const r = await timed(conn.call(['GET', 'k'], { timeoutMs: 300 }))
    expect(r.error).toBeInstanceOf(ReplyTimeoutError)
    expect(r.ms).toBeLessThan(300 + MARGIN)
    expect(conn.closed).toBe(true)
  })

  it('a reply that keeps arriving is not cut off: the timeout is silence, not total time', async () => {
    const { conn } = await connected((args, socket) => {
      if (args[0] !== 'GET') return undefined
      const parts = ['$6\r\n', 'ab', 'cd', 'ef', '\r\n']
      parts.forEach((p, i) => setTimeout(() => socket.write(p), 150 * (i + 1)))
      return undefined
    })
    const r = await timed(conn.call(['GET', 'k'], { timeoutMs: 250 }))
    expect(r.error).toBeUndefined()
    expect(r.value).toEqual(Buffer.from('abcdef'))
    expect(r.ms).toBeGreaterThan(600)
    conn.close()
  })

  it('an error reply resolves as a RespError; only transport failures reject', async () => {
    const { conn } = await connected(() => '-ERR nope\r\n')
    const reply = await conn.call(['GET', 'k'], { timeoutMs: 250 })
    expect(reply).toBeInstanceOf(RespError)
    expect(conn.closed).toBe(false)
    conn.close()
  })

  it('batches carry no timeout (the stall watch covers them); silentForMs shows the silence', async () => {
    const { conn } = await connected(() => undefined, 200)
    const batch = conn.pipeline([
      ['GET', 'a'],
      ['GET', 'b'],
    ])
    batch.catch(() => {})
    await new Promise((r) => setTimeout(r, 400))
    expect(conn.closed).toBe(false)
    expect(conn.silentForMs).toBeGreaterThanOrEqual(400 - EARLY)
    const err = new Error('stalled')
    conn.abort(err)
    await expect(batch).rejects.toBe(err)
  })

  it('a call queued behind a batch is timed from when its reply is due, not from when it was sent', async () => {
    // The server answers the batch's two replies after 400 ms, then the call's at once.
    const { conn } = await connected((args, socket) => {
      if (args[0] === 'GET' && args[1] === 'b') setTimeout(() => socket.write('+A\r\n+B\r\n+C\r\n'), 400)
      return undefined
    })
    const batch = conn.pipeline([
      ['GET', 'a'],
      ['GET', 'b'],
    ])
    const call = conn.call(['GET', 'c'], { timeoutMs: 250 })
    expect(await batch).toEqual(['A', 'B'])
    expect(await call).toBe('C')
    conn.close()
  })
})
