import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { afterEach, describe, expect, it } from 'vitest'
import type { RawRespConnection } from '../../../src/wire/connection.js'
import { scriptedConnection, type ScriptedSocket } from './scripted-socket.js'

setFlagsFromString('--expose-gc')
const collectGarbage = runInNewContext('gc') as () => void

const bulk = (s: string) => Buffer.from(`$${s.length}\r\n${s}\r\n`, 'latin1')

/** Let the job that resolved a promise end (WeakRefs hold their targets until then), then collect. */
async function collected(ref: WeakRef<object>): Promise<boolean> {
  for (let i = 0; i < 3; i++) {
    await new Promise((resolve) => setImmediate(resolve))
    collectGarbage()
  }
  return ref.deref() === undefined
}

/**
 * A bulk copy keeps a connection busy with batch after batch of DUMP payloads; once the caller is
 * done with a batch's replies, the connection must not be what keeps them alive.
 */
describe('RawRespConnection lets answered batches go', () => {
  let conn: RawRespConnection | undefined
  afterEach(() => conn?.close())

  /** Send a batch of two and answer it: a weak reference to its replies. */
  async function answeredBatch(socket: ScriptedSocket, c: RawRespConnection): Promise<WeakRef<object>> {
    const pending = c.sendEncoded(Buffer.alloc(0), 2)
    socket.emit('data', Buffer.concat([bulk('payload-1'), bulk('payload-2')]))
    const replies = await pending
    expect(replies).toEqual([Buffer.from('payload-1'), Buffer.from('payload-2')])
    return new WeakRef(replies)
  }

  async function answerFirstOfTwo(socket: ScriptedSocket, c: RawRespConnection) {
    const first = c.sendEncoded(Buffer.alloc(0), 2)
    const due = c.sendEncoded(Buffer.alloc(0), 1)
    socket.emit('data', Buffer.concat([bulk('payload-1'), bulk('payload-2')]))
    return { ref: new WeakRef(await first), due: () => due }
  }

  it('while later batches are still due', async () => {
    const scripted = scriptedConnection()
    conn = scripted.conn
    // The promises stay inside a helper: a promise the test kept would hold its replies itself.
    const { ref, due } = await answerFirstOfTwo(scripted.socket, conn)
    expect(conn.pendingReplies).toBe(1)
    expect(await collected(ref)).toBe(true)
    scripted.socket.emit('data', bulk('last'))
    expect(await due()).toEqual([Buffer.from('last')])
  })

  it('when nothing else is due', async () => {
    const scripted = scriptedConnection()
    conn = scripted.conn
    const refs = []
    for (let i = 0; i < 5; i++) refs.push(await answeredBatch(scripted.socket, conn))
    expect(conn.pendingReplies).toBe(0)
    for (const ref of refs) expect(await collected(ref)).toBe(true)
  })
})
