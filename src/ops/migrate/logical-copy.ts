import type { CommandArg } from '../../wire/encode.js'
import type { RawRespConnection } from '../../wire/connection.js'
import { RespError, type Reply } from '../../wire/reply-parser.js'
import { OperationError } from '../../errors.js'
import { classifyReply } from '../../wire/classify.js'
import { escapeBytes } from '../../data/escape.js'
import { compareStreamIds, nextStreamId } from '../verify/logical.js'
import { FULL_STREAM_SUPPORT, type StreamSupport } from './stream-support.js'

/**
 * `migrate run --mode logical`: values rebuilt with type commands instead of DUMP/RESTORE, for a
 * target that refuses the source's DUMP payloads (a newer RDB version). Small values are read
 * whole in one pipelined round; big ones chunk by chunk, written as they are read, so memory stays
 * bounded whatever a key's size. Each key is deleted on the target first (its old value goes), and
 * its expiry is set last.
 */

/** Elements (or bytes / CHUNK_BYTES for strings) above which a value is read in chunks. */
const LOGICAL_CHUNK = 1000
const CHUNK_BYTES = 1 << 20

interface KeyHead {
  key: Buffer
  /** 'none': the key is gone. */
  type: string
  /** PEXPIRETIME (absolute ms) or PTTL (ms from now); -1 none. */
  ttl: number
  length: number
}

const LENGTH: Record<string, string> = {
  string: 'STRLEN',
  list: 'LLEN',
  hash: 'HLEN',
  set: 'SCARD',
  zset: 'ZCARD',
  stream: 'XLEN',
}

/** A write for the target: the key's own commands, in order. May return a promise (backpressure). */
type Write = (key: Buffer, args: CommandArg[]) => Promise<void> | undefined

/**
 * A source reply that is not a value stops the copy: a refusal for good, or (a redirect, a node
 * loading or out of service) one the same command, run again, resumes past.
 */
function check(reply: Reply, what: string, from: string): Reply {
  if (!(reply instanceof RespError)) return reply
  const kind = classifyReply(reply)
  if (kind === 'redirect' || kind === 'retryable')
    throw new OperationError(`${what} on the source ${from} answered ${reply.message}`, {
      resumable: true,
      hint:
        kind === 'redirect'
          ? 'The source cluster changed (a failover or a slot moving): run the same command again; it resumes and reads each shard from its current primary.'
          : 'Run the same command again once the source node answers normally: it resumes.',
    })
  throw new OperationError(`${what} refused on the source ${from}: ${reply.message}`)
}

const bytes = (r: Reply): Buffer => (Buffer.isBuffer(r) ? r : Buffer.from(String(r)))

/** TYPE, the expiry and the length of every key: two pipelined rounds. */
export async function readHeads(
  conn: RawRespConnection,
  keys: Buffer[],
  absoluteTtl: boolean,
  from: string,
): Promise<KeyHead[]> {
  const ttlCmd = absoluteTtl ? 'PEXPIRETIME' : 'PTTL'
  const first = await conn.pipeline(
    keys.flatMap((k) => [
      ['TYPE', k],
      [ttlCmd, k],
    ]),
  )
  const heads = keys.map((key, i) => ({
    key,
    type: String(check(first[2 * i], 'TYPE', from)),
    ttl: Number(check(first[2 * i + 1], ttlCmd, from)),
    length: 0,
  }))
  const known = heads.filter((h) => LENGTH[h.type])
  const unknown = heads.find((h) => h.type !== 'none' && !LENGTH[h.type])
  if (unknown)
    throw new OperationError(`key of type '${unknown.type}' cannot be copied logically (a module type)`, {
      hint: 'Load the module on the target and use --mode dump, or leave those keys out.',
    })
  const lengths = await conn.pipeline(known.map((h) => [LENGTH[h.type], h.key]))
  known.forEach((h, i) => (h.length = Number(check(lengths[i], LENGTH[h.type], from))))
  return heads
}

