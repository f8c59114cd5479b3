import type { Writable } from 'node:stream'
import { copyBytes } from '../../wire/bytes.js'
import { Crc64 } from '../crc64.js'
import { MAX_RDB_VERSION, RDB_OPCODE } from './constants.js'
import { DUMP_FOOTER } from './dump.js'
import { RdbFormatError } from './walker.js'

interface RdbWriterOptions {
  /** RDB version of the header; every value written must be of this version or older. */
  version: number
  /** AUX fields written after the header, in order. */
  aux?: [string, string | Buffer][]
  /** Check each DUMP payload's CRC-64 before writing it (default true). */
  verifyPayloads?: boolean
  /** Bytes buffered before a write to the sink (default 1 MiB). */
  chunkSize?: number
}

interface RdbWriterStats {
  keys: number
  expires: number
  functions: number
  /** Bytes written, including what is still buffered. */
  bytes: number
  /** Highest RDB version among the payloads written. */
  maxPayloadVersion: number
}

/**
 * Writes an RDB file onto any Writable: header, AUX fields, SELECTDB/RESIZEDB, entries (from DUMP
 * payloads or from values read out of another RDB), function libraries, EOF and the CRC-64 of it
 * all. Buffered in chunks; `write...` calls return a promise when the sink asks the caller to wait
 * (backpressure), otherwise undefined.
 */
export class RdbWriter {
  private chunk: Buffer
  private used = 0
  private readonly crc = new Crc64()
  private readonly payloadCrc = new Crc64()
  private readonly chunkSize: number
  private readonly verifyPayloads: boolean
  private flushed = 0
  private ended = false
  private failure: Error | undefined
  private drainWait: Promise<void> | undefined
  readonly stats: RdbWriterStats = { keys: 0, expires: 0, functions: 0, bytes: 0, maxPayloadVersion: 0 }

  constructor(
    private readonly sink: Writable,
    readonly options: RdbWriterOptions,
  ) {
    if (!Number.isInteger(options.version) || options.version < 1 || options.version > MAX_RDB_VERSION) {
      throw new RangeError(`cannot write RDB version ${options.version}`)
    }
    this.chunkSize = options.chunkSize ?? 1024 * 1024
    this.verifyPayloads = options.verifyPayloads ?? true
    this.chunk = Buffer.allocUnsafe(this.chunkSize + 64 * 1024)
    sink.on('error', (err) => (this.failure ??= err))
    const v = options.version
    const magic = v >= 80 ? `VALKEY${String(v).padStart(3, '0')}` : `REDIS${String(v).padStart(4, '0')}`
    this.ensure(9)
    this.used += this.chunk.write(magic, this.used, 'latin1')
    for (const [key, value] of options.aux ?? []) this.writeAux(key, value)
  }

  get version(): number {
    return this.options.version
  }

  writeAux(key: string | Buffer, value: string | Buffer): Promise<void> | undefined {
    this.put(RDB_OPCODE.AUX)
    this.putString(typeof key === 'string' ? Buffer.from(key, 'utf8') : key)
    this.putString(typeof value === 'string' ? Buffer.from(value, 'utf8') : value)
    return this.maybeFlush()
  }

  /** SELECTDB, with a RESIZEDB hint when the sizes are known. */
  selectDb(db: number, sizes?: { keys: number; expires: number }): Promise<void> | undefined {
    this.put(RDB_OPCODE.SELECTDB)
    this.putLen(db)
    if (sizes) {
      this.put(RDB_OPCODE.RESIZEDB)
      this.putLen(sizes.keys)
      this.putLen(sizes.expires)
    }
    return this.maybeFlush()
  }

  /**
   * An entry from a value's bytes (`source[valueStart..valueEnd)`, the bytes after the type byte)
   * — e.g. out of another RDB file.
   */
  writeValue(
    key: Buffer,
    rdbType: number,
    source: Buffer,
    valueStart: number,
    valueEnd: number,
    expireAt?: number,
    extra?: { idle?: number; freq?: number },
  ): Promise<void> | undefined {
    return this.writeValueRange(
      key,
      0,
      key.length,
      rdbType,
      source,
      valueStart,
      valueEnd,
      expireAt ?? -1,
      extra,
    )
  }

