import type { CommandArg } from '../../wire/encode.js'
import type { RawRespConnection } from '../../wire/connection.js'
import { RespError, type Reply } from '../../wire/reply-parser.js'
import { OperationError } from '../../errors.js'
import { classifyReply } from '../../wire/classify.js'

/**
 * `migrate run --mode logical`: values rebuilt with type commands instead of DUMP/RESTORE, for a
 * target that refuses the source's DUMP payloads (a newer RDB version). Small values are read
 * whole in one pipelined round; big ones chunk by chunk, written as they are read, so memory stays
 * bounded whatever a key's size. Each key is deleted on the target first (its old value goes), and
 * its expiry is set last.
 */

/** Elements (or bytes / CHUNK_BYTES for strings) above which a value is read in chunks. */
export const LOGICAL_CHUNK = 1000
const CHUNK_BYTES = 1 << 20

export interface KeyHead {
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
export type Write = (key: Buffer, args: CommandArg[]) => Promise<void> | undefined

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
      bytesCopied += await copyBig(conn, h, write, from)
      await drain([expiry(h, absoluteTtl, write)])
    } catch (err) {
      if (!(err instanceof OperationError && /WRONGTYPE/.test(err.message))) throw err
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
async function copyBig(conn: RawRespConnection, h: KeyHead, write: Write, from: string): Promise<number> {
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
      return copyStream(conn, h, write, call)
    default:
      return copied
  }
}

/** Entries with their ids, the last generated id, and the consumer groups (pending entries cannot be rebuilt). */
async function copyStream(
  conn: RawRespConnection,
  h: KeyHead,
  write: Write,
  call: (args: CommandArg[]) => Promise<Reply>,
): Promise<number> {
  let copied = 0
  let start = '-'
  for (;;) {
    const entries = (await call(['XRANGE', h.key, start, '+', 'COUNT', LOGICAL_CHUNK])) as [Buffer, Reply[]][]
    const writes = entries.map(([id, fields]) => {
      copied += fields.reduce((n: number, x) => n + bytes(x).length, 0)
      return write(h.key, ['XADD', h.key, id, ...fields.map(bytes)])
    })
    await drain(writes)
    if (entries.length < LOGICAL_CHUNK) break
    start = `(${entries[entries.length - 1][0].toString()}`
  }
  const info = (await call(['XINFO', 'STREAM', h.key])) as Reply[]
  const field = (list: Reply[], name: string) => {
    for (let i = 0; i + 1 < list.length; i += 2) if (bytes(list[i]).toString() === name) return list[i + 1]
    return undefined
  }
  const lastId = bytes(field(info, 'last-generated-id') ?? '0-0')
  if (h.length === 0) {
    // An empty stream still exists (and keeps its last id): create it and trim it to nothing.
    await drain([write(h.key, ['XADD', h.key, 'MAXLEN', 0, lastId, 'kvtop', 'empty'])])
  } else await drain([write(h.key, ['XSETID', h.key, lastId])])
  const groups = (await call(['XINFO', 'GROUPS', h.key])) as Reply[][]
  for (const g of groups) {
    const name = bytes(field(g, 'name')!)
    const last = bytes(field(g, 'last-delivered-id') ?? '0-0')
    await drain([write(h.key, ['XGROUP', 'CREATE', h.key, name, last])])
  }
  return copied
}

/** Streams whose consumer groups have pending entries: a logical copy cannot rebuild those. */
export async function pendingGroups(conn: RawRespConnection, heads: KeyHead[]): Promise<Buffer[]> {
  const streams = heads.filter((h) => h.type === 'stream')
  if (!streams.length) return []
  const replies = await conn.pipeline(streams.map((h) => ['XINFO', 'GROUPS', h.key]))
  return streams
    .filter((_, i) => {
      const groups = replies[i]
      if (!Array.isArray(groups)) return false
      return (groups as Reply[][]).some((g) => {
        for (let j = 0; j + 1 < g.length; j += 2)
          if (bytes(g[j]).toString() === 'pending') return Number(g[j + 1]) > 0
        return false
      })
    })
    .map((h) => h.key)
}
