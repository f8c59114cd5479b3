import type { CommandArg } from '../../wire/encode.js'
import { RespError, type Reply } from '../../wire/reply-parser.js'
import { escapeBytes } from '../../data/escape.js'
import { OperationError } from '../../errors.js'
import type { Side } from './side.js'

/** What differs inside one value, for the report. */
export interface ValueMismatch {
  detail: string
  sourceValue?: Buffer
  targetValue?: Buffer
}

export interface Endpoints {
  source: Side
  target: Side
  sourceDb: number
  targetDb: number
}

/** Bytes of a big string compared per GETRANGE. */
const STRING_CHUNK = 1 << 20
/** Strings up to this size are read whole. */
const STRING_WHOLE = 8 << 20

async function one(side: Side, db: number, key: Buffer, cmd: CommandArg[]): Promise<Reply> {
  const [[reply]] = await side.perKey(db, [key], () => [cmd])
  if (reply instanceof RespError) {
    throw new OperationError(`${String(cmd[0])} refused on the ${side.label}: ${reply.message}`)
  }
  return reply
}

function both(e: Endpoints, key: Buffer, cmd: CommandArg[]): Promise<[Reply, Reply]> {
  return Promise.all([one(e.source, e.sourceDb, key, cmd), one(e.target, e.targetDb, key, cmd)])
}

const buf = (r: Reply): Buffer => (Buffer.isBuffer(r) ? r : Buffer.from(r === null ? '' : String(r)))
/** Bytes as a string key of a Set or Map: latin1 maps byte n to char n, both ways, and is cheap. */
const asKey = (b: Buffer) => b.toString('latin1')
const fromKey = (k: string) => Buffer.from(k, 'latin1')
const quote = (b: Buffer) =>
  `"${escapeBytes(b.length > 64 ? b.subarray(0, 64) : b)}${b.length > 64 ? '...' : ''}"`

/** Pairs [a, b, a, b ...] -> Map(a as a key -> b). */
function pairs(reply: Reply): Map<string, Buffer> {
  const items = reply as Reply[]
  const out = new Map<string, Buffer>()
  for (let i = 0; i + 1 < items.length; i += 2) out.set(asKey(buf(items[i])), buf(items[i + 1]))
  return out
}

/**
 * A number as a server prints it (a zset score): `inf`, `-inf`, `1.1000000000000001` (Redis 7.0),
 * `1.1` (Valkey 8) ... NaN when it is not one.
 */
export function parseScore(value: Buffer | string): number {
  const s = value.toString().trim().toLowerCase()
  if (s === 'inf' || s === '+inf' || s === 'infinity' || s === '+infinity') return Infinity
  if (s === '-inf' || s === '-infinity') return -Infinity
  return s === '' ? NaN : Number(s)
}

/**
 * Two scores are the same double, whatever the digits each server printed (Redis 7.0 prints 1.1 as
 * `1.1000000000000001`, Valkey 8 as `1.1`); -0 and 0 are equal, as ZSCORE and ZRANGEBYSCORE treat
 * them. What does not parse as a number is compared byte for byte.
 */
export function sameScore(a: Buffer, b: Buffer): boolean {
  if (a.equals(b)) return true
  const x = parseScore(a)
  return !Number.isNaN(x) && x === parseScore(b)
}

const sameBytes = (a: Buffer, b: Buffer) => a.equals(b)

/** Compare two field -> value maps; the first difference in words. */
function compareMaps(
  what: string,
  s: Map<string, Buffer>,
  t: Map<string, Buffer>,
  same: (a: Buffer, b: Buffer) => boolean = sameBytes,
): ValueMismatch | undefined {
  for (const [k, v] of s) {
    const field = fromKey(k)
    const other = t.get(k)
    if (other === undefined) return { detail: `${what} ${quote(field)} missing in target`, sourceValue: v }
    if (!same(v, other))
      return { detail: `${what} ${quote(field)}: values differ`, sourceValue: v, targetValue: other }
  }
  for (const [k, v] of t) {
    if (!s.has(k)) return { detail: `${what} ${quote(fromKey(k))} missing in source`, targetValue: v }
  }
  return undefined
}

/**
 * Compare one key's value element by element (both sides hold it with the same type and the
 * same length). Big collections go chunk by chunk: memory stays bounded whatever the key's size.
 */
