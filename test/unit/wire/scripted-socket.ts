import { EventEmitter } from 'node:events'
import type net from 'node:net'
import { RawRespConnection } from '../../../src/wire/connection.js'

/** A socket that accepts every write and delivers what a test emits as 'data' events. */
export class ScriptedSocket extends EventEmitter {
  writableNeedDrain = false
  write(): boolean {
    return true
  }
  destroy(): void {}
}

/** A connection over a ScriptedSocket: the test plays the server by emitting its replies. */
export function scriptedConnection(timeoutMs = 0): { socket: ScriptedSocket; conn: RawRespConnection } {
  const socket = new ScriptedSocket()
  return { socket, conn: new RawRespConnection(socket as unknown as net.Socket, 'scripted:1', timeoutMs) }
}
