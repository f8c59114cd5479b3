import type net from 'node:net'
import type { ConnectionSpec, NodeAddress } from '../../connect/client.js'
import { mapConnectError } from '../../wire/connect-errors.js'
import { explainIamFailure } from '../../connect/iam.js'
import { OperationError, UsageError } from '../../errors.js'
import { isCommandRefusal } from '../../wire/classify.js'
import { RawRespConnection } from '../../wire/connection.js'
import { nodeDialOptions } from '../../wire/dial.js'
import { encodeCommand } from '../../wire/encode.js'
import { DEFAULT_STALL_TIMEOUT_MS, stallMessage } from '../../wire/stall-watch.js'

export interface SyncStream {
  /** The RDB's bytes as the server sends them (for the EOF-marker format, followed by the marker). */
  chunks: AsyncIterable<Buffer>
  /** 'length': a `$<len>` bulk; 'eof': diskless `$EOF:<40-byte mark>`, the mark after the RDB. */
  format: 'length' | 'eof'
  /** Declared length ('length' format). */
  length?: number
  /** The 40-byte end marker ('eof' format). */
  eofMark?: Buffer
  node: string
  /** How long the stream has been waited on without a byte arriving (0: not waited on): for a stall watch. */
  readonly silentForMs: number
  /** Stop: the consumer's pending read fails with `err`. */
  abort(err: Error): void
  close(): void
}

/**
 * The replication-stream snapshot of one node, the way `redis-cli --rdb` takes it: SYNC (with
 * `REPLCONF rdb-only 1` so the server does not keep us as a replica, and `capa eof` for diskless
 * transfer). The chunks are pulled from the socket only as fast as they are consumed.
 *
 * Dialled by the one dialer (TLS, AUTH with the current IAM token, NAT map), the login and the
 * REPLCONFs bounded by --timeout (ConnectError, exit 3). While the server prepares the snapshot it
 * sends keepalive newlines: silence longer than `stallTimeoutMs` (0: never) before the RDB starts
 * fails with an error naming the node; during the transfer, watch `silentForMs`.
 */
export async function openSyncStream(
  spec: ConnectionSpec,
  node: NodeAddress,
  options: { stallTimeoutMs?: number } = {},
): Promise<SyncStream> {
  const { options: dial, context, address } = nodeDialOptions(spec, node)
  const deadline = Date.now() + spec.timeoutMs
  let socket: net.Socket
  let conn: RawRespConnection | undefined
  try {
    conn = await RawRespConnection.connect({ ...dial, deadline })
    // REPLCONF replies: an old server does not know rdb-only; that is fine. SYNC only once these
    // have been answered: Redis refuses it while replies are pending.
    await conn.withDeadline(
      deadline,
      'REPLCONF',
      conn.pipeline([
        ['REPLCONF', 'rdb-only', '1'],
        ['REPLCONF', 'capa', 'eof'],
      ]),
    )
    socket = conn.detach()
  } catch (err) {
    conn?.close()
    const mapped = mapConnectError(err, context)
    throw spec.iam ? explainIamFailure(mapped) : mapped
  }
  socket.write(encodeCommand(['SYNC']))

  const iterator = socket[Symbol.asyncIterator]() as AsyncIterator<Buffer>
  let buf: Buffer = Buffer.alloc(0)
  const idleMs = options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS
  const pull = async (): Promise<boolean> => {
    let timer: NodeJS.Timeout | undefined
    try {
      const next = await Promise.race([
        iterator.next(),
        new Promise<never>((_, reject) => {
          if (idleMs > 0)
            timer = setTimeout(
              () =>
                reject(
                  new OperationError(
                    `SYNC stopped: ${stallMessage({ address, silentForMs: idleMs })} while preparing the snapshot`,
                    {
                      code: 'stalled',
                      hint: 'The node is hung, overloaded or cut off: check it, then run the command again. If it is only slow, raise --stall-timeout (0 waits forever).',
                    },
                  ),
                ),
              idleMs,
            )
        }),
      ])
      if (next.done) return false
      buf = buf.length ? Buffer.concat([buf, next.value]) : next.value
      return true
    } finally {
      if (timer) clearTimeout(timer)
    }
  }
  const readLine = async (): Promise<string> => {
    for (;;) {
      const nl = buf.indexOf(0x0a)
      if (nl >= 0) {
        const line = buf.toString('latin1', 0, nl).replace(/\r$/, '')
        buf = buf.subarray(nl + 1)
        return line
      }
      if (!(await pull()))
        throw new OperationError(`${address} closed the connection during the SYNC handshake`)
    }
  }
  const fail = (err: Error): never => {
    socket.destroy()
    throw err
  }
  try {
    let header = ''
    // While the server prepares the snapshot it sends bare newlines as keepalives.
    while (header === '') header = await readLine()
    if (header.startsWith('-')) {
      const message = header.slice(1)
      if (isCommandRefusal({ message })) {
        fail(
          new UsageError(`${address} refuses SYNC for this user: ${message}`, {
            code: 'refused',
            hint: 'ElastiCache and MemoryDB forbid SYNC: use --method scan (the default), which reads keys with SCAN and DUMP.',
          }),
        )
      }
      fail(new OperationError(`SYNC failed on ${address}: ${message}`))
    }
    if (!header.startsWith('$'))
      fail(new OperationError(`unexpected reply to SYNC from ${address}: ${header.slice(0, 80)}`))
    const closeSocket = () => socket.destroy()
    // A destroyed socket's error reaches the pending read; never an unhandled 'error' event.
    socket.on('error', () => {})
    const abort = (err: Error) => socket.destroy(err)
    /** Since when the consumer has been waiting for the next chunk (0: not waiting). */
    let waitingSince = 0
    const next = async (): Promise<IteratorResult<Buffer>> => {
      waitingSince = Date.now()
      try {
        return await iterator.next()
      } finally {
        waitingSince = 0
      }
    }
    const silence = {
      get silentForMs() {
        return waitingSince ? Date.now() - waitingSince : 0
      },
    }
    if (header.startsWith('$EOF:')) {
      const mark = Buffer.from(header.slice(5), 'latin1')
      if (mark.length !== 40) fail(new OperationError(`malformed EOF marker from ${address}`))
      const rest = buf
      return {
        format: 'eof',
        eofMark: mark,
        node: address,
        get silentForMs() {
          return silence.silentForMs
        },
        abort,
        close: closeSocket,
        chunks: (async function* () {
          if (rest.length) yield rest
          for (;;) {
            const chunk = await next()
            if (chunk.done) return
            yield chunk.value
          }
        })(),
      }
    }
    const length = Number(header.slice(1))
    if (!Number.isSafeInteger(length) || length < 0)
      fail(new OperationError(`malformed SYNC length from ${address}`))
    const first = buf
    return {
      format: 'length',
      length,
      node: address,
      get silentForMs() {
        return silence.silentForMs
      },
      abort,
      close: closeSocket,
      chunks: (async function* () {
        let left = length
        if (first.length) {
          const take = first.subarray(0, left)
          left -= take.length
          yield take
        }
        while (left > 0) {
          const chunk = await next()
          if (chunk.done)
            throw new OperationError(
              `${address} closed the connection ${left} bytes before the end of the RDB`,
            )
          const take = chunk.value.length > left ? chunk.value.subarray(0, left) : chunk.value
          left -= take.length
          yield take
        }
      })(),
    }
  } catch (err) {
    socket.destroy()
    throw err
  }
}
