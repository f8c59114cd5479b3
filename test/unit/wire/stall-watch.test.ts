import { describe, expect, it } from 'vitest'
import type { ConnectionSpec } from '../../../src/connect/client.js'
import { ConnectError, OperationError } from '../../../src/errors.js'
import { scanNode } from '../../../src/data/keyspace/scanner.js'
import { openSyncStream } from '../../../src/data/replication/sync-stream.js'
import { NodePool } from '../../../src/wire/node-pool.js'
import { StallWatch, stallError, stallMessage, type Silent } from '../../../src/wire/stall-watch.js'
import { fakeServersClosedAfterEach, handshakeThen } from './fake-server.js'

const server = fakeServersClosedAfterEach()

function spec(port: number, timeoutMs = 2000): ConnectionSpec {
  return {
    endpoint: { host: '127.0.0.1', port, tls: false, db: 0 },
    insecure: false,
    timeoutMs,
    natMap: new Map(),
  }
}

class FakeTarget implements Silent {
  silentForMs = 0
  aborted: Error | undefined
  abort(err: Error): void {
    this.aborted = err
  }
}

describe('StallWatch', () => {
  it('calls onStall once, with the silentest node past the limit, and aborts every target with its error', () => {
    const stalls: string[] = []
    const watch = new StallWatch({
      timeoutMs: 1000,
      intervalMs: 60_000,
      onStall: (s) => {
        stalls.push(s.address)
        return stallError(s, { what: 'the test' })
      },
    })
    const a = new FakeTarget()
    const b = new FakeTarget()
    const c = { silentForMs: 0 } // no abort: only watched
    watch.add('10.0.0.1:6379', a)
    watch.add('10.0.0.2:6379', b)
    watch.addSource(() => [{ address: '10.0.0.3:6379', target: c }])
    a.silentForMs = 999
    expect(watch.check()).toBeUndefined()
    a.silentForMs = 1500
    b.silentForMs = 2400
    expect(watch.check()).toEqual({ address: '10.0.0.2:6379', silentForMs: 2400 })
    expect(watch.check()).toEqual({ address: '10.0.0.2:6379', silentForMs: 2400 })
    expect(stalls).toEqual(['10.0.0.2:6379'])
    expect(watch.error).toBeInstanceOf(OperationError)
    expect(watch.error!.message).toBe('the test stopped: the node 10.0.0.2:6379 has not answered for 2 s')
    expect((watch.error as OperationError).exitCode).toBe(5)
    expect(a.aborted).toBe(watch.error)
    expect(b.aborted).toBe(watch.error)
  })

  it('0 (--stall-timeout 0) never stops anything', () => {
    const watch = new StallWatch({ timeoutMs: 0 })
    const a = new FakeTarget()
    a.silentForMs = 10 * 60_000
    watch.add('10.0.0.1:6379', a)
    expect(watch.enabled).toBe(false)
    expect(watch.check()).toBeUndefined()
    expect(a.aborted).toBeUndefined()
  })

  it('a removed target is no longer watched; the timer finds a stall on its own', async () => {
    const watch = new StallWatch({ timeoutMs: 100, intervalMs: 20 })
    const gone = new FakeTarget()
    gone.silentForMs = 5000
    watch.add('10.0.0.9:6379', gone)()
    const live = new FakeTarget()
    watch.add('10.0.0.1:6379', live)
    live.silentForMs = 150
    await new Promise((r) => setTimeout(r, 100))
    expect(watch.stalled?.address).toBe('10.0.0.1:6379')
    expect(gone.aborted).toBeUndefined()
    expect(live.aborted?.message).toBe('the node 10.0.0.1:6379 has not answered for 0.1 s')
    watch.stop()
  })

  it('stall messages: whole seconds, with a role', () => {
    expect(stallMessage({ address: '[::1]:7000', silentForMs: 61_400 }, 'source')).toBe(
      'the source node [::1]:7000 has not answered for 61 s',
    )
  })
})

