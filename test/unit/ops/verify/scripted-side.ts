/** Scripted verify sides for the comparison tests: every command answered from a function, and logged. */
import { readPayloadsPerKey, readStringsPerKey, type Side } from '../../../../src/ops/verify/side.js'
import { buildDumpPayload } from '../../../../src/data/rdb/dump.js'
import type { CommandArg } from '../../../../src/wire/encode.js'
import type { Reply } from '../../../../src/wire/reply-parser.js'

/**
 * The one scripted side the comparison tests build on: every command it is sent is answered by
 * `answer`, with its arguments as bytes and the key it is for.
 */
export function scriptedSide(
  label: 'source' | 'target',
  answer: (args: Buffer[], key: Buffer) => Reply,
): Side {
  const scripted = {
    label,
    readStrings: (db: number, keys: Buffer[], ttl: string) => readStringsPerKey(scripted, db, keys, ttl),
    readPayloads: (db: number, keys: Buffer[]) => readPayloadsPerKey(scripted, db, keys),
    perKey: async (_db: number, keys: Buffer[], build: (k: Buffer, i: number) => CommandArg[][]) =>
      keys.map((k, i) =>
        build(k, i).map((c) =>
          answer(
            c.map((a) => (Buffer.isBuffer(a) ? a : Buffer.from(String(a)))),
            k,
          ),
        ),
      ),
  }
  return scripted as unknown as Side
}

/** A side answering every command from `answer` (arguments as latin1 text); every command it was sent is logged. */
export function side(
  label: 'source' | 'target',
  answer: (args: string[]) => Reply,
  log: string[] = [],
): Side {
  return scriptedSide(label, (bytes) => {
    const args = bytes.map((a) => a.toString('latin1'))
    log.push(args.slice(0, args[0] === 'XINFO' ? 2 : 1).join(' '))
    return answer(args)
  })
}

export const settings = { ttlToleranceMs: 1000, chunkElements: 1000, showValues: true }
export const b = (s: string) => Buffer.from(s)
export const key = Buffer.from([0x7a, 0x00, 0x0d, 0x0a, 0xff])
/** A DUMP payload of `rdbType` (its first byte, which verify reads the type from) whose value bytes are `tag`. */
export const payloadOf = (rdbType: number, tag: string) => buildDumpPayload(rdbType, b(tag), 10)