  /** writeValue with the key given as a range (no views made). `expireAt` -1: no expire. */
  writeValueRange(
    key: Buffer,
    keyStart: number,
    keyEnd: number,
    rdbType: number,
    source: Buffer,
    valueStart: number,
    valueEnd: number,
    expireAt: number,
    extra?: { idle?: number; freq?: number },
  ): Promise<void> | undefined {
    if (expireAt !== -1) {
      this.ensure(9)
      this.chunk[this.used++] = RDB_OPCODE.EXPIRETIME_MS
      this.putInt64LE(expireAt)
      this.stats.expires++
    }
    if (extra?.idle !== undefined) {
      this.put(RDB_OPCODE.IDLE)
      this.putLen(extra.idle)
    }
    if (extra?.freq !== undefined) {
      this.ensure(2)
      this.chunk[this.used++] = RDB_OPCODE.FREQ
      this.chunk[this.used++] = extra.freq & 0xff
    }
    this.put(rdbType)
    this.putLen(keyEnd - keyStart)
    this.putRange(key, keyStart, keyEnd)
    this.putRange(source, valueStart, valueEnd)
    this.stats.keys++
    return this.maybeFlush()
  }

  /**
   * An entry from a DUMP payload. The payload's RDB version must not be newer than the file's
   * (a reader of the file would not know its types); with `verifyPayloads` its CRC is checked.
   */
  writeDumpPayload(key: Buffer, payload: Buffer, expireAt?: number): Promise<void> | undefined {
    return this.writeDumpRange(key, 0, key.length, payload, 0, payload.length, expireAt ?? -1)
  }

  /** writeDumpPayload with key and payload given as ranges. `expireAt` -1: no expire. */
  writeDumpRange(
    key: Buffer,
    keyStart: number,
    keyEnd: number,
    payload: Buffer,
    payloadStart: number,
    payloadEnd: number,
    expireAt: number,
  ): Promise<void> | undefined {
    if (payloadEnd - payloadStart < 1 + DUMP_FOOTER) {
      throw new RdbFormatError(`DUMP payload of ${payloadEnd - payloadStart} bytes`, 0, 'at least 11 bytes')
    }
    const valueEnd = payloadEnd - DUMP_FOOTER
    const version = payload[valueEnd] | (payload[valueEnd + 1] << 8)
    if (version > this.options.version) {
      throw new RdbFormatError(
        `DUMP payload of RDB version ${version} in a file of version ${this.options.version}`,
        valueEnd - payloadStart,
        `a payload of version ${this.options.version} or older`,
      )
    }
    if (
      this.verifyPayloads &&
      !this.payloadCrc.update(payload, payloadStart, payloadEnd - 8).matchesLE(payload, payloadEnd - 8)
    ) {
      this.payloadCrc.lo = this.payloadCrc.hi = 0
      throw new RdbFormatError(
        'DUMP payload CRC-64 mismatch',
        valueEnd + 2 - payloadStart,
        'the CRC-64 of the payload',
      )
    }
    this.payloadCrc.lo = this.payloadCrc.hi = 0
    if (version > this.stats.maxPayloadVersion) this.stats.maxPayloadVersion = version
    return this.writeValueRange(
      key,
      keyStart,
      keyEnd,
      payload[payloadStart],
      payload,
      payloadStart + 1,
      valueEnd,
      expireAt,
    )
  }

  /** A function library (FUNCTION2 opcode): the library's source code. */
  writeFunction(code: Buffer): Promise<void> | undefined {
    this.put(RDB_OPCODE.FUNCTION2)
    this.putString(code)
    this.stats.functions++
    return this.maybeFlush()
  }