/** Commands that read a small value whole, by type. */
function wholeRead(h: KeyHead): CommandArg[][] {
  switch (h.type) {
    case 'string':
      return [['GET', h.key]]
    case 'list':
      return [['LRANGE', h.key, 0, -1]]
    case 'hash':
      return [['HGETALL', h.key]]
    case 'set':
      return [['SMEMBERS', h.key]]
    case 'zset':
      return [['ZRANGE', h.key, 0, -1, 'WITHSCORES']]
    default:
      return []
  }
}

function isSmall(h: KeyHead): boolean {
  if (h.type === 'stream') return false
  return h.type === 'string' ? h.length <= CHUNK_BYTES : h.length <= LOGICAL_CHUNK
}

/** The write commands for one chunk of elements. */
function writeFor(type: string, key: Buffer, items: Reply[]): CommandArg[] | undefined {
  if (!items.length) return undefined
  const b = items.map(bytes)
  switch (type) {
    case 'list':
      return ['RPUSH', key, ...b]
    case 'hash':
      return ['HSET', key, ...b]
    case 'set':
      return ['SADD', key, ...b]
    case 'zset': {
      // WITHSCORES gives member, score pairs; ZADD takes score, member.
      const args: CommandArg[] = ['ZADD', key]
      for (let i = 0; i + 1 < b.length; i += 2) args.push(b[i + 1], b[i])
      return args
    }
    default:
      return undefined
  }
}

async function drain(writes: (Promise<void> | undefined)[]): Promise<void> {
  for (const w of writes) if (w) await w
}

/**
 * Copy a batch of keys (heads read): small values read in one round, big ones chunked; then the
 * expiry. Keys whose type changed or that vanished between the reads are read again by the caller's
 * live loop (they were changed: a notification is on its way) or left as they are (bulk copy).
 */
export async function copyLogical(
  conn: RawRespConnection,
  heads: KeyHead[],
  absoluteTtl: boolean,
  write: Write,
  from: string,
  options: LogicalOptions = {},
): Promise<{ copied: number; gone: number; bytes: number; changed: Buffer[] }> {
  let bytesCopied = 0
  const present = heads.filter((h) => h.type !== 'none')
  const small = present.filter(isSmall)
  const replies = await conn.pipeline(small.flatMap(wholeRead))
  const pending: (Promise<void> | undefined)[] = []
  // A read refused (WRONGTYPE): the key changed type since TYPE; the caller reads it again.
  const changed: Buffer[] = []
  small.forEach((h, i) => {
    const r = replies[i]
    if (r instanceof RespError) {
      // WRONGTYPE: the key changed type since TYPE was read; anything else stops the copy.
      if (r.prefix === 'WRONGTYPE') return void changed.push(h.key)
      check(r, wholeRead(h)[0][0] as string, from)
    }
    pending.push(write(h.key, ['DEL', h.key]))
    if (h.type === 'string') {
      if (r === null) return
      bytesCopied += (r as Buffer).length
      pending.push(write(h.key, ['SET', h.key, r as Buffer]))
    } else {
      const items = r as Reply[]
      bytesCopied += items.reduce((n: number, x) => n + bytes(x).length, 0)
      const cmd = writeFor(h.type, h.key, items)
      if (cmd) pending.push(write(h.key, cmd))
    }
    pending.push(expiry(h, absoluteTtl, write))
  })
  await drain(pending)
  for (const h of present.filter((x) => !isSmall(x))) {
    try {
      bytesCopied += await copyBig(conn, h, write, from, options)
      await drain([expiry(h, absoluteTtl, write)])
    } catch (err) {
      // Changed while read: another type now, or a stream (or one of its groups) deleted meanwhile.
      if (!(err instanceof OperationError && /WRONGTYPE|NOGROUP|ERR no such key/.test(err.message))) throw err
      // What was written of it goes; the caller reads it again (and copies it if it is still there).
      await drain([write(h.key, ['DEL', h.key])])
      changed.push(h.key)
    }
  }
  return {
    copied: present.length - changed.length,
    gone: heads.length - present.length,
    bytes: bytesCopied,
    changed,
  }
}

function expiry(h: KeyHead, absoluteTtl: boolean, write: Write): Promise<void> | undefined {
  if (h.ttl < 0) return undefined
  return write(h.key, absoluteTtl ? ['PEXPIREAT', h.key, h.ttl] : ['PEXPIRE', h.key, Math.max(1, h.ttl)])
}

