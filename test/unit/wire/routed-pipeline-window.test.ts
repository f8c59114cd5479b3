import type net from 'node:net'
import { describe, expect, it } from 'vitest'
import type { ConnectionSpec } from '../../../src/connect/client.js'
import { keySlot, RoutedPipeline } from '../../../src/wire/routed-pipeline.js'
import { fakeServersClosedAfterEach, handshakeThen } from './fake-server.js'

const server = fakeServersClosedAfterEach()

/** A server that answers SET only when the test says so: a target slower than the copy. */
async function slowServer() {
  const held: net.Socket[] = []
  const s = await server(
    handshakeThen((_args, socket) => {
      held.push(socket)
      return undefined
    }),
  )
  const answer = (n: number) => {
    for (const socket of held.splice(0, n)) socket.write('+OK\r\n')
  }
  return { s, held, answer }
}

function pipelineTo(port: number, window: number, acked: string[]) {
  const spec: ConnectionSpec = {
    endpoint: { host: '127.0.0.1', port, tls: false, db: 0 },
    insecure: false,
    timeoutMs: 5000,
    natMap: new Map(),
  }
  return new RoutedPipeline<string>({
    spec,
    topology: { mode: 'standalone', nodes: [{ role: 'primary', address: `127.0.0.1:${port}`, slots: [] }] },
    window,
    onReply: (reply, tag) => acked.push(`${tag}:${String(reply)}`),
  })
}

const settled = (p: Promise<unknown>) =>
  Promise.race([p.then(() => true), new Promise((resolve) => setTimeout(() => resolve(false), 200))])

/**
 * A unit of work smaller than a batch (a SCAN page spread over shards) is sent by sendQueued: the
 * window must hold there too, or a copy outruns a slow target and fills memory with writes.
 */
describe('RoutedPipeline.sendQueued keeps to the window', () => {
  it('waits, once `window` partial batches are unanswered, until the node answers one', async () => {
    const { s, held, answer } = await slowServer()
    const acked: string[] = []
    const pipe = pipelineTo(s.port, 2, acked)
    const queue = (key: string) => {
      const k = Buffer.from(key)
      const batch = pipe.batchFor(keySlot(k))
      batch.command(['SET', k, 'v'])
      batch.end(key)
      void pipe.written(keySlot(k))
    }
    queue('a')
    expect(pipe.sendQueued()).toBeUndefined()
    queue('b')
    const full = pipe.sendQueued()
    expect(full).toBeInstanceOf(Promise)
    await expect.poll(() => held.length).toBe(2)
    expect(await settled(full!)).toBe(false)
    answer(1)
    expect(await settled(full!)).toBe(true)
    expect(acked).toEqual(['a:OK'])
    answer(1)
    await pipe.flush()
    expect(acked).toEqual(['a:OK', 'b:OK'])
    await pipe.close()
  })

  it('nothing queued: nothing sent, nothing to wait for', async () => {
    const { s } = await slowServer()
    const pipe = pipelineTo(s.port, 1, [])
    expect(pipe.sendQueued()).toBeUndefined()
    await pipe.close()
  })
})
