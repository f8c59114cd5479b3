import { typeInfo, type RdbDialect } from './constants.js'
import { streamEntries, type StreamEntry } from './stream-entries.js'
import { decodeValue, type DecodedValue } from './value.js'

/**
 * Rebuild RDB values with ordinary write commands, for a server that cannot read the value's DUMP
 * payload (an older RDB version: Valkey 8 or Redis 7.2 sets and streams into Redis 7.0, ...).
 *
 * The commands recreate what a client reads back: strings (SET, APPEND past the chunk size), lists
 * (RPUSH in order), sets (SADD), hashes (HSET, field TTLs with HPEXPIREAT), sorted sets (ZADD, every
 * score written as the shortest text that parses back to the same double), streams (XADD of every
 * live entry with its id, XSETID with the last id, ENTRIESADDED and MAXDELETEDID, XGROUP CREATE with
 * ENTRIESREAD, XGROUP CREATECONSUMER, and XCLAIM ... FORCE JUSTID with the delivery time and count
 * for each pending entry, through a placeholder entry removed afterwards when the pending entry's own
 * entry is gone), then PEXPIREAT for a key that expires. Elements go in chunks, so that no
 * command carries more than `maxElements` elements or about `maxBytes` bytes.
 *
 * Not carried over: the encoding the server picks (it chooses again from its own thresholds), LRU
 * and LFU figures, consumers' seen/active times (set to the time of the rebuild). Stream commands
 * need Redis 6.2 (XGROUP CREATECONSUMER, XTRIM MINID); with `legacyStreams` (before 7.0) the stream
 * counters (entries-added, max-deleted-entry-id, a group's entries-read) are the target's own.
 * Module values cannot be rebuilt with commands at all (RebuildError).
 */

const DEFAULT_MAX_ELEMENTS = 1000
const DEFAULT_MAX_BYTES = 1024 * 1024

interface RebuildOptions {
  /** Start with DEL key, so that the commands replace what the target holds (RESTORE ... REPLACE). */
  replace?: boolean
  /** Elements per command (default 1000). */
  maxElements?: number
  /** Bytes of arguments per command, about (default 1 MiB); one element larger than this goes alone. */
  maxBytes?: number
  /**
   * The target predates Redis 7.0 stream metadata: XSETID without ENTRIESADDED/MAXDELETEDID and
   * XGROUP CREATE without ENTRIESREAD (those counters are then the target's own).
   */
  legacyStreams?: boolean
}

/** A value that cannot be written with commands (a module value). */
export class RebuildError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'RebuildError'
  }
}

/** A stream with its entries, as `rebuildCommands` takes it. */
type StreamValue = Extract<DecodedValue, { kind: 'stream' }> & { entries: StreamEntry[] }

/** What `rebuildCommands` takes: a decoded value, with a stream's entries. */
type RebuildValue = Exclude<DecodedValue, { kind: 'stream' }> | StreamValue

/** One RDB key: what the reader gives (RdbEntry has all of these). */
interface RdbKeyRecord {
  key: Buffer
  rdbType: number
  /** The serialized value (the bytes after the type byte). */
  value: Buffer
  /** Absolute expire time, ms since the epoch. */
  expireAt?: number
}

/** Decode a record's value (and a stream's entries) into what `rebuildCommands` takes. */
export function decodeForRebuild(rdbType: number, value: Buffer, dialect: RdbDialect = 'oss'): RebuildValue {
  const decoded = decodeValue(rdbType, value, dialect)
  if (decoded.kind === 'stream') return { ...decoded, entries: streamEntries(rdbType, value) }
  return decoded
}

/** The write commands that recreate one RDB key (see the module comment). */
export function recordToCommands(
  record: RdbKeyRecord,
  dialect: RdbDialect = 'oss',
  options: RebuildOptions = {},
): Buffer[][] {
  const info = typeInfo(record.rdbType, dialect)
  if (info?.kind === 'module') {
    throw new RebuildError(
      `a module value (type ${record.rdbType}) cannot be rebuilt with commands: restore it with RESTORE into a server that has the module`,
    )
  }
  const value = decodeForRebuild(record.rdbType, record.value, dialect)
  return rebuildCommands(record.key, value, record.expireAt, options)
}

