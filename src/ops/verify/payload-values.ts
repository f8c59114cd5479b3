import { dialectFor } from '../../data/rdb/constants.js'
import { dumpPayloadParts } from '../../data/rdb/dump.js'
import { formatScore } from '../../data/rdb/to-commands.js'
import { decodeValue } from '../../data/rdb/value.js'
import type { Reply } from '../../wire/reply-parser.js'

/**
 * The value a DUMP payload holds, shaped as the reply of the command that reads it whole (GET,
 * LRANGE, SMEMBERS, HGETALL, ZRANGE WITHSCORES), so that two payloads that differ (a hashtable's
 * per-process order, another encoding or RDB version) are compared from the bytes verify already
 * holds: no more round trips, no more work for either server. Undefined when the payload is not a
 * `type` value kvtop decodes (a stream, a module value, a newer encoding, a damaged payload): the
 * caller then reads the value from the servers.
 */
export function payloadReply(payload: Buffer, type: string): Reply | undefined {
  let value
  try {
    const parts = dumpPayloadParts(payload)
    value = decodeValue(parts.rdbType, payload.subarray(1, parts.valueEnd), dialectFor(parts.version))
  } catch {
    return undefined
  }
  if (value.kind !== type) return undefined
  switch (value.kind) {
    case 'string':
      return value.value
    case 'list':
      return value.items
    case 'set':
      return value.members
    case 'hash':
      return value.fields.flatMap((f) => [f.field, f.value])
    case 'zset':
      // Scores as text, as a server prints them: compared as doubles, whatever the digits.
      return value.entries.flatMap((e) => [e.member, Buffer.from(formatScore(e.score))])
    default:
      return undefined
  }
}