  /** Module AUX data exactly as read from another RDB (module id, when, body with its EOF). */
  writeModuleAux(moduleId: bigint, when: number, body: Buffer): Promise<void> | undefined {
    this.put(RDB_OPCODE.MODULE_AUX)
    this.ensure(9)
    this.chunk[this.used++] = 0x81
    this.chunk.writeBigUInt64BE(moduleId, this.used)
    this.used += 8
    this.putLen(2)
    this.putLen(when)
    this.putRange(body, 0, body.length)
    return this.maybeFlush()
  }

  /** Resolves when the sink can take more (undefined when it already can). */
  drained(): Promise<void> | undefined {
    return this.drainWait
  }

  /** EOF, the CRC-64, and everything flushed to the sink (which is not ended). */
  async end(): Promise<void> {
    if (this.ended) return
    this.ended = true
    this.put(RDB_OPCODE.EOF)
    this.crc.update(this.chunk, 0, this.used)
    this.ensure(8)
    this.crc.writeLE(this.chunk, this.used)
    this.used += 8
    await this.flush(false)
    if (this.drainWait) await this.drainWait
    if (this.failure) throw this.failure
  }

  // --- buffer management --------------------------------------------------------------------------

  private maybeFlush(): Promise<void> | undefined {
    if (this.used >= this.chunkSize) return this.flush(true)
    return this.drainWait
  }

  private flush(withCrc: boolean): Promise<void> | undefined {
    if (this.failure) throw this.failure
    if (this.used === 0) return this.drainWait
    const out = this.chunk.subarray(0, this.used)
    if (withCrc) this.crc.update(out)
    this.flushed += this.used
    this.stats.bytes = this.flushed
    this.chunk = Buffer.allocUnsafe(
      Math.max(
        this.chunkSize + 64 * 1024,
        this.chunk.length > 4 * this.chunkSize ? this.chunkSize : this.chunk.length,
      ),
    )
    this.used = 0
    if (!this.sink.write(out) && !this.drainWait) {
      this.drainWait = new Promise<void>((resolve) => {
        const done = () => {
          this.sink.off('drain', done)
          this.sink.off('error', done)
          this.sink.off('close', done)
          this.drainWait = undefined
          resolve()
        }
        this.sink.on('drain', done)
        this.sink.on('error', done)
        this.sink.on('close', done)
      })
    }
    return this.drainWait
  }

  private ensure(extra: number): void {
    if (this.used + extra <= this.chunk.length) return
    const next = Buffer.allocUnsafe(Math.max(this.chunk.length * 2, this.used + extra))
    this.chunk.copy(next, 0, 0, this.used)
    this.chunk = next
  }

  private put(byte: number): void {
    this.ensure(1)
    this.chunk[this.used++] = byte
    this.stats.bytes = this.flushed + this.used
  }

  private putLen(n: number): void {
    this.ensure(9)
    const c = this.chunk
    if (n < 64) c[this.used++] = n
    else if (n < 16384) {
      c[this.used++] = 0x40 | (n >> 8)
      c[this.used++] = n & 0xff
    } else if (n <= 0xffffffff) {
      c[this.used++] = 0x80
      c.writeUInt32BE(n, this.used)
      this.used += 4
    } else {
      c[this.used++] = 0x81
      c.writeBigUInt64BE(BigInt(n), this.used)
      this.used += 8
    }
  }

  private putInt64LE(n: number): void {
    const c = this.chunk
    const lo = n % 4294967296
    const loU = lo < 0 ? lo + 4294967296 : lo
    c.writeUInt32LE(loU, this.used)
    c.writeInt32LE(Math.floor(n / 4294967296), this.used + 4)
    this.used += 8
  }

  private putString(s: Buffer): void {
    this.putLen(s.length)
    this.putRange(s, 0, s.length)
  }

  private putRange(source: Buffer, start: number, end: number): void {
    const n = end - start
    this.ensure(n)
    this.used += copyBytes(source, start, end, this.chunk, this.used)
    this.stats.bytes = this.flushed + this.used
  }
}