/** A big value chunk by chunk, each chunk written before the next is read. */
async function copyBig(
  conn: RawRespConnection,
  h: KeyHead,
  write: Write,
  from: string,
  options: LogicalOptions,
): Promise<number> {
  let copied = 0
  await drain([write(h.key, ['DEL', h.key])])
  const call = async (args: CommandArg[]) => check(await conn.call(args), String(args[0]), from)
  switch (h.type) {
    case 'string':
      for (let at = 0; at < h.length; at += CHUNK_BYTES) {
        const part = (await call(['GETRANGE', h.key, at, Math.min(h.length, at + CHUNK_BYTES) - 1])) as Buffer
        copied += part.length
        await drain([write(h.key, [at === 0 ? 'SET' : 'APPEND', h.key, part])])
      }
      return copied
    case 'list':
      for (let at = 0; at < h.length; at += LOGICAL_CHUNK) {
        const items = (await call(['LRANGE', h.key, at, at + LOGICAL_CHUNK - 1])) as Reply[]
        const cmd = writeFor('list', h.key, items)
        if (cmd) await drain([write(h.key, cmd)])
        copied += items.reduce((n: number, x) => n + bytes(x).length, 0)
      }
      return copied
    case 'hash':
    case 'set':
    case 'zset': {
      const scan = { hash: 'HSCAN', set: 'SSCAN', zset: 'ZSCAN' }[h.type]
      let cursor = '0'
      do {
        const [next, items] = (await call([scan, h.key, cursor, 'COUNT', LOGICAL_CHUNK])) as [Buffer, Reply[]]
        cursor = next.toString()
        const cmd = writeFor(h.type, h.key, items)
        if (cmd) await drain([write(h.key, cmd)])
        copied += items.reduce((n: number, x) => n + bytes(x).length, 0)
      } while (cursor !== '0')
      return copied
    }
    case 'stream':
      return copyStream(conn, h, write, call, from, options)
    default:
      return copied
  }
}

interface LogicalOptions {
  streams?: StreamSupport
  /** Something of a value the target cannot hold (an older version): said, the copy goes on. */
  warn?: (message: string) => void
}

/** A flat [name, value, ...] reply (XINFO) as a map by name. */
function fieldsOf(reply: Reply | undefined): Map<string, Reply> {
  const items = Array.isArray(reply) ? reply : []
  const out = new Map<string, Reply>()
  for (let i = 0; i + 1 < items.length; i += 2) out.set(bytes(items[i]).toString(), items[i + 1])
  return out
}

const idText = (r: Reply) => bytes(r).toString()
/** A counter reply that may be nil (unknown) or absent (an older source). */
const counter = (r: Reply | undefined) => (r === undefined || r === null ? undefined : idText(r))

/**
 * Pending entries whose stream entry is gone (deleted or trimmed after delivery), over every group.
 * XCLAIM ... FORCE creates a pending entry only for an entry the stream holds, so these are written
 * as placeholder entries, claimed, then removed. Kept in memory: only the gone ones, not the PELs.
 */
async function gonePending(
  conn: RawRespConnection,
  key: Buffer,
  groups: Reply[],
  call: (args: CommandArg[]) => Promise<Reply>,
  from: string,
): Promise<string[]> {
  const gone = new Set<string>()
  for (const g of groups) {
    const f = fieldsOf(g)
    if (!(Number(f.get('pending') ?? 0) > 0)) continue
    const name = bytes(f.get('name')!)
    let start = '-'
    for (;;) {
      const page = (await call(['XPENDING', key, name, start, '+', LOGICAL_CHUNK])) as Reply[][]
      const ids = page.map((p) => idText(p[0])).filter((id) => !gone.has(id))
      if (ids.length) {
        const found = await conn.pipeline(ids.map((id) => ['XRANGE', key, id, id]))
        found.forEach((r, i) => {
          if ((check(r, 'XRANGE', from) as Reply[]).length === 0) gone.add(ids[i])
        })
      }
      if (page.length < LOGICAL_CHUNK) break
      start = nextStreamId(idText(page[page.length - 1][0]))
    }
  }
  return [...gone].sort(compareStreamIds)
}

