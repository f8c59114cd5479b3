import { escapeBytes } from '../../data/escape.js'
import { payloadType, type PayloadType } from '../../data/rdb/dump.js'
import { RespError, type Reply } from '../../wire/reply-parser.js'
import { equalBytes } from '../../wire/bytes.js'
import { OperationError } from '../../errors.js'
import { lengthCommand } from '../../redis/commands.js'
import type { CommandArg } from '../../wire/encode.js'
import {
  compareValue,
  compareWholeReplies,
  wholeReadCommand,
  wholeReplyLength,
  type Endpoints,
  type ValueMismatch,
} from './logical.js'
import type { Payloads, Side, StringsAndExpiries } from './side.js'
import type { Difference } from './types.js'

export interface CompareSettings {
  ttlToleranceMs: number
  chunkElements: number
  showValues: boolean
  /** TYPE only: quick mode. */
  typesOnly?: boolean
  /**
   * Both sides have PEXPIRETIME (Redis 7+): expiries compared as absolute times, so a reply that
   * comes later from one side (a busy node) does not look like a TTL difference.
   */
  absoluteTtl?: boolean
  /**
   * No key of either db has an expiry (INFO keyspace, before the forward pass and after it): none
   * is asked for, each key's counts as none.
   */
  noExpiries?: boolean
}

/**
 * Values whose DUMP payloads differ and are at most this big are read whole (GET, LRANGE, HGETALL,
 * SMEMBERS, ZRANGE), pipelined for many keys; bigger ones are compared piece by piece.
 */
const WHOLE_READ_PAYLOAD_BYTES = 512 * 1024

/** What one pipelined round of whole-value reads may bring back from each side, about. */
const READ_BUDGET_BYTES = 8 << 20
/** A whole-value reply is about this many times its DUMP payload (RESP framing, no listpack packing). */
const REPLY_PER_PAYLOAD_BYTE = 2

/** Whole-value reads in groups whose replies stay within the budget (memory bounded per round). */
function byReadBudget<T extends { payloadBytes: number }>(items: T[]): T[][] {
  const groups: T[][] = []
  let group: T[] = []
  let bytes = 0
  for (const item of items) {
    const cost = item.payloadBytes * REPLY_PER_PAYLOAD_BYTE
    if (group.length && bytes + cost > READ_BUDGET_BYTES) {
      groups.push(group)
      group = []
      bytes = 0
    }
    group.push(item)
    bytes += cost
  }
  if (group.length) groups.push(group)
  return groups
}

const HINT =
  'verify reads MGET, DUMP, PTTL (PEXPIRETIME on Redis 7+), TYPE (--mode quick) and the read commands of each type on both sides: connect as a user allowed them.'

/**
 * A reply that must be a value. An error reply (NOPERM, a proxy's refusal, a redirect not
 * followed ...) stops the comparison: it is never read as "no such key" or "no expiry".
 */
function checked(r: Reply, what: string, side: Side): Reply {
  if (!(r instanceof RespError)) return r
  throw new OperationError(`${what} refused on the ${side.label}: ${r.message}`, { hint: HINT })
}

function text(r: Reply, what: string, side: Side): string {
  const v = checked(r, what, side)
  return Buffer.isBuffer(v) ? v.toString() : String(v)
}

function int(r: Reply, what: string, side: Side): number {
  const v = checked(r, what, side)
  const n = Number(Buffer.isBuffer(v) ? v.toString() : v)
  if (v === null || !Number.isInteger(n))
    throw new OperationError(`${what} on the ${side.label} answered ${String(v)}, not an integer`)
  return n
}

/** One key's DUMP reply and expiry on one side: payload j of `payloads`. */
interface Head {
  payloads: Payloads
  j: number
  expiry: Reply
}

/**
 * Whether the key of a DUMP reply exists: true when the reply is a payload, false for a nil. Any
 * other reply (an error reply: NOPERM, a proxy's refusal ...) stops the comparison.
 */
function hasPayload(h: Head, side: Side): boolean {
  if (h.payloads.start[h.j] >= 0) return true
  const v = checked(h.payloads.reply(h.j), 'DUMP', side)
  if (v === null) return false
  throw new OperationError(`DUMP on the ${side.label} answered ${String(v)}, not a payload`)
}

/** The payload of a key that has one, as a view of the reply's bytes. */
const payloadView = (h: Head) => h.payloads.bytes.subarray(h.payloads.start[h.j], h.payloads.end[h.j])

/** Do both sides hold the same payload bytes? Compared where they lie. */
const samePayload = (s: Head, t: Head) =>
  equalBytes(
    s.payloads.bytes,
    s.payloads.start[s.j],
    s.payloads.end[s.j],
    t.payloads.bytes,
    t.payloads.start[t.j],
    t.payloads.end[t.j],
  )