export async function compareValue(
  e: Endpoints,
  key: Buffer,
  type: string,
  length: number,
  chunk: number,
): Promise<ValueMismatch | undefined> {
  const whole = wholeValueRead(type, key, length, chunk)
  if (whole && type !== 'string') {
    const [s, t] = await both(e, key, whole)
    return compareWholeReplies(type, s, t)
  }
  switch (type) {
    case 'string':
      return compareString(e, key, length)
    case 'list':
      return compareList(e, key, length, chunk)
    case 'hash':
    case 'set':
    case 'zset':
      return compareScanned(e, key, type, chunk)
    case 'stream':
      return compareStream(e, key, chunk)
    default: {
      // Module types: only their serialized form can be compared.
      const [s, t] = await both(e, key, ['DUMP', key])
      return buf(s).equals(buf(t)) ? undefined : { detail: `${type} values differ (DUMP payloads)` }
    }
  }
}

async function compareString(e: Endpoints, key: Buffer, length: number): Promise<ValueMismatch | undefined> {
  if (length <= STRING_WHOLE) {
    const [s, t] = await both(e, key, ['GET', key])
    return compareWholeReplies('string', s, t)
  }
  for (let at = 0; at < length; at += STRING_CHUNK) {
    const [s, t] = await both(e, key, ['GETRANGE', key, at, at + STRING_CHUNK - 1])
    const sb = buf(s)
    const tb = buf(t)
    if (!sb.equals(tb)) return { detail: `string values differ${firstByteDiff(sb, tb, at)}` }
  }
  return undefined
}

/**
 * The one command that reads a value whole, when it is small enough to read whole: the command the
 * batched comparison pipelines for many keys at once. Undefined for what is compared piece by piece
 * (big values, streams, module types).
 */
function wholeValueRead(type: string, key: Buffer, length: number, chunk: number): CommandArg[] | undefined {
  if (type === 'string') return length <= STRING_WHOLE ? ['GET', key] : undefined
  return length > chunk ? undefined : wholeReadCommand(type, key)
}

/** The command that reads a value of `type` whole; undefined for streams and module types. */
export function wholeReadCommand(type: string, key: Buffer): CommandArg[] | undefined {
  switch (type) {
    case 'string':
      return ['GET', key]
    case 'list':
      return ['LRANGE', key, 0, -1]
    case 'hash':
      return ['HGETALL', key]
    case 'set':
      return ['SMEMBERS', key]
    case 'zset':
      return ['ZRANGE', key, 0, -1, 'WITHSCORES']
    default:
      return undefined
  }
}

/** The length (bytes of a string, elements otherwise) of a `wholeReadCommand` reply; a nil is 0. */
export function wholeReplyLength(type: string, reply: Reply): number {
  if (reply === null) return 0
  if (type === 'string') return buf(reply).length
  const items = reply as Reply[]
  return type === 'hash' || type === 'zset' ? items.length / 2 : items.length
}

/** Two replies of `wholeValueRead`'s command compared; the first difference in words. */
export function compareWholeReplies(type: string, s: Reply, t: Reply): ValueMismatch | undefined {
  switch (type) {
    case 'string': {
      const sb = buf(s)
      const tb = buf(t)
      if (sb.equals(tb)) return undefined
      return { detail: `string values differ${firstByteDiff(sb, tb, 0)}`, sourceValue: sb, targetValue: tb }
    }
    case 'list':
      return compareListPage(s as Reply[], t as Reply[], 0)
    case 'hash':
      return compareMaps('field', pairs(s), pairs(t))
    case 'set':
      return compareSetMembers(s as Reply[], t as Reply[])
    case 'zset':
      // Scores are numbers each server prints its own way: compared as doubles.
      return compareMaps('member', pairs(s), pairs(t), sameScore)
    default:
      throw new Error(`no whole-value comparison for ${type}`)
  }
}

function firstByteDiff(a: Buffer, b: Buffer, base: number): string {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return ` from byte ${base + i}`
  return a.length === b.length ? '' : ` in length (${a.length} vs ${b.length} bytes)`
}

async function compareList(
  e: Endpoints,
  key: Buffer,
  length: number,
  chunk: number,
): Promise<ValueMismatch | undefined> {
  for (let at = 0; at < length; at += chunk) {
    const [s, t] = (await both(e, key, ['LRANGE', key, at, at + chunk - 1])) as [Reply[], Reply[]]
    const mismatch = compareListPage(s, t, at)
    if (mismatch) return mismatch
  }
  return undefined
}