const b = (s: string) => Buffer.from(s, 'latin1')

/**
 * A score as text: the shortest decimal that reads back as the same double (what JavaScript's
 * number-to-string gives), with Redis's spelling of the infinities and the sign of -0 kept.
 */
export function formatScore(score: number): string {
  if (score === Infinity) return 'inf'
  if (score === -Infinity) return '-inf'
  if (Number.isNaN(score)) throw new RebuildError('a sorted set score is NaN')
  if (Object.is(score, -0)) return '-0'
  return String(score)
}

/** Chunks of arguments: at most `maxElements` groups of `width` and about `maxBytes` bytes each. */
function chunked(
  head: Buffer[],
  items: Buffer[],
  width: number,
  maxElements: number,
  maxBytes: number,
): Buffer[][] {
  const out: Buffer[][] = []
  const headBytes = head.reduce((n, a) => n + a.length, 0)
  let current: Buffer[] = [...head]
  let bytes = headBytes
  let elements = 0
  for (let i = 0; i < items.length; i += width) {
    let size = 0
    for (let j = 0; j < width; j++) size += items[i + j].length
    if (elements > 0 && (elements >= maxElements || bytes + size > maxBytes)) {
      out.push(current)
      current = [...head]
      bytes = headBytes
      elements = 0
    }
    for (let j = 0; j < width; j++) current.push(items[i + j])
    bytes += size
    elements++
  }
  if (elements > 0) out.push(current)
  return out
}

/** The write commands that recreate `key` holding `value` (see the module comment). */
export function rebuildCommands(
  key: Buffer,
  value: RebuildValue,
  expireAt?: number,
  options: RebuildOptions = {},
): Buffer[][] {
  const maxElements = Math.max(1, options.maxElements ?? DEFAULT_MAX_ELEMENTS)
  const maxBytes = Math.max(1, options.maxBytes ?? DEFAULT_MAX_BYTES)
  const out: Buffer[][] = []
  if (options.replace) out.push([b('DEL'), key])
  switch (value.kind) {
    case 'string': {
      const v = value.value
      out.push([b('SET'), key, v.subarray(0, maxBytes)])
      for (let at = maxBytes; at < v.length; at += maxBytes)
        out.push([b('APPEND'), key, v.subarray(at, at + maxBytes)])
      break
    }
    case 'list':
      out.push(...chunked([b('RPUSH'), key], value.items, 1, maxElements, maxBytes))
      break
    case 'set':
      out.push(...chunked([b('SADD'), key], value.members, 1, maxElements, maxBytes))
      break
    case 'zset': {
      const flat: Buffer[] = []
      for (const e of value.entries) flat.push(b(formatScore(e.score)), e.member)
      out.push(...chunked([b('ZADD'), key], flat, 2, maxElements, maxBytes))
      break
    }
    case 'hash': {
      const flat: Buffer[] = []
      for (const f of value.fields) flat.push(f.field, f.value)
      out.push(...chunked([b('HSET'), key], flat, 2, maxElements, maxBytes))
      const byTime = new Map<number, Buffer[]>()
      for (const f of value.fields) {
        if (f.expireAt === undefined) continue
        const list = byTime.get(f.expireAt) ?? []
        list.push(f.field)
        byTime.set(f.expireAt, list)
      }
      for (const [at, fields] of byTime) {
        for (const chunk of chunked([], fields, 1, maxElements, maxBytes))
          out.push([b('HPEXPIREAT'), key, b(String(at)), b('FIELDS'), b(String(chunk.length)), ...chunk])
      }
      break
    }
    case 'stream':
      out.push(...streamCommands(key, value, maxElements, options.legacyStreams ?? false))
      break
    case 'module':
      throw new RebuildError(
        `a module value (${value.module}) cannot be rebuilt with commands: restore it with RESTORE into a server that has the module`,
      )
  }
  if (expireAt !== undefined) out.push([b('PEXPIREAT'), key, b(String(expireAt))])
  return out
}

function parseId(id: string): [bigint, bigint] {
  const dash = id.indexOf('-')
  return [BigInt(id.slice(0, dash)), BigInt(id.slice(dash + 1))]
}