/** A key of another type now (changed since it was read): compared again by the next pass. */
const changedType = (r: Reply) => r instanceof RespError && r.message.startsWith('WRONGTYPE')

const typeName = (t: PayloadType) => (t.known ? t.type : `RDB type ${t.rdbType}`)

const shown = (b: Buffer | undefined) =>
  b === undefined ? undefined : escapeBytes(b.length > 256 ? b.subarray(0, 256) : b)

export function difference(
  category: Difference['category'],
  key: Buffer,
  db: number,
  detail: string,
  extra: Partial<Difference> = {},
): Difference {
  return { category, key: escapeBytes(key), keyHex: key.toString('hex'), db, detail, ...extra }
}

/** A key both sides hold with the same type and different payloads: its value is looked at closer. */
interface Closer {
  i: number
  type: string
  /** The bigger of the two payloads: what a whole read of the value costs, about. */
  payloadBytes: number
}

/**
 * Compare a batch of keys between the source db and the target db. One pipelined round per side
 * reads every key's string value and expiry: a string on both sides is settled at once (its bytes
 * and TTL compared). The other keys' DUMP payloads come in a second round, only for them: the
 * payload's first byte is the type (whatever the encoding), equal payloads are equal values.
 * Payloads that differ (a hashtable's per-process order, another encoding or RDB version) are
 * compared logically: small values read whole, many keys in one more round (sets, hashes and
 * zsets as sets, in memory); big values, streams piece by piece. Never a round trip per key for
 * small values. A key gone from both sides is not a difference (it expired or was deleted meanwhile).
 */
export async function compareKeys(e: Endpoints, keys: Buffer[], s: CompareSettings): Promise<Difference[]> {
  if (s.typesOnly) return compareTypes(e, keys)
  const ttlCmd = s.absoluteTtl ? 'PEXPIRETIME' : 'PTTL'
  const asked = s.noExpiries ? undefined : ttlCmd
  const [src, tgt] = await Promise.all([
    e.source.readStrings(e.sourceDb, keys, asked),
    e.target.readStrings(e.targetDb, keys, asked),
  ])
  const batch: KeyBatch = { e, keys, s, diffs: [], now: Date.now(), ttlCmd }
  const rest: number[] = []
  try {
    for (let i = 0; i < keys.length; i++) if (!compareStrings(batch, i, src, tgt)) rest.push(i)
  } finally {
    // The values were compared (a difference keeps them as text): the expiries are all round two reads.
    src.release()
    tgt.release()
  }
  if (!rest.length) return batch.diffs
  const closer = await compareHeads(batch, rest, src.expiries, tgt.expiries)
  if (closer.length) await lookCloser(batch, closer)
  return batch.diffs
}

/**
 * Round two: the DUMP payloads of the keys at `rest` (not strings on both sides), each key's
 * compared with its expiry (compareHead). Returns the keys whose values must be looked at closer.
 */
async function compareHeads(
  batch: KeyBatch,
  rest: number[],
  srcExpiries: Reply[],
  tgtExpiries: Reply[],
): Promise<Closer[]> {
  const { e, keys } = batch
  const restKeys = rest.map((i) => keys[i])
  const [srcDump, tgtDump] = await Promise.all([
    e.source.readPayloads(e.sourceDb, restKeys),
    e.target.readPayloads(e.targetDb, restKeys),
  ])
  const closer: Closer[] = []
  try {
    for (let j = 0; j < rest.length; j++) {
      const i = rest[j]
      const src = { payloads: srcDump, j, expiry: srcExpiries[i] }
      const x = compareHead(batch, i, src, { payloads: tgtDump, j, expiry: tgtExpiries[i] })
      if (x) closer.push(x)
    }
  } finally {
    srcDump.release()
    tgtDump.release()
  }
  return closer
}

/**
 * A key that is a string on both sides, settled from round one: its TTLs and its bytes compared.
 * False for any other key (another type, missing on a side, an error reply): round two looks at it.
 */
function compareStrings(b: KeyBatch, i: number, src: StringsAndExpiries, tgt: StringsAndExpiries): boolean {
  const ss = src.start[i]
  const ts = tgt.start[i]
  if (ss < 0 || ts < 0) return false
  const { e } = b
  const key = b.keys[i]
  const sTtl = int(src.expiries[i], b.ttlCmd, e.source)
  const ttl = ttlDifference(b, key, sTtl, int(tgt.expiries[i], b.ttlCmd, e.target), 'string')
  if (ttl) b.diffs.push(ttl)
  const se = src.end[i]
  const te = tgt.end[i]
  if (!equalBytes(src.bytes, ss, se, tgt.bytes, ts, te)) {
    const x: Closer = { i, type: 'string', payloadBytes: 0 }
    const sv = src.bytes.subarray(ss, se)
    const tv = tgt.bytes.subarray(ts, te)
    recordMismatch(b, x, lengthMismatch(x, sv.length, tv.length) ?? compareWholeReplies('string', sv, tv))
  }
  return true
}