/**
 * A stream as it is on the source: entries with their ids; each consumer group at its last
 * delivered id with its entries-read; its consumers, those with nothing pending included; every
 * pending entry with its consumer, idle time and delivery count (XCLAIM ... IDLE ... RETRYCOUNT ...
 * FORCE JUSTID), those whose entry is gone included (through placeholders, removed after); then
 * the last id, entries-added and max-deleted-entry-id (XSETID). What an older target cannot set
 * is said (`warn`), and the copy goes on.
 */
async function copyStream(
  conn: RawRespConnection,
  h: KeyHead,
  write: Write,
  call: (args: CommandArg[]) => Promise<Reply>,
  from: string,
  o: LogicalOptions,
): Promise<number> {
  const gone = await gonePending(conn, h.key, (await call(['XINFO', 'GROUPS', h.key])) as Reply[], call, from)
  const stream = new StreamCopy(h.key, write, call, o.streams ?? FULL_STREAM_SUPPORT)
  const { copied, first } = await stream.entries(gone)
  const info = fieldsOf(await call(['XINFO', 'STREAM', h.key]))
  if (first === undefined && !gone.length) await stream.createEmpty()
  // Groups as they are now (after the entries: their positions are not behind what was copied).
  for (const g of (await call(['XINFO', 'GROUPS', h.key])) as Reply[]) await stream.group(fieldsOf(g))
  if (gone.length) await stream.removePlaceholders(gone, first)
  await stream.lastIdAndCounters(info)
  if (stream.lost.size)
    o.warn?.(
      `stream "${escapeBytes(h.key)}": the target cannot set its ${[...stream.lost].join(', ')} (an older server version): it keeps values of its own`,
    )
  return copied
}

/** One stream's copy, phase by phase; `lost` collects what the target could not be given. */
class StreamCopy {
  readonly lost = new Set<string>()

  constructor(
    private readonly key: Buffer,
    private readonly write: Write,
    private readonly call: (args: CommandArg[]) => Promise<Reply>,
    private readonly support: StreamSupport,
  ) {}

  /**
   * Entries, with placeholders for the `gone` pending ids merged in id order (XADD takes increasing
   * ids only). Returns the bytes copied and the first entry's id (undefined: the stream is empty).
   */
  async entries(gone: string[]): Promise<{ copied: number; first: string | undefined }> {
    const key = this.key
    let copied = 0
    let start = '-'
    let next = 0
    let first: string | undefined
    const placeholder = (id: string) =>
      this.write(key, ['XADD', key, id, 'kvtop', 'pending entry placeholder'])
    for (;;) {
      const entries = (await this.call(['XRANGE', key, start, '+', 'COUNT', LOGICAL_CHUNK])) as [
        Buffer,
        Reply[],
      ][]
      const writes: (Promise<void> | undefined)[] = []
      for (const [id, fields] of entries) {
        const sid = idText(id)
        while (next < gone.length && compareStreamIds(gone[next], sid) < 0)
          writes.push(placeholder(gone[next++]))
        if (next < gone.length && gone[next] === sid) next++ // there after all: no placeholder
        first ??= sid
        copied += fields.reduce((n: number, x) => n + bytes(x).length, 0)
        writes.push(this.write(key, ['XADD', key, id, ...fields.map(bytes)]))
      }
      await drain(writes)
      if (entries.length < LOGICAL_CHUNK) break
      start = nextStreamId(idText(entries[entries.length - 1][0]))
    }
    await drain(gone.slice(next).map(placeholder))
    return { copied, first }
  }

  /** An empty stream still exists (and keeps its last id): created empty, without an entry. */
  async createEmpty(): Promise<void> {
    const scratch = '__kvtop_mkstream__'
    await drain([
      this.write(this.key, ['XGROUP', 'CREATE', this.key, scratch, '0', 'MKSTREAM']),
      this.write(this.key, ['XGROUP', 'DESTROY', this.key, scratch]),
    ])
  }