function compareListPage(s: Reply[], t: Reply[], at: number): ValueMismatch | undefined {
  const n = Math.max(s.length, t.length)
  for (let i = 0; i < n; i++) {
    const a = s[i] === undefined ? undefined : buf(s[i])
    const b = t[i] === undefined ? undefined : buf(t[i])
    if (!a || !b || !a.equals(b))
      return { detail: `list element ${at + i} differs`, sourceValue: a, targetValue: b }
  }
  return undefined
}

/**
 * Sets compared as sets (each side in its own order), by member bytes. One pass: each source
 * member is taken out of the target's set, and what is left is missing in the source. A member
 * not there (or a reply repeating one) falls back to looking each side up in the other, so the
 * difference named is the same.
 */
function compareSetMembers(s: Reply[], t: Reply[]): ValueMismatch | undefined {
  const left = new Set<string>()
  for (const m of t) left.add(asKey(buf(m)))
  let exact = left.size === t.length
  for (let i = 0; exact && i < s.length; i++) exact = left.delete(asKey(buf(s[i])))
  if (exact) {
    for (const k of left) return { detail: `set member ${quote(fromKey(k))} missing in source` }
    return undefined
  }
  const tset = new Set(t.map((m) => asKey(buf(m))))
  for (const m of s)
    if (!tset.has(asKey(buf(m)))) return { detail: `set member ${quote(buf(m))} missing in target` }
  const sset = new Set(s.map((m) => asKey(buf(m))))
  for (const m of t)
    if (!sset.has(asKey(buf(m)))) return { detail: `set member ${quote(buf(m))} missing in source` }
  return undefined
}

/**
 * Big hash, set or zset: walk the source with HSCAN/SSCAN/ZSCAN and look each chunk up on the
 * target (HMGET, SMISMEMBER, ZMSCORE). With equal lengths, every source element found equal on the
 * target means the target has nothing more. The next chunk is scanned while the previous one is
 * looked up: one round trip a chunk instead of two.
 */
async function compareScanned(
  e: Endpoints,
  key: Buffer,
  type: 'hash' | 'set' | 'zset',
  chunk: number,
): Promise<ValueMismatch | undefined> {
  const scan = { hash: 'HSCAN', set: 'SSCAN', zset: 'ZSCAN' }[type]
  let cursor: Buffer | string = '0'
  let previous: Promise<ValueMismatch | undefined> = Promise.resolve(undefined)
  try {
    do {
      const [next, items] = (await one(e.source, e.sourceDb, key, [scan, key, cursor, 'COUNT', chunk])) as [
        Buffer,
        Reply[],
      ]
      cursor = next
      const current = lookUpChunk(e, key, type, items)
      // A failed lookup is reported by the await that reaches it, never left unhandled meanwhile.
      current.catch(() => {})
      const mismatch = await previous
      previous = current
      if (mismatch) return mismatch
    } while (cursor.toString() !== '0')
    return await previous
  } finally {
    // Whatever ended the walk, the lookup in flight is not left unawaited.
    await previous.catch(() => undefined)
  }
}

/** One scanned chunk of a big hash, set or zset looked up on the target: the first difference. */
async function lookUpChunk(
  e: Endpoints,
  key: Buffer,
  type: 'hash' | 'set' | 'zset',
  items: Reply[],
): Promise<ValueMismatch | undefined> {
  if (type === 'set') {
    const members = items.map(buf)
    if (!members.length) return undefined
    const found = (await one(e.target, e.targetDb, key, ['SMISMEMBER', key, ...members])) as number[]
    const i = found.findIndex((f) => f !== 1)
    return i >= 0 ? { detail: `set member ${quote(members[i])} missing in target` } : undefined
  }
  const fields: Buffer[] = []
  const values: Buffer[] = []
  for (let i = 0; i + 1 < items.length; i += 2) {
    fields.push(buf(items[i]))
    values.push(buf(items[i + 1]))
  }
  if (!fields.length) return undefined
  const cmd = type === 'hash' ? 'HMGET' : 'ZMSCORE'
  const got = (await one(e.target, e.targetDb, key, [cmd, key, ...fields])) as Reply[]
  const what = type === 'hash' ? 'field' : 'member'
  for (let i = 0; i < fields.length; i++) {
    if (got[i] === null)
      return { detail: `${what} ${quote(fields[i])} missing in target`, sourceValue: values[i] }
    const t = buf(got[i])
    const same = type === 'hash' ? t.equals(values[i]) : sameScore(values[i], t)
    if (!same)
      return { detail: `${what} ${quote(fields[i])}: values differ`, sourceValue: values[i], targetValue: t }
  }
  return undefined
}

