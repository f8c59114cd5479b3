import type net from 'node:net'
import type { RdbReader } from '../rdb/reader.js'
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
  const { socket, address } = await dialForSync(spec, node)
  socket.write(encodeCommand(['SYNC']))
  const iterator = socket[Symbol.asyncIterator]() as AsyncIterator<Buffer>
  try {
    const handshake = new HandshakeReader(
      iterator,
      address,
      options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS,
    )
    const header = await readSyncHeader(handshake, address)
    // A destroyed socket's error reaches the pending read; never an unhandled 'error' event.
    socket.on('error', () => {})
    const transfer = new TransferReads(iterator)
    const format = header.startsWith('$EOF:')
      ? eofFormat(header, handshake.rest, transfer, address)
      : lengthFormat(header, handshake.rest, transfer, address)
    return {
      ...format,
      node: address,
      get silentForMs() {
        return transfer.silentForMs
      },
      abort: (err: Error) => socket.destroy(err),
      close: () => socket.destroy(),
    }
  } catch (err) {
    socket.destroy()
    throw err
  }
}

/**
 * A connection to `node` made ready for SYNC: dialled, logged in, the REPLCONFs answered (an old
 * server does not know rdb-only; that is fine), then detached from the RESP layer as a bare socket.
 * Redis refuses SYNC while replies are pending, hence the wait for those. Failures are connect errors
 * (exit 3).
 */
async function dialForSync(
  spec: ConnectionSpec,
  node: NodeAddress,
): Promise<{ socket: net.Socket; address: string }> {
  const { options: dial, context, address } = nodeDialOptions(spec, node)
  const deadline = Date.now() + spec.timeoutMs
  let conn: RawRespConnection | undefined
  try {
    conn = await RawRespConnection.connect({ ...dial, deadline })
    await conn.withDeadline(
      deadline,
      'REPLCONF',
      conn.pipeline([
        ['REPLCONF', 'rdb-only', '1'],
        ['REPLCONF', 'capa', 'eof'],
      ]),
    )
    return { socket: conn.detach(), address }
  } catch (err) {
    conn?.close()
    const mapped = mapConnectError(err, context)
    throw spec.iam ? explainIamFailure(mapped) : mapped
  }
}

/**
 * Lines of the SYNC reply before the RDB starts, read from the socket with a bound on silence
 * (`idleMs`, 0: none): the server sends keepalive newlines while it prepares the snapshot. `rest`
 * holds the bytes read past the last line (the start of the RDB).
 */
class HandshakeReader {
  rest: Buffer = Buffer.alloc(0)

  constructor(
    private readonly iterator: AsyncIterator<Buffer>,
    private readonly address: string,
    private readonly idleMs: number,
  ) {}

  async readLine(): Promise<string> {
    for (;;) {
      const nl = this.rest.indexOf(0x0a)
      if (nl >= 0) {
        const line = this.rest.toString('latin1', 0, nl).replace(/\r$/, '')
        this.rest = this.rest.subarray(nl + 1)
        return line
      }
      if (!(await this.pull()))
        throw new OperationError(`${this.address} closed the connection during the SYNC handshake`)
    }
  }

  private async pull(): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined
    try {
      const next = await Promise.race([
        this.iterator.next(),
        new Promise<never>((_, reject) => {
          if (this.idleMs > 0) timer = setTimeout(() => reject(this.stalled()), this.idleMs)
        }),
      ])
      if (next.done) return false
      this.rest = this.rest.length ? Buffer.concat([this.rest, next.value]) : next.value
      return true
    } finally {
      if (timer) clearTimeout(timer)
    }
  }

  private stalled(): OperationError {
    return new OperationError(
      `SYNC stopped: ${stallMessage({ address: this.address, silentForMs: this.idleMs })} while preparing the snapshot`,
      {
        code: 'stalled',
        hint: 'The node is hung, overloaded or cut off: check it, then run the command again. If it is only slow, raise --stall-timeout (0 waits forever).',
      },
    )
  }
}

/** The SYNC reply's header line (`$<len>` or `$EOF:<mark>`), after the keepalives; refusals and errors thrown. */
async function readSyncHeader(handshake: HandshakeReader, address: string): Promise<string> {
  let header = ''
  while (header === '') header = await handshake.readLine()
  if (header.startsWith('-')) {
    const message = header.slice(1)
    if (isCommandRefusal({ message })) {
      throw new UsageError(`${address} refuses SYNC for this user: ${message}`, {
        code: 'refused',
        hint: 'ElastiCache and MemoryDB forbid SYNC: use --method scan (the default), which reads keys with SCAN and DUMP.',
      })
    }
    throw new OperationError(`SYNC failed on ${address}: ${message}`)
  }
  if (!header.startsWith('$'))
    throw new OperationError(`unexpected reply to SYNC from ${address}: ${header.slice(0, 80)}`)
  return header
}

/** Reads of the RDB transfer, timed: how long the consumer has been waiting for the next chunk. */
class TransferReads {
  /** Since when the consumer has been waiting (0: not waiting). */
  private waitingSince = 0

  constructor(private readonly iterator: AsyncIterator<Buffer>) {}

  get silentForMs(): number {
    return this.waitingSince ? Date.now() - this.waitingSince : 0
  }

  async next(): Promise<IteratorResult<Buffer>> {
    this.waitingSince = Date.now()
    try {
      return await this.iterator.next()
    } finally {
      this.waitingSince = 0
    }
  }
}

type TransferFormat = Pick<SyncStream, 'format' | 'length' | 'eofMark' | 'chunks'>

/** Diskless `$EOF:<40-byte mark>`: every byte up to the socket's end, the mark after the RDB included. */
function eofFormat(header: string, rest: Buffer, transfer: TransferReads, address: string): TransferFormat {
  const mark = Buffer.from(header.slice(5), 'latin1')
  if (mark.length !== 40) throw new OperationError(`malformed EOF marker from ${address}`)
  return {
    format: 'eof',
    eofMark: mark,
    chunks: (async function* () {
      if (rest.length) yield rest
      for (;;) {
        const chunk = await transfer.next()
        if (chunk.done) return
        yield chunk.value
      }
    })(),
  }
}

/** `$<len>`: exactly `len` bytes; the connection closing before them is an error. */
function lengthFormat(
  header: string,
  first: Buffer,
  transfer: TransferReads,
  address: string,
): TransferFormat {
  const length = Number(header.slice(1))
  if (!Number.isSafeInteger(length) || length < 0)
    throw new OperationError(`malformed SYNC length from ${address}`)
  return {
    format: 'length',
    length,
    chunks: (async function* () {
      let left = length
      if (first.length) {
        const take = first.subarray(0, left)
        left -= take.length
        yield take
      }
      while (left > 0) {
        const chunk = await transfer.next()
        if (chunk.done)
          throw new OperationError(`${address} closed the connection ${left} bytes before the end of the RDB`)
        const take = chunk.value.length > left ? chunk.value.subarray(0, left) : chunk.value
        left -= take.length
        yield take
      }
    })(),
  }
}

/** Diskless transfers end with the 40-byte marker announced in `$EOF:<mark>`. */
export async function checkEofMark(reader: RdbReader, stream: SyncStream): Promise<void> {
  let got = Buffer.alloc(0)
  for await (const chunk of reader.rest()) {
    got = Buffer.concat([got, chunk])
    if (got.length >= 40) break
  }
  if (got.length < 40 || !got.subarray(0, 40).equals(stream.eofMark!)) {
    throw new OperationError(`the RDB streamed by ${stream.node} does not end with its EOF marker`, {
      resumable: false,
    })
  }
}