function compareIds(a: string, b: string): number {
  const [am, as] = parseId(a)
  const [bm, bs] = parseId(b)
  return am < bm ? -1 : am > bm ? 1 : as < bs ? -1 : as > bs ? 1 : 0
}

/** A group name kvtop uses for a moment to create an empty stream (never left behind). */
const SCRATCH_GROUP = '__kvtop_mkstream__'
const PLACEHOLDER = [b('kvtop'), b('pending entry placeholder')]

function streamCommands(key: Buffer, s: StreamValue, maxElements: number, legacy: boolean): Buffer[][] {
  // Pending entries whose stream entry is gone (deleted or trimmed after delivery): XCLAIM ... FORCE
  // claims only an entry the stream holds, so each gets a placeholder entry, removed after the claims.
  const live = new Set(s.entries.map((e) => e.id))
  const gone = [
    ...new Set(s.groups.flatMap((g) => g.pending.map((p) => p.id)).filter((id) => !live.has(id))),
  ].sort(compareIds)
  const out = entryCommands(key, s, gone)
  for (const g of s.groups) out.push(...groupCommands(key, g, maxElements, legacy))
  out.push(...placeholderRemoval(key, s, gone, maxElements))
  const setId = streamSetId(key, s, legacy)
  if (setId) out.push(setId)
  return out
}

/** XADD of every entry, the placeholders merged in id order; an empty stream made empty. */
function entryCommands(key: Buffer, s: StreamValue, gone: string[]): Buffer[][] {
  const out: Buffer[][] = []
  let next = 0
  for (const e of s.entries) {
    while (next < gone.length && compareIds(gone[next], e.id) < 0)
      out.push([b('XADD'), key, b(gone[next++]), ...PLACEHOLDER])
    out.push([b('XADD'), key, b(e.id), ...e.fields])
  }
  for (; next < gone.length; next++) out.push([b('XADD'), key, b(gone[next]), ...PLACEHOLDER])
  if (s.entries.length === 0 && gone.length === 0) {
    // An empty stream (every entry deleted, or made by XGROUP CREATE ... MKSTREAM) is made empty.
    out.push([b('XGROUP'), b('CREATE'), key, b(SCRATCH_GROUP), b('0'), b('MKSTREAM')])
    out.push([b('XGROUP'), b('DESTROY'), key, b(SCRATCH_GROUP)])
  }
  return out
}

type StreamGroup = StreamValue['groups'][number]

/** The group, its consumers, and each consumer's pending entries claimed back with their delivery state. */
function groupCommands(key: Buffer, g: StreamGroup, maxElements: number, legacy: boolean): Buffer[][] {
  const create = [b('XGROUP'), b('CREATE'), key, g.name, b(g.lastId)]
  if (!legacy && g.entriesRead !== undefined && g.entriesRead >= 0)
    create.push(b('ENTRIESREAD'), b(String(g.entriesRead)))
  const out = [create]
  const pel = new Map(g.pending.map((p) => [p.id, p]))
  for (const c of g.consumers) {
    out.push([b('XGROUP'), b('CREATECONSUMER'), key, g.name, c.name])
    // Pending entries with the same delivery time and count go in one XCLAIM.
    const batches = new Map<string, string[]>()
    for (const id of c.pending) {
      const p = pel.get(id)
      const k = `${p?.deliveryTime ?? 0}:${p?.deliveryCount ?? 1}`
      const list = batches.get(k) ?? []
      list.push(id)
      batches.set(k, list)
    }
    for (const [k, ids] of batches) {
      const [time, count] = k.split(':')
      for (let i = 0; i < ids.length; i += maxElements) {
        out.push([
          b('XCLAIM'),
          key,
          g.name,
          c.name,
          b('0'),
          ...ids.slice(i, i + maxElements).map(b),
          b('TIME'),
          b(time),
          b('RETRYCOUNT'),
          b(count),
          b('FORCE'),
          b('JUSTID'),
        ])
      }
    }
  }
  return out
}

/**
 * The placeholders go: those before the first live entry trimmed from the head (which moves no
 * max-deleted-entry-id), the others deleted (the source deleted them too, so its
 * max-deleted-entry-id covers them; XSETID sets it anyway).
 */