/** `ms-seq` as two integers (a stream id). */
function parseStreamId(id: string): [bigint, bigint] {
  const dash = id.indexOf('-')
  return dash < 0 ? [BigInt(id), 0n] : [BigInt(id.slice(0, dash)), BigInt(id.slice(dash + 1))]
}

/** Order of two stream ids: negative, 0 or positive. */
export function compareStreamIds(a: string, b: string): number {
  const [am, as] = parseStreamId(a)
  const [bm, bs] = parseStreamId(b)
  return am !== bm ? (am < bm ? -1 : 1) : as === bs ? 0 : as < bs ? -1 : 1
}

const MAX_SEQ = (1n << 64n) - 1n

/** The smallest id after `id`: where the next page of XRANGE / XPENDING starts (any server version). */
export function nextStreamId(id: string): string {
  const [ms, seq] = parseStreamId(id)
  return seq === MAX_SEQ ? `${ms + 1n}-0` : `${ms}-${seq + 1n}`
}

/** A flat [name, value, ...] reply (XINFO) as a map by name. */
function fieldsOf(reply: Reply): Map<string, Reply> {
  const items = Array.isArray(reply) ? reply : []
  const out = new Map<string, Reply>()
  for (let i = 0; i + 1 < items.length; i += 2) out.set(buf(items[i]).toString(), items[i + 1])
  return out
}

/** A server-formatted scalar (an id, a counter) as text; nil as `nil`; undefined when not given. */
const scalar = (r: Reply | undefined): string | undefined =>
  r === undefined ? undefined : r === null ? 'nil' : buf(r).toString()

/** Stream metadata compared when both servers report it (Redis 7.0+ and Valkey keep all three). */
const STREAM_FIELDS = ['last-generated-id', 'max-deleted-entry-id', 'entries-added']
/** Per consumer group: the delivery position, its counter, and how many entries and consumers it has. */
const GROUP_FIELDS = ['last-delivered-id', 'entries-read', 'pending', 'consumers']

/** The first of `fields` whose values differ between two XINFO maps, in words. */
function firstFieldDiff(what: string, fields: string[], s: Map<string, Reply>, t: Map<string, Reply>) {
  for (const f of fields) {
    const a = scalar(s.get(f))
    const b = scalar(t.get(f))
    // A field one server does not report (an older version) is not compared.
    if (a !== undefined && b !== undefined && a !== b)
      return { detail: `${what} ${f} ${a} in source, ${b} in target` }
  }
  return undefined
}

/**
 * A stream: its entries chunk by chunk by id; its last id, entries-added and max-deleted-entry-id;
 * each consumer group's last delivered id and entries-read; its consumers with their pending counts;
 * its pending entries (id, consumer, delivery count) page by page. Times (idle, seen, delivery
 * time) are not compared: they are the moment of each server's own events. Only stream keys pay
 * for this, and only when their DUMP payloads differ (or they are big).
 */