/** One batch being compared: where, its keys, the settings, and the differences found so far. */
interface KeyBatch {
  e: Endpoints
  keys: Buffer[]
  s: CompareSettings
  diffs: Difference[]
  /** When the head round came back: absolute expiries are reported as time left from it. */
  now: number
  ttlCmd: string
}

/**
 * A key's DUMP payload and expiry on both sides: missing, another type, another TTL are differences
 * here; equal payloads settle the value. Returns the key when its value must be looked at closer.
 */
function compareHead(b: KeyBatch, i: number, src: Head, tgt: Head): Closer | undefined {
  const { e } = b
  const key = b.keys[i]
  const inSource = hasPayload(src, e.source)
  const inTarget = hasPayload(tgt, e.target)
  if (!inSource && !inTarget) return undefined
  if (!inSource || !inTarget) {
    const type = typeName(payloadType(payloadView(inSource ? src : tgt)))
    b.diffs.push(
      inSource
        ? difference('missing-in-target', key, e.sourceDb, `only in source (${type})`, { sourceType: type })
        : difference('missing-in-source', key, e.sourceDb, `only in target (${type})`, { targetType: type }),
    )
    return undefined
  }
  // Equal payloads (same encoding, same RDB version): equal values, so one type. The types are
  // read from the payloads only when they differ (or a difference names them).
  const same = samePayload(src, tgt)
  const sp = same ? undefined : payloadView(src)
  const tp = same ? undefined : payloadView(tgt)
  const st = sp && payloadType(sp)
  const tt = tp && payloadType(tp)
  if (st?.known && tt?.known && st.type !== tt.type) {
    b.diffs.push(
      difference('type', key, e.sourceDb, `${st.type} in source, ${tt.type} in target`, {
        sourceType: st.type,
        targetType: tt.type,
      }),
    )
    return undefined
  }
  const ttl = ttlDifference(
    b,
    key,
    int(src.expiry, b.ttlCmd, e.source),
    int(tgt.expiry, b.ttlCmd, e.target),
    st ?? (() => payloadView(src)),
  )
  if (ttl) b.diffs.push(ttl)
  if (!st || !tt || !sp || !tp) return undefined
  const unknown = [st, tt].find((t): t is Extract<PayloadType, { known: false }> => !t.known)
  if (unknown || !st.known) {
    const where = unknown === st ? 'source' : 'target'
    b.diffs.push(
      difference(
        'value',
        key,
        e.sourceDb,
        `could not compare: the DUMP payload on the ${where} holds ${unknown?.reason ?? ''}`,
        { sourceType: typeName(st) },
      ),
    )
    return undefined
  }
  return { i, type: st.type, payloadBytes: Math.max(sp.length, tp.length) }
}

/** Expiries that differ by more than the tolerance (or one side has none): a `ttl` difference. */
function ttlDifference(
  b: KeyBatch,
  key: Buffer,
  sRaw: number,
  tRaw: number,
  /** The source's type, or its payload to read it from (only for a report). */
  sourceType: string | PayloadType | (() => Buffer),
): Difference | undefined {
  const { s, now } = b
  const differs =
    (sRaw === -1) !== (tRaw === -1) || (sRaw >= 0 && tRaw >= 0 && Math.abs(sRaw - tRaw) > s.ttlToleranceMs)
  if (!differs || sRaw === -2 || tRaw === -2) return undefined
  // As time left (ms) for the report; compared absolute when the servers give absolute times.
  const left = (t: number) => (s.absoluteTtl && t >= 0 ? Math.max(0, t - now) : t)
  const ms = (t: number) => (t === -1 ? 'none' : `${t} ms`)
  return difference(
    'ttl',
    key,
    b.e.sourceDb,
    `ttl ${ms(left(sRaw))} in source, ${ms(left(tRaw))} in target`,
    {
      sourceType:
        typeof sourceType === 'string'
          ? sourceType
          : typeName(typeof sourceType === 'function' ? payloadType(sourceType()) : sourceType),
      sourceTtlMs: left(sRaw),
      targetTtlMs: left(tRaw),
    },
  )
}

/** A value difference found by the closer look (with the values when --show-values). */
function recordMismatch(b: KeyBatch, x: Closer, mismatch: ValueMismatch | undefined): void {
  if (!mismatch) return
  b.diffs.push(
    difference('value', b.keys[x.i], b.e.sourceDb, mismatch.detail, {
      sourceType: x.type,
      ...(b.s.showValues
        ? { sourceValue: shown(mismatch.sourceValue), targetValue: shown(mismatch.targetValue) }
        : {}),
    }),
  )
}