function placeholderRemoval(key: Buffer, s: StreamValue, gone: string[], maxElements: number): Buffer[][] {
  if (!gone.length) return []
  const out: Buffer[][] = []
  const first = s.entries[0]?.id
  if (first === undefined) out.push([b('XTRIM'), key, b('MAXLEN'), b('0')])
  const head = first === undefined ? gone : gone.filter((id) => compareIds(id, first) < 0)
  if (first !== undefined && head.length) out.push([b('XTRIM'), key, b('MINID'), b(first)])
  const rest = gone.slice(head.length)
  for (let i = 0; i < rest.length; i += maxElements)
    out.push([b('XDEL'), key, ...rest.slice(i, i + maxElements).map(b)])
  return out
}

/** Last: the last id and the counters only XSETID sets (entries-added never below the length). */
function streamSetId(key: Buffer, s: StreamValue, legacy: boolean): Buffer[] | undefined {
  const setId = [b('XSETID'), key, b(s.lastId)]
  if (!legacy && s.entriesAdded !== undefined) {
    setId.push(b('ENTRIESADDED'), b(String(s.entriesAdded)))
    if (s.maxDeletedId !== undefined && s.maxDeletedId !== '0-0')
      setId.push(b('MAXDELETEDID'), b(s.maxDeletedId))
  }
  return setId.length > 3 || s.lastId !== '0-0' ? setId : undefined
}

/**
 * A key on the same cluster slot as `key`, named `{tag}suffix`: its hash tag, or the whole key as
 * the tag. Undefined when no such name exists (an empty key, or one hashed whole that holds '}').
 */
export function sameSlotKey(key: Buffer, suffix: string): Buffer | undefined {
  const open = key.indexOf(0x7b)
  if (open >= 0) {
    const close = key.indexOf(0x7d, open + 1)
    if (close > open + 1)
      return Buffer.concat([b('{'), key.subarray(open + 1, close), b('}'), Buffer.from(suffix)])
  }
  if (key.length === 0 || key.includes(0x7d)) return undefined
  return Buffer.concat([b('{'), key, b('}'), Buffer.from(suffix)])
}

/** One key's rebuild as a MULTI ... EXEC block: all of it is applied, or none of it. */
interface RebuildTransaction {
  /** MULTI, the commands, EXEC. */
  commands: Buffer[][]
  /**
   * Index, in EXEC's reply, of the command whose integer reply says whether the key was there
   * already: RENAMENX (0: it was, nothing written) or EXISTS (1: it was, and the rebuild merged
   * into it). Undefined with `replace`.
   */
  existedAt?: number
  existedWhen?: 0 | 1
}

/**
 * The commands that rebuild a key, in one transaction, as RESTORE would write it:
 * - `replace`: DEL key, then the rebuild (RESTORE ... REPLACE);
 * - `tempKey` (same slot as the key): the rebuild into the temporary key, RENAMENX onto the key,
 *   DEL of the temporary key — an existing key is left as it is (RESTORE's BUSYKEY);
 * - neither: EXISTS key, then the rebuild (a key created meanwhile is merged into, and reported).
 */
export function rebuildTransaction(
  key: Buffer,
  value: RebuildValue,
  expireAt: number | undefined,
  options: RebuildOptions & { tempKey?: Buffer } = {},
): RebuildTransaction {
  const { tempKey, replace, ...rest } = options
  const multi = [b('MULTI')]
  const exec = [b('EXEC')]
  if (replace) {
    return { commands: [multi, ...rebuildCommands(key, value, expireAt, { ...rest, replace: true }), exec] }
  }
  if (tempKey) {
    const body = rebuildCommands(tempKey, value, expireAt, { ...rest, replace: true })
    return {
      commands: [multi, ...body, [b('RENAMENX'), tempKey, key], [b('DEL'), tempKey], exec],
      existedAt: body.length,
      existedWhen: 0,
    }
  }
  return {
    commands: [multi, [b('EXISTS'), key], ...rebuildCommands(key, value, expireAt, rest), exec],
    existedAt: 0,
    existedWhen: 1,
  }
}
