import net from 'node:net'
import tls from 'node:tls'
import { readFileSync } from 'node:fs'
import { redisOptions, type ConnectionSpec, type NodeAddress } from '../../connect/client.js'
import { mapConnectError } from '../../connect/connect-errors.js'
import { formatAddress } from '../../connect/endpoint.js'
import { OperationError, UsageError } from '../../errors.js'
import { encodeCommand } from '../../wire/encode.js'

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
  close(): void
}

/**
 * The replication-stream snapshot of one node, the way `redis-cli --rdb` takes it: SYNC (with
 * `REPLCONF rdb-only 1` so the server does not keep us as a replica, and `capa eof` for diskless
 * transfer). The chunks are pulled from the socket only as fast as they are consumed.
 */
export async function openSyncStream(
  spec: ConnectionSpec,
  node: NodeAddress,
  options: { timeoutMs?: number } = {},
): Promise<SyncStream> {
  const o = redisOptions(spec, node)
  const host = o.host!
  const port = o.port!
  const address = formatAddress(host, port)
  const ctx = {
    host,
    port,
    tls: spec.endpoint.tls,
    username: spec.endpoint.username,
    timeoutMs: spec.timeoutMs,
  }
  let socket: net.Socket
  try {
    socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = spec.endpoint.tls
        ? tls.connect({
            host,
            port,
            ca: spec.tlsCaFile ? readFileSync(spec.tlsCaFile) : undefined,
            rejectUnauthorized: !spec.insecure,
            servername: /^[\d.:]+$/.test(host) ? undefined : host,
          })
        : net.connect({ host, port })
      const timer = setTimeout(() => {
        s.destroy()
        reject(Object.assign(new Error('connect timed out'), { code: 'ETIMEDOUT' }))
      }, spec.timeoutMs)
      s.once(spec.endpoint.tls ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer)
        resolve(s)
      })
      s.once('error', (err) => {
        clearTimeout(timer)
        reject(err)
      })
    })
  } catch (err) {
    throw mapConnectError(err, ctx)
  }
  socket.setNoDelay(true)
  const password = spec.endpoint.password
  const setup: Buffer[] = []
  if (password !== undefined) {
    setup.push(
      encodeCommand(spec.endpoint.username ? ['AUTH', spec.endpoint.username, password] : ['AUTH', password]),
    )
  }
  setup.push(encodeCommand(['REPLCONF', 'rdb-only', '1']), encodeCommand(['REPLCONF', 'capa', 'eof']))
  // SYNC only once these have been answered: Redis refuses it while replies are pending.
  socket.write(Buffer.concat(setup))

  const iterator = socket[Symbol.asyncIterator]() as AsyncIterator<Buffer>
  let buf: Buffer = Buffer.alloc(0)
  const idleMs = options.timeoutMs ?? Math.max(spec.timeoutMs, 60_000)
  const pull = async (): Promise<boolean> => {
    let timer: NodeJS.Timeout | undefined
    try {
      const next = await Promise.race([
        iterator.next(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new OperationError(`${address} sent nothing for ${idleMs / 1000}s during SYNC`)),
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
    if (password !== undefined) {
      const auth = await readLine()
      if (auth.startsWith('-')) fail(mapConnectError(new Error(auth.slice(1)), ctx))
    }
    // REPLCONF replies: an old server does not know rdb-only; that is fine.
    await readLine()
    await readLine()
    socket.write(encodeCommand(['SYNC']))
    let header = ''
    // While the server prepares the snapshot it sends bare newlines as keepalives.
    while (header === '') header = await readLine()
    if (header.startsWith('-')) {
      const message = header.slice(1)
      if (/NOPERM|unknown command|not allowed/i.test(message)) {
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
    if (header.startsWith('$EOF:')) {
      const mark = Buffer.from(header.slice(5), 'latin1')
      if (mark.length !== 40) fail(new OperationError(`malformed EOF marker from ${address}`))
      const rest = buf
      return {
        format: 'eof',
        eofMark: mark,
        node: address,
        close: closeSocket,
        chunks: (async function* () {
          if (rest.length) yield rest
          for (;;) {
            const next = await iterator.next()
            if (next.done) return
            yield next.value
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
      close: closeSocket,
      chunks: (async function* () {
        let left = length
        if (first.length) {
          const take = first.subarray(0, left)
          left -= take.length
          yield take
        }
        while (left > 0) {
          const next = await iterator.next()
          if (next.done)
            throw new OperationError(
              `${address} closed the connection ${left} bytes before the end of the RDB`,
            )
          const take = next.value.length > left ? next.value.subarray(0, left) : next.value
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