const lengthMismatch = (x: Closer, a: number, b: number): ValueMismatch | undefined =>
  a === b
    ? undefined
    : {
        detail: `${x.type} of ${a} ${x.type === 'string' ? 'bytes' : 'elements'} in source, ${b} in target`,
      }

/**
 * Values whose payloads differ: small ones read whole for many keys in one round, big ones and
 * streams piece by piece, module types compared only by their payloads.
 */
async function lookCloser(b: KeyBatch, closer: Closer[]): Promise<void> {
  const batched: { x: Closer; read: CommandArg[]; payloadBytes: number }[] = []
  const pieces: Closer[] = []
  for (const x of closer) {
    const read =
      x.payloadBytes <= WHOLE_READ_PAYLOAD_BYTES ? wholeReadCommand(x.type, b.keys[x.i]) : undefined
    if (read) batched.push({ x, read, payloadBytes: x.payloadBytes })
    else if (lengthCommand(x.type)) pieces.push(x)
    // Module types: only their serialized form can be compared.
    else recordMismatch(b, x, { detail: `${x.type} values differ (DUMP payloads)` })
  }
  for (const group of byReadBudget(batched)) await compareWhole(b, group)
  if (pieces.length) await compareInPieces(b, pieces)
}

/** Small values read whole on both sides, one pipelined round for the group, compared in memory. */
async function compareWhole(b: KeyBatch, group: { x: Closer; read: CommandArg[] }[]): Promise<void> {
  const { e } = b
  const groupKeys = group.map((g) => b.keys[g.x.i])
  const read = (_k: Buffer, j: number) => [group[j].read]
  const [sv, tv] = await Promise.all([
    e.source.perKey(e.sourceDb, groupKeys, read),
    e.target.perKey(e.targetDb, groupKeys, read),
  ])
  group.forEach(({ x }, j) => {
    const a = sv[j][0]
    const t = tv[j][0]
    // A key that changed type or vanished while read: a difference for now, rechecked by the next pass.
    const refused = a instanceof RespError ? a : t instanceof RespError ? t : undefined
    if (refused) return recordMismatch(b, x, { detail: `could not compare: ${refused.message}` })
    recordMismatch(
      b,
      x,
      lengthMismatch(x, wholeReplyLength(x.type, a), wholeReplyLength(x.type, t)) ??
        compareWholeReplies(x.type, a, t),
    )
  })
}

/** Big values: their lengths in one round, then each compared chunk by chunk. */
async function compareInPieces(b: KeyBatch, pieces: Closer[]): Promise<void> {
  const { e, s } = b
  const pieceKeys = pieces.map((x) => b.keys[x.i])
  const len = (k: Buffer, j: number) => [[lengthCommand(pieces[j].type)!, k]]
  const [sl, tl] = await Promise.all([
    e.source.perKey(e.sourceDb, pieceKeys, len),
    e.target.perKey(e.targetDb, pieceKeys, len),
  ])
  for (let j = 0; j < pieces.length; j++) {
    const x = pieces[j]
    const what = lengthCommand(x.type)!
    const refused = [sl[j][0], tl[j][0]].find(changedType) as RespError | undefined
    if (refused) {
      recordMismatch(b, x, { detail: `could not compare: ${refused.message}` })
      continue
    }
    const a = int(sl[j][0], what, e.source)
    const t = int(tl[j][0], what, e.target)
    let mismatch = lengthMismatch(x, a, t)
    if (!mismatch) {
      try {
        mismatch = await compareValue(e, b.keys[x.i], x.type, a, s.chunkElements)
      } catch (err) {
        mismatch = { detail: `could not compare: ${(err as Error).message}` }
      }
    }
    recordMismatch(b, x, mismatch)
  }
}

/** --mode quick: types only (TYPE, the cheapest question), no values, no expiries. */
async function compareTypes(e: Endpoints, keys: Buffer[]): Promise<Difference[]> {
  const head = (k: Buffer) => [['TYPE', k]]
  const [src, tgt] = await Promise.all([
    e.source.perKey(e.sourceDb, keys, head),
    e.target.perKey(e.targetDb, keys, head),
  ])
  const diffs: Difference[] = []
  keys.forEach((key, i) => {
    const st = text(src[i][0], 'TYPE', e.source)
    const tt = text(tgt[i][0], 'TYPE', e.target)
    if (st === 'none' && tt === 'none') return
    if (st === 'none')
      diffs.push(
        difference('missing-in-source', key, e.sourceDb, `only in target (${tt})`, { targetType: tt }),
      )
    else if (tt === 'none')
      diffs.push(
        difference('missing-in-target', key, e.sourceDb, `only in source (${st})`, { sourceType: st }),
      )
    else if (st !== tt)
      diffs.push(
        difference('type', key, e.sourceDb, `${st} in source, ${tt} in target`, {
          sourceType: st,
          targetType: tt,
        }),
      )
  })
  return diffs
}