describe('stall detection on real sockets', () => {
  it('a SCAN the node never answers: the scan fails with the watch error, not a hang', async () => {
    const s = await server(handshakeThen(() => undefined))
    const watch = new StallWatch({ timeoutMs: 300, intervalMs: 50 })
    const started = Date.now()
    const scan = scanNode({
      spec: spec(s.port),
      node: { host: '127.0.0.1', port: s.port },
      db: 0,
      stallWatch: watch,
      sink: { key: () => {}, wait: () => undefined },
    })
    // At least the timeout; how much more depends on when the watch looked.
    await expect(scan).rejects.toThrow(
      new RegExp(`the node 127\\.0\\.0\\.1:${s.port} has not answered for 0\\.[3-9] s`),
    )
    expect(Date.now() - started).toBeLessThan(1500)
    expect(watch.stalled?.address).toBe(`127.0.0.1:${s.port}`)
    await s.waitClosed(1)
  })

  it('SYNC: a stream that stops in the middle of the RDB is aborted by the watch', async () => {
    const s = await server(
      handshakeThen((args) => (args[0] === 'SYNC' ? `$1000\r\n${'x'.repeat(100)}` : undefined)),
    )
    const stream = await openSyncStream(spec(s.port), { host: '127.0.0.1', port: s.port })
    expect(stream).toMatchObject({ format: 'length', length: 1000, node: `127.0.0.1:${s.port}` })
    expect(s.commands.map((c) => c.join(' '))).toEqual(['REPLCONF rdb-only 1', 'REPLCONF capa eof', 'SYNC'])
    const watch = new StallWatch({ timeoutMs: 300, intervalMs: 50 })
    watch.add(stream.node, stream)
    const it = stream.chunks[Symbol.asyncIterator]()
    expect((await it.next()).value).toHaveLength(100)
    expect(stream.silentForMs).toBe(0) // not waited on
    const started = Date.now()
    const next = it.next()
    await new Promise((r) => setTimeout(r, 100))
    expect(stream.silentForMs).toBeGreaterThanOrEqual(90)
    await expect(next).rejects.toThrow(
      new RegExp(`the node 127\\.0\\.0\\.1:${s.port} has not answered for 0\\.[3-9] s`),
    )
    expect(Date.now() - started).toBeLessThan(1500)
    await s.waitClosed(1)
  })

  it('SYNC: silence before the RDB starts (no keepalives) fails after the stall timeout, exit 5', async () => {
    const s = await server(handshakeThen((args) => (args[0] === 'SYNC' ? '\n' : undefined)))
    const started = Date.now()
    const r = openSyncStream(spec(s.port), { host: '127.0.0.1', port: s.port }, { stallTimeoutMs: 300 })
    await expect(r).rejects.toThrow(
      new RegExp(
        `SYNC stopped: the node 127\\.0\\.0\\.1:${s.port} has not answered for 0\\.[3-9] s while preparing the snapshot`,
      ),
    )
    await expect(r).rejects.toBeInstanceOf(OperationError)
    expect(Date.now() - started).toBeLessThan(1500)
  })

  it('SYNC: a node that accepts and never answers the handshake is a ConnectError within --timeout', async () => {
    const s = await server()
    const started = Date.now()
    const r = openSyncStream(spec(s.port, 300), { host: '127.0.0.1', port: s.port })
    await expect(r).rejects.toBeInstanceOf(ConnectError)
    await expect(r).rejects.toThrow(`no answer from 127.0.0.1:${s.port} within 0.3s`)
    expect(Date.now() - started).toBeLessThan(1000)
  })
})

describe('NodePool', () => {
  it('one shared connection per node and db; a failed one is replaced; closeAll closes them all', async () => {
    const s = await server(handshakeThen((args) => (args[0] === 'PING' ? '+PONG\r\n' : undefined)))
    const pool = NodePool.forSpec(spec(s.port), { name: 'kvtop-test' })
    const address = `127.0.0.1:${s.port}`
    const a = await pool.get(address)
    expect(await pool.get({ host: '127.0.0.1', port: s.port })).toBe(a)
    const db3 = await pool.get(address, 3)
    expect(db3).not.toBe(a)
    expect(s.commands.filter((c) => c[0] === 'SELECT')).toEqual([['SELECT', '3']])
    expect(s.commands.filter((c) => c[0] === 'CLIENT')[0]).toEqual(['CLIENT', 'SETNAME', 'kvtop-test'])
    expect(pool.watched().map((w) => w.address)).toEqual([address, address])
    a.abort(new Error('reset'))
    const b = await pool.get(address)
    expect(b).not.toBe(a)
    expect(await b.call(['PING'])).toBe('PONG')
    expect(() => pool.get('no-port')).toThrow(/not a node address: 'no-port'/)
    await pool.closeAll()
    expect(b.closed && db3.closed).toBe(true)
    await expect(pool.get(address)).rejects.toThrow(/closed/)
  })

  it('a failed open is not cached', async () => {
    let opens = 0
    const pool = new NodePool(async () => {
      opens++
      throw new Error('refused')
    })
    await expect(pool.get('127.0.0.1:1')).rejects.toThrow('refused')
    await expect(pool.get('127.0.0.1:1')).rejects.toThrow('refused')
    expect(opens).toBe(2)
  })
})