async function compareStream(e: Endpoints, key: Buffer, chunk: number): Promise<ValueMismatch | undefined> {
  let start = '-'
  for (;;) {
    const [s, t] = (await both(e, key, ['XRANGE', key, start, '+', 'COUNT', chunk])) as [Reply[], Reply[]]
    const n = Math.max(s.length, t.length)
    for (let i = 0; i < n; i++) {
      const a = s[i] as [Buffer, Reply[]] | undefined
      const b = t[i] as [Buffer, Reply[]] | undefined
      if (!a || !b || !buf(a[0]).equals(buf(b[0]))) {
        return {
          detail: `stream entry ${a ? buf(a[0]).toString() : buf(b![0]).toString()} ${a ? 'missing or different in target' : 'missing in source'}`,
        }
      }
      const af = a[1].map(buf)
      const bf = b[1].map(buf)
      if (af.length !== bf.length || af.some((x, j) => !x.equals(bf[j]))) {
        return { detail: `stream entry ${buf(a[0]).toString()}: fields differ` }
      }
    }
    if (s.length < chunk) break
    start = nextStreamId(buf((s[s.length - 1] as [Buffer])[0]).toString())
  }
  const [si, ti] = await both(e, key, ['XINFO', 'STREAM', key])
  const meta = firstFieldDiff('stream', STREAM_FIELDS, fieldsOf(si), fieldsOf(ti))
  if (meta) return meta

  const [sg, tg] = (await both(e, key, ['XINFO', 'GROUPS', key])) as [Reply[], Reply[]]
  const byName = (r: Reply[]) =>
    new Map(r.map((g) => [asKey(buf(fieldsOf(g).get('name') ?? null)), fieldsOf(g)]))
  const sGroups = byName(sg)
  const tGroups = byName(tg)
  for (const name of tGroups.keys())
    if (!sGroups.has(name))
      return { detail: `stream consumer group ${quote(fromKey(name))} missing in source` }
  for (const [name, sf] of sGroups) {
    const group = fromKey(name)
    const tf = tGroups.get(name)
    if (!tf) return { detail: `stream consumer group ${quote(group)} missing in target` }
    const diff = firstFieldDiff(`stream consumer group ${quote(group)}:`, GROUP_FIELDS, sf, tf)
    if (diff) return diff
    if (Number(sf.get('consumers') ?? 0) > 0) {
      const mismatch = await compareConsumers(e, key, group)
      if (mismatch) return mismatch
    }
    if (Number(sf.get('pending') ?? 0) > 0) {
      const mismatch = await comparePending(e, key, group, chunk)
      if (mismatch) return mismatch
    }
  }
  return undefined
}

/** A group's consumers by name, with their pending counts (idle times differ by nature). */
async function compareConsumers(
  e: Endpoints,
  key: Buffer,
  group: Buffer,
): Promise<ValueMismatch | undefined> {
  const [s, t] = (await both(e, key, ['XINFO', 'CONSUMERS', key, group])) as [Reply[], Reply[]]
  const consumers = (r: Reply[]) =>
    new Map(
      r.map((c) => fieldsOf(c)).map((f) => [asKey(buf(f.get('name') ?? null)), scalar(f.get('pending'))]),
    )
  const a = consumers(s)
  const b = consumers(t)
  for (const [name, pending] of a) {
    const where = `stream consumer group ${quote(group)}: consumer ${quote(fromKey(name))}`
    if (!b.has(name)) return { detail: `${where} missing in target` }
    if (b.get(name) !== pending)
      return { detail: `${where} has ${pending} pending entries in source, ${b.get(name)} in target` }
  }
  for (const name of b.keys())
    if (!a.has(name))
      return {
        detail: `stream consumer group ${quote(group)}: consumer ${quote(fromKey(name))} missing in source`,
      }
  return undefined
}

/** A group's pending entries in id order, page by page: id, owning consumer and delivery count. */
async function comparePending(
  e: Endpoints,
  key: Buffer,
  group: Buffer,
  chunk: number,
): Promise<ValueMismatch | undefined> {
  let start = '-'
  for (;;) {
    const [s, t] = (await both(e, key, ['XPENDING', key, group, start, '+', chunk])) as [Reply[][], Reply[][]]
    const n = Math.max(s.length, t.length)
    for (let i = 0; i < n; i++) {
      const a = s[i]
      const b = t[i]
      const where = `stream consumer group ${quote(group)}: pending entry`
      if (!a || !b || !buf(a[0]).equals(buf(b[0])))
        return {
          detail: `${where} ${buf((a ?? b)[0]).toString()} ${a ? 'missing or different in target' : 'missing in source'}`,
        }
      const id = buf(a[0]).toString()
      if (!buf(a[1]).equals(buf(b[1])))
        return {
          detail: `${where} ${id}: consumer ${quote(buf(a[1]))} in source, ${quote(buf(b[1]))} in target`,
        }
      if (scalar(a[3]) !== scalar(b[3]))
        return {
          detail: `${where} ${id}: delivered ${scalar(a[3])} times in source, ${scalar(b[3])} in target`,
        }
    }
    if (s.length < chunk) return undefined
    start = nextStreamId(buf(s[s.length - 1][0]).toString())
  }
}
