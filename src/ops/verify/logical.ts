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

/** The command that counts a value's elements (bytes for strings), by TYPE. */
export function lengthCommand(type: string): string | undefined {
  return { string: 'STRLEN', list: 'LLEN', hash: 'HLEN', set: 'SCARD', zset: 'ZCARD', stream: 'XLEN' }[type]
}

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
const hex = (b: Buffer) => b.toString('hex')
const quote = (b: Buffer) =>
  `"${escapeBytes(b.length > 64 ? b.subarray(0, 64) : b)}${b.length > 64 ? '...' : ''}"`

/** Pairs [a, b, a, b ...] -> Map(hex(a) -> b). */
function pairs(reply: Reply): Map<string, Buffer> {
  const items = reply as Reply[]
  const out = new Map<string, Buffer>()
  for (let i = 0; i + 1 < items.length; i += 2) out.set(hex(buf(items[i])), buf(items[i + 1]))
  return out
}

/** Compare two field -> value maps; the first difference in words. */
function compareMaps(
  what: string,
  s: Map<string, Buffer>,
  t: Map<string, Buffer>,
): ValueMismatch | undefined {
  for (const [k, v] of s) {
    const field = Buffer.from(k, 'hex')
    const other = t.get(k)
    if (other === undefined) return { detail: `${what} ${quote(field)} missing in target`, sourceValue: v }
    if (!v.equals(other))
      return { detail: `${what} ${quote(field)}: values differ`, sourceValue: v, targetValue: other }
  }
  for (const [k, v] of t) {
    if (!s.has(k))
      return { detail: `${what} ${quote(Buffer.from(k, 'hex'))} missing in source`, targetValue: v }
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
  switch (type) {
    case 'string':
      return compareString(e, key, length)
    case 'list':
      return compareList(e, key, length, chunk)
    case 'hash':
      return length <= chunk
        ? compareWhole(e, key, ['HGETALL', key], 'field')
        : compareScanned(e, key, 'hash', chunk)
    case 'set':
      return length <= chunk ? compareSetWhole(e, key) : compareScanned(e, key, 'set', chunk)
    case 'zset':
      return length <= chunk
        ? compareWhole(e, key, ['ZRANGE', key, 0, -1, 'WITHSCORES'], 'member')
        : compareScanned(e, key, 'zset', chunk)
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
    const sb = buf(s)
    const tb = buf(t)
    if (sb.equals(tb)) return undefined
    return { detail: `string values differ${firstByteDiff(sb, tb, 0)}`, sourceValue: sb, targetValue: tb }
  }
  for (let at = 0; at < length; at += STRING_CHUNK) {
    const [s, t] = await both(e, key, ['GETRANGE', key, at, at + STRING_CHUNK - 1])
    const sb = buf(s)
    const tb = buf(t)
    if (!sb.equals(tb)) return { detail: `string values differ${firstByteDiff(sb, tb, at)}` }
  }
  return undefined
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
    const n = Math.max(s.length, t.length)
    for (let i = 0; i < n; i++) {
      const a = s[i] === undefined ? undefined : buf(s[i])
      const b = t[i] === undefined ? undefined : buf(t[i])
      if (!a || !b || !a.equals(b)) {
        return { detail: `list element ${at + i} differs`, sourceValue: a, targetValue: b }
      }
    }
  }
  return undefined
}

async function compareWhole(
  e: Endpoints,
  key: Buffer,
  cmd: CommandArg[],
  what: string,
): Promise<ValueMismatch | undefined> {
  const [s, t] = await both(e, key, cmd)
  return compareMaps(what, pairs(s), pairs(t))
}

async function compareSetWhole(e: Endpoints, key: Buffer): Promise<ValueMismatch | undefined> {
  const [s, t] = (await both(e, key, ['SMEMBERS', key])) as [Reply[], Reply[]]
  const tset = new Set(t.map((m) => hex(buf(m))))
  for (const m of s)
    if (!tset.has(hex(buf(m)))) return { detail: `set member ${quote(buf(m))} missing in target` }
  const sset = new Set(s.map((m) => hex(buf(m))))
  for (const m of t)
    if (!sset.has(hex(buf(m)))) return { detail: `set member ${quote(buf(m))} missing in source` }
  return undefined
}

/**
 * Big hash, set or zset: walk the source with HSCAN/SSCAN/ZSCAN and look each chunk up on the
 * target (HMGET, SMISMEMBER, ZMSCORE). With equal lengths, every source element found equal on the
 * target means the target has nothing more.
 */
async function compareScanned(
  e: Endpoints,
  key: Buffer,
  type: 'hash' | 'set' | 'zset',
  chunk: number,
): Promise<ValueMismatch | undefined> {
  const scan = { hash: 'HSCAN', set: 'SSCAN', zset: 'ZSCAN' }[type]
  let cursor: Buffer | string = '0'
  do {
    const [next, items] = (await one(e.source, e.sourceDb, key, [scan, key, cursor, 'COUNT', chunk])) as [
      Buffer,
      Reply[],
    ]
    cursor = next
    if (type === 'set') {
      const members = items.map(buf)
      if (!members.length) continue
      const found = (await one(e.target, e.targetDb, key, ['SMISMEMBER', key, ...members])) as number[]
      const i = found.findIndex((f) => f !== 1)
      if (i >= 0) return { detail: `set member ${quote(members[i])} missing in target` }
    } else {
      const fields: Buffer[] = []
      const values: Buffer[] = []
      for (let i = 0; i + 1 < items.length; i += 2) {
        fields.push(buf(items[i]))
        values.push(buf(items[i + 1]))
      }
      if (!fields.length) continue
      const cmd = type === 'hash' ? 'HMGET' : 'ZMSCORE'
      const got = (await one(e.target, e.targetDb, key, [cmd, key, ...fields])) as Reply[]
      for (let i = 0; i < fields.length; i++) {
        const what = type === 'hash' ? 'field' : 'member'
        if (got[i] === null)
          return { detail: `${what} ${quote(fields[i])} missing in target`, sourceValue: values[i] }
        const t = buf(got[i])
        const same =
          type === 'hash' ? t.equals(values[i]) : Number(t.toString()) === Number(values[i].toString())
        if (!same)
          return {
            detail: `${what} ${quote(fields[i])}: values differ`,
            sourceValue: values[i],
            targetValue: t,
          }
      }
    }
  } while (cursor.toString() !== '0')
  return undefined
}

/** Entries chunk by chunk by id, then the consumer groups (name, last delivered id, pending). */
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
    start = `(${buf((s[s.length - 1] as [Buffer])[0]).toString()}`
  }
  const [sg, tg] = (await both(e, key, ['XINFO', 'GROUPS', key])) as [Reply[], Reply[]]
  const groups = (r: Reply[]) =>
    r
      .map((g) => {
        const m = pairs(g)
        const field = (name: string) => m.get(hex(Buffer.from(name)))?.toString() ?? ''
        return `${field('name')} last=${field('last-delivered-id')} pending=${field('pending')}`
      })
      .sort()
      .join('; ')
  const a = groups(sg)
  const b = groups(tg)
  return a === b ? undefined : { detail: `stream consumer groups differ (${a || 'none'} vs ${b || 'none'})` }
}
