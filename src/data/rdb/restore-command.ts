import { RESTORE_OPTIONS_ROOM, type CommandBatch } from '../../wire/routed-pipeline.js'
import { writeCrc64sLE } from '../crc64.js'
import { writeDumpPayloadBody } from './dump.js'
import type { RdbEntry } from './reader.js'

const RESTORE_HEAD = Buffer.from('$7\r\nRESTORE\r\n')
const ABSTTL = Buffer.from('$6\r\nABSTTL\r\n')
const REPLACE = Buffer.from('$7\r\nREPLACE\r\n')

interface RestoreCommandOptions {
  replace: boolean
  /** Send the entry's LRU idle time and LFU counter (IDLETIME, FREQ) when the file has them. */
  lruLfu: boolean
}

/**
 * RESTORE key ttl payload [ABSTTL] [REPLACE] [IDLETIME s] [FREQ f] for an RDB entry, written into
 * `batch` straight from the reader's buffer: the value bytes are copied once, and the DUMP payload's
 * version written in place; its CRC is written with the batch's others when the batch is sent
 * (CommandBatch.bytes()). The caller brackets it with batch.begin() and batch.end(tag).
 */
export function writeRestoreCommand(
  batch: CommandBatch<unknown>,
  e: RdbEntry,
  label: number,
  options: RestoreCommandOptions,
): void {
  const idle = options.lruLfu ? e.idle : undefined
  const freq = options.lruLfu ? e.freq : undefined
  const payloadLen = e.valueEnd - e.valueStart + 11
  let argc = 4
  if (e.expireAt !== undefined) argc++
  if (options.replace) argc++
  if (idle !== undefined) argc += 2
  if (freq !== undefined) argc += 2
  batch.header(0x2a, argc)
  batch.raw(RESTORE_HEAD)
  if (e.keyIsPlain) batch.bulk(e.buf, e.keyStart, e.keyEnd)
  else batch.bulk(e.key)
  batch.integer(e.expireAt === undefined ? 0 : e.expireAt)
  batch.header(0x24, payloadLen)
  // Room for the options after the payload too: a big value that just fits would otherwise grow
  // the batch again for them, copying the value once more.
  batch.ensure(payloadLen + RESTORE_OPTIONS_ROOM)
  const payloadStart = batch.used
  const crcAt = writeDumpPayloadBody(
    batch.buf,
    payloadStart,
    e.rdbType,
    e.buf,
    e.valueStart,
    e.valueEnd,
    label,
  )
  batch.finishLater(writeCrc64sLE, payloadStart, crcAt)
  batch.used = crcAt + 8
  batch.buf[batch.used++] = 0x0d
  batch.buf[batch.used++] = 0x0a
  if (e.expireAt !== undefined) batch.raw(ABSTTL)
  if (options.replace) batch.raw(REPLACE)
  if (idle !== undefined) {
    batch.text('IDLETIME')
    batch.integer(idle)
  }
  if (freq !== undefined) {
    batch.text('FREQ')
    batch.integer(freq)
  }
}