  /** A group at its last delivered id, its consumers, then its pending entries. */
  async group(g: Map<string, Reply>): Promise<void> {
    const key = this.key
    const name = bytes(g.get('name')!)
    const entriesRead = counter(g.get('entries-read'))
    if (entriesRead !== undefined && !this.support.metadata) this.lost.add('entries-read')
    await drain([
      this.write(key, [
        'XGROUP',
        'CREATE',
        key,
        name,
        bytes(g.get('last-delivered-id') ?? '0-0'),
        ...(entriesRead !== undefined && this.support.metadata ? ['ENTRIESREAD', entriesRead] : []),
      ]),
    ])
    if (Number(g.get('consumers') ?? 0) > 0) await this.consumers(name)
    if (Number(g.get('pending') ?? 0) > 0) await this.pendingEntries(name)
  }

  /** Every consumer, those with nothing pending too (XCLAIM creates only the others). */
  private async consumers(group: Buffer): Promise<void> {
    const consumers = ((await this.call(['XINFO', 'CONSUMERS', this.key, group])) as Reply[]).map((c) =>
      fieldsOf(c),
    )
    if (this.support.createConsumer)
      await drain(
        consumers.map((c) =>
          this.write(this.key, ['XGROUP', 'CREATECONSUMER', this.key, group, bytes(c.get('name')!)]),
        ),
      )
    else if (consumers.some((c) => !(Number(c.get('pending') ?? 0) > 0)))
      this.lost.add('consumers with nothing pending')
  }

  /** [id, consumer, idle ms, deliveries] pages: each entry claimed as it is, idle time and count kept. */
  private async pendingEntries(group: Buffer): Promise<void> {
    const key = this.key
    let at = '-'
    for (;;) {
      const page = (await this.call(['XPENDING', key, group, at, '+', LOGICAL_CHUNK])) as Reply[][]
      await drain(
        page.map(([id, consumer, idleMs, deliveries]) =>
          this.write(key, [
            'XCLAIM',
            key,
            group,
            bytes(consumer),
            0,
            bytes(id),
            'IDLE',
            idText(idleMs),
            'RETRYCOUNT',
            idText(deliveries),
            'FORCE',
            'JUSTID',
          ]),
        ),
      )
      if (page.length < LOGICAL_CHUNK) break
      at = nextStreamId(idText(page[page.length - 1][0]))
    }
  }

  /** The placeholders go: trimmed from the head (which moves no max-deleted-entry-id), deleted after it. */
  async removePlaceholders(gone: string[], first: string | undefined): Promise<void> {
    const key = this.key
    const head = first === undefined ? gone : gone.filter((id) => compareStreamIds(id, first) < 0)
    const rest = gone.slice(head.length)
    const writes: (Promise<void> | undefined)[] = []
    if (first === undefined) writes.push(this.write(key, ['XTRIM', key, 'MAXLEN', 0]))
    else if (head.length && this.support.createConsumer)
      writes.push(this.write(key, ['XTRIM', key, 'MINID', first]))
    else if (head.length) rest.unshift(...head)
    for (let i = 0; i < rest.length; i += LOGICAL_CHUNK)
      writes.push(this.write(key, ['XDEL', key, ...rest.slice(i, i + LOGICAL_CHUNK)]))
    await drain(writes)
  }

  /** Last: the last id, and the counters only XSETID can set (entries-added never below the length). */
  async lastIdAndCounters(info: Map<string, Reply>): Promise<void> {
    const lastId = bytes(info.get('last-generated-id') ?? '0-0')
    const added = counter(info.get('entries-added'))
    const maxDeleted = counter(info.get('max-deleted-entry-id'))
    const meta: CommandArg[] = []
    if (this.support.metadata) {
      if (added !== undefined) meta.push('ENTRIESADDED', added)
      if (maxDeleted !== undefined && maxDeleted !== '0-0') meta.push('MAXDELETEDID', maxDeleted)
    } else if (added !== undefined) {
      // Said first: the stream's own counters before its groups'.
      const groupsLost = [...this.lost]
      this.lost.clear()
      for (const what of ['entries-added', 'max-deleted-entry-id', ...groupsLost]) this.lost.add(what)
    }
    if (meta.length || lastId.toString() !== '0-0')
      await drain([this.write(this.key, ['XSETID', this.key, lastId, ...meta])])
  }
}
