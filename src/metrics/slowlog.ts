import { replyText } from '../data/escape.js'
import { redactCommandArgs } from '../redact.js'

/**
 * SLOWLOG GET and (Valkey 8.1+) COMMANDLOG GET: parsing, incremental reading by entry id, merging
 * across nodes and grouping by command pattern.
 */

export type CommandLogType = 'slow' | 'large-request' | 'large-reply'
/** The COMMANDLOG types that log a size in bytes (`slow` logs a time and is SLOWLOG's log). */
export type LargeLogKind = Exclude<CommandLogType, 'slow'>
export const LARGE_LOG_KINDS: readonly LargeLogKind[] = ['large-request', 'large-reply']

/** One entry as the server returned it, arguments escaped the way redis-cli prints them. */
export interface RawLogEntry {
  id: number
  /** Epoch ms (the server records whole seconds). */
  at: number
  /** slow: execution time in microseconds; large-request / large-reply: bytes. */
  value: number
  /** Arguments, escaped; an argument cut by the server keeps its first 128 bytes (see truncatedArgs). */
  args: string[]
  /** The server kept 31 arguments and replaced the rest with "... (N more arguments)". */
  moreArguments?: number
  /** Arguments the server cut to 128 bytes: index in args and how many bytes were dropped. */
  truncatedArgs?: { index: number; moreBytes: number }[]
  client: string
  clientName?: string
}

const MORE_ARGS = /^\.\.\. \((\d+) more arguments\)$/
const MORE_BYTES = /\.\.\. \((\d+) more bytes\)$/
/** SLOWLOG_ENTRY_MAX_STRING in the server: arguments are cut to this many bytes. */
const MAX_STRING = 128

function asBuffer(v: unknown): Buffer {
  if (Buffer.isBuffer(v)) return v
  return Buffer.from(v === null || v === undefined ? '' : String(v), 'utf8')
}

function parseArgs(raw: unknown[]): Pick<RawLogEntry, 'args' | 'moreArguments' | 'truncatedArgs'> {
  const args: string[] = []
  const truncated: { index: number; moreBytes: number }[] = []
  let moreArguments: number | undefined
  raw.forEach((value, i) => {
    const buf = asBuffer(value)
    if (i === raw.length - 1 && raw.length > 1) {
      const m = MORE_ARGS.exec(buf.toString('latin1'))
      if (m) {
        moreArguments = Number(m[1])
        return
      }
    }
    if (buf.length > MAX_STRING) {
      const tail = buf.subarray(MAX_STRING).toString('latin1')
      const m = MORE_BYTES.exec(tail)
      if (m && m.index === 0) {
        truncated.push({ index: args.length, moreBytes: Number(m[1]) })
        args.push(replyText(buf.subarray(0, MAX_STRING)))
        return
      }
    }
    args.push(replyText(buf))
  })
  return {
    args,
    ...(moreArguments !== undefined ? { moreArguments } : {}),
    ...(truncated.length ? { truncatedArgs: truncated } : {}),
  }
}

/**
 * A SLOWLOG GET or COMMANDLOG GET reply (RESP2 arrays; bulk strings as Buffers or strings).
 * Redis >= 4 entries have 6 fields (id, time, value, args, client address, client name); older
 * ones 4. Malformed entries are skipped.
 */
export function parseLogEntries(reply: unknown): RawLogEntry[] {
  if (!Array.isArray(reply)) return []
  const out: RawLogEntry[] = []
  for (const item of reply) {
    if (!Array.isArray(item) || item.length < 4) continue
    const id = Number(asBuffer(item[0]).toString())
    const seconds = Number(asBuffer(item[1]).toString())
    const value = Number(asBuffer(item[2]).toString())
    if (!Number.isFinite(id) || !Number.isFinite(seconds) || !Number.isFinite(value)) continue
    const parsed = Array.isArray(item[3]) ? parseArgs(item[3]) : { args: [] }
    // Secrets (AUTH, CONFIG SET requirepass, ACL SETUSER >pw ...) are masked once, here.
    const args = { ...parsed, args: redactCommandArgs(parsed.args) }
    const clientName = item.length > 5 ? replyText(item[5]) : ''
    out.push({
      id,
      at: seconds * 1000,
      value,
      ...args,
      client: item.length > 4 ? replyText(item[4]) : '',
      ...(clientName ? { clientName } : {}),
    })
  }
  return out
}

/** Arguments as one display line: truncation shown the way the server marks it. */
export function formatArgs(entry: Pick<RawLogEntry, 'args' | 'moreArguments' | 'truncatedArgs'>): string {
  const cut = new Map((entry.truncatedArgs ?? []).map((t) => [t.index, t.moreBytes]))
  const parts = redactCommandArgs(entry.args).map((a, i) => {
    const quoted = /^[^\s"'\\]+$/.test(a) ? a : `"${a}"`
    return cut.has(i) ? `${quoted}... (${cut.get(i)} more bytes)` : quoted
  })
  if (entry.moreArguments !== undefined) parts.push(`... (${entry.moreArguments} more arguments)`)
  return parts.join(' ')
}

// ---------------------------------------------------------------------------------------------
// Incremental reading

interface CursorResult {
  /** Entries not seen before, newest first. */
  fresh: RawLogEntry[]
  /** The server restarted (run id changed or ids went backwards): ids start over. */
  reset: boolean
  /** The reply was cut at the count asked for and does not reach back to the last entry seen: ask for all. */
  needAll: boolean
  /** Entries that existed but are gone (trimmed at slowlog-max-len, or SLOWLOG RESET) before they were read. */
  missed: number
}

/**
 * Follows one node's log by entry id: every entry is reported once, gaps are counted, restarts are
 * detected. Entry ids increase by one per entry for the life of the server process (SLOWLOG RESET
 * empties the list but does not restart the ids).
 */
export class LogCursor {
  private lastId: number | undefined
  private runId: string | undefined
  /** A read happened: from now on everything in the log is new (even when the first read found it empty). */
  private started = false

  get position(): number | undefined {
    return this.lastId
  }

  /**
   * @param entries the reply, newest first
   * @param requested the count asked for (-1: the whole log)
   * @param runId the node's run_id from INFO, when known
   */
  accept(entries: RawLogEntry[], requested: number, runId?: string): CursorResult {
    let reset = false
    if (runId && this.runId && runId !== this.runId) reset = true
    const maxId = entries.reduce((m, e) => Math.max(m, e.id), -1)
    if (this.lastId !== undefined && maxId >= 0 && maxId < this.lastId) reset = true
    if (runId) this.runId = runId
    if (reset) this.lastId = undefined
    const since = this.lastId
    const fresh = (since === undefined ? entries : entries.filter((e) => e.id > since))
      .slice()
      .sort((a, b) => b.id - a.id)
    const complete = requested < 0 || entries.length < requested
    // The log was empty when first read (or after a restart): all of it is new, so read all of a full reply.
    if (since === undefined && this.started && !complete)
      return { fresh: [], reset, needAll: true, missed: 0 }
    this.started = true
    let missed = 0
    if (since !== undefined && fresh.length) {
      const oldest = fresh[fresh.length - 1].id
      if (oldest > since + 1) {
        if (!complete) return { fresh: [], reset, needAll: true, missed: 0 }
        missed = oldest - since - 1
      }
    }
    if (fresh.length) this.lastId = fresh[0].id
    else if (this.lastId === undefined && maxId >= 0) this.lastId = maxId
    return { fresh, reset, needAll: false, missed }
  }

  /** Forget the position: the next reply is read from scratch (e.g. a new node behind the address). */
  clear(): void {
    this.lastId = undefined
    this.runId = undefined
    this.started = false
  }
}

// ---------------------------------------------------------------------------------------------
// Entries from many nodes

export interface NodeRef {
  id: string
  address: string
  shard: number
  role: 'primary' | 'replica'
}

/** A slowlog entry with its node: the JSON shape of `kvtop slowlog`. */
export interface SlowlogEntry {
  /** The entry id on its node. */
  id: number
  at: number
  durationUs: number
  command: string
  pattern: string
  args: string[]
  moreArguments?: number
  truncatedArgs?: { index: number; moreBytes: number }[]
  client: string
  clientName?: string
  node: string
  address: string
  shard: number
  role: 'primary' | 'replica'
  /** The server process (run_id) that logged it, when known; with the id it identifies the entry. */
  runId?: string
}

/**
 * A COMMANDLOG large-request or large-reply entry with its node (Valkey 8.1+): the shape of
 * `kvtop slowlog --kind large-request|large-reply`. `bytes` is the size of the request (as the
 * client sent it) or of the reply (as the server sent it).
 */
export interface CommandLogEntry extends Omit<SlowlogEntry, 'durationUs'> {
  kind: LargeLogKind
  bytes: number
}

/** What every logged entry carries with its node, whatever the log. */
type NodeEntryFields = Omit<SlowlogEntry, 'id' | 'at' | 'durationUs'>

function nodeFields(raw: RawLogEntry, node: NodeRef, runId?: string): NodeEntryFields {
  return {
    command: commandName(raw.args),
    pattern: commandPattern(raw.args),
    args: raw.args,
    ...(raw.moreArguments !== undefined ? { moreArguments: raw.moreArguments } : {}),
    ...(raw.truncatedArgs ? { truncatedArgs: raw.truncatedArgs } : {}),
    client: raw.client,
    ...(raw.clientName ? { clientName: raw.clientName } : {}),
    node: node.id,
    address: node.address,
    shard: node.shard,
    role: node.role,
    ...(runId ? { runId } : {}),
  }
}

export function toSlowlogEntry(raw: RawLogEntry, node: NodeRef, runId?: string): SlowlogEntry {
  return { id: raw.id, at: raw.at, durationUs: raw.value, ...nodeFields(raw, node, runId) }
}

export function toCommandLogEntry(
  raw: RawLogEntry,
  kind: LargeLogKind,
  node: NodeRef,
  runId?: string,
): CommandLogEntry {
  return { kind, id: raw.id, at: raw.at, bytes: raw.value, ...nodeFields(raw, node, runId) }
}

/**
 * A COMMANDLOG GET <count> <type> reply, with its node: the SLOWLOG entry parser (the entries have
 * the same shape), the value read as the type says — microseconds for `slow`, bytes otherwise.
 */
export function parseCommandLog(reply: unknown, kind: 'slow', node: NodeRef, runId?: string): SlowlogEntry[]
export function parseCommandLog(
  reply: unknown,
  kind: LargeLogKind,
  node: NodeRef,
  runId?: string,
): CommandLogEntry[]
export function parseCommandLog(
  reply: unknown,
  kind: CommandLogType,
  node: NodeRef,
  runId?: string,
): SlowlogEntry[] | CommandLogEntry[] {
  const raw = parseLogEntries(reply)
  return kind === 'slow'
    ? raw.map((e) => toSlowlogEntry(e, node, runId))
    : raw.map((e) => toCommandLogEntry(e, kind, node, runId))
}

/** What identifies a logged entry and orders it. */
type Logged = Pick<SlowlogEntry, 'runId' | 'address' | 'id' | 'at'> & { kind?: LargeLogKind }

/**
 * Identity of an entry across reads: the same server process and entry id is the same entry. Each
 * COMMANDLOG type numbers its entries on its own, so the kind is part of the identity.
 */
function entryKey(e: Logged): string {
  return `${e.kind ? `${e.kind}:` : ''}${e.runId ?? e.address}#${e.id}`
}

/** Newest first: by time, then (same second) by duration, then node and id for a stable order. */
export function compareNewestFirst(a: SlowlogEntry, b: SlowlogEntry): number {
  return b.at - a.at || b.durationUs - a.durationUs || a.address.localeCompare(b.address) || b.id - a.id
}

/** Newest first: by time, then (same second) by size, then node and id for a stable order. */
export function compareCommandLog(a: CommandLogEntry, b: CommandLogEntry): number {
  return b.at - a.at || b.bytes - a.bytes || a.address.localeCompare(b.address) || b.id - a.id
}

function mergeLogs<T extends Logged>(lists: T[][], compare: (a: T, b: T) => number, limit: number): T[] {
  const seen = new Set<string>()
  const out: T[] = []
  for (const e of lists.flat()) {
    const key = entryKey(e)
    if (seen.has(key)) continue
    seen.add(key)
    out.push(e)
  }
  out.sort(compare)
  return Number.isFinite(limit) ? out.slice(0, limit) : out
}

/** Merge per-node lists, drop duplicates (same process and id, e.g. a node reached by two addresses). */
export function mergeSlowlogs(lists: SlowlogEntry[][], limit = Infinity): SlowlogEntry[] {
  return mergeLogs(lists, compareNewestFirst, limit)
}

/** mergeSlowlogs for COMMANDLOG large-request / large-reply entries. */
export function mergeCommandLogs(lists: CommandLogEntry[][], limit = Infinity): CommandLogEntry[] {
  return mergeLogs(lists, compareCommandLog, limit)
}

/** Bounded, deduplicated, newest-first store of merged entries. */
class LogStore<T extends Logged> {
  private readonly keys = new Set<string>()
  private entries: T[] = []

  constructor(
    private readonly capacity: number,
    private readonly compare: (a: T, b: T) => number,
  ) {}

  /** Add entries; returns those that were new, newest first. */
  add(entries: T[]): T[] {
    const added: T[] = []
    for (const e of entries) {
      const key = entryKey(e)
      if (this.keys.has(key)) continue
      this.keys.add(key)
      added.push(e)
    }
    if (!added.length) return added
    added.sort(this.compare)
    this.entries = [...added, ...this.entries].sort(this.compare)
    if (this.entries.length > this.capacity) {
      for (const dropped of this.entries.splice(this.capacity)) this.keys.delete(entryKey(dropped))
    }
    return added
  }

  list(limit = Infinity): T[] {
    return Number.isFinite(limit) ? this.entries.slice(0, limit) : this.entries.slice()
  }

  get size(): number {
    return this.entries.length
  }
}

/** The slowlog entries of every node (the dashboard's slowlog panel, `kvtop slowlog`). */
export class SlowlogStore extends LogStore<SlowlogEntry> {
  constructor(capacity = 500) {
    super(capacity, compareNewestFirst)
  }
}

/** The entries of one COMMANDLOG size log (large-request or large-reply) of every node. */
export class CommandLogStore extends LogStore<CommandLogEntry> {
  constructor(capacity = 500) {
    super(capacity, compareCommandLog)
  }
}

// ---------------------------------------------------------------------------------------------
// Command patterns

/** Commands whose first argument is a subcommand. */
const CONTAINERS = new Set([
  'acl',
  'client',
  'cluster',
  'command',
  'commandlog',
  'config',
  'debug',
  'function',
  'latency',
  'memory',
  'module',
  'object',
  'pubsub',
  'script',
  'slowlog',
  'xgroup',
  'xinfo',
])
/** Containers whose subcommand is followed by a key. */
const CONTAINER_WITH_KEY = new Set([
  'memory|usage',
  'object|encoding',
  'object|freq',
  'object|idletime',
  'object|refcount',
  'xinfo|stream',
  'xinfo|groups',
  'xinfo|consumers',
  'xgroup|create',
  'xgroup|destroy',
  'xgroup|setid',
  'xgroup|createconsumer',
  'xgroup|delconsumer',
])
/** Commands whose first argument is not a key. */
const NO_KEY = new Set([
  'auth',
  'bgrewriteaof',
  'bgsave',
  'dbsize',
  'discard',
  'echo',
  'exec',
  'failover',
  'flushall',
  'flushdb',
  'hello',
  'info',
  'lastsave',
  'lolwut',
  'migrate',
  'monitor',
  'multi',
  'ping',
  'psubscribe',
  'psync',
  'publish',
  'punsubscribe',
  'quit',
  'randomkey',
  'readonly',
  'readwrite',
  'replconf',
  'replicaof',
  'reset',
  'role',
  'save',
  'scan',
  'select',
  'shutdown',
  'slaveof',
  'spublish',
  'ssubscribe',
  'subscribe',
  'sunsubscribe',
  'swapdb',
  'sync',
  'time',
  'unsubscribe',
  'unwatch',
  'wait',
  'waitaof',
  'blmpop',
  'bzmpop',
  'lmpop',
  'zmpop',
  'zunion',
  'zinter',
  'zdiff',
  'zintercard',
  'sintercard',
])

/** `GET`, `CLUSTER NODES`: the command (and subcommand) in upper case. */
function commandName(args: string[]): string {
  if (!args.length) return ''
  const name = args[0].toLowerCase()
  if (CONTAINERS.has(name) && args.length > 1) return `${name} ${args[1].toLowerCase()}`.toUpperCase()
  return name.toUpperCase()
}

/** A key with its variable parts (ids, numbers, hashes) replaced by `*`: `user:42:profile` -> `user:*:profile`. */
export function keyShape(key: string): string {
  return key
    .split(/([:./|#{}\-_]+)/)
    .map((part, i) =>
      i % 2 === 1 ? part : /\d|\\x[0-9a-f]{2}/i.test(part) || /^[0-9a-f]{16,}$/i.test(part) ? '*' : part,
    )
    .join('')
    .replace(/\*(?:[:./|#\-_]*\*)+/g, '*')
}

/**
 * The group a slow command belongs to: command (and subcommand), then the shape of its key, or for
 * KEYS its pattern, for EVAL the start of its script, for EVALSHA and FCALL the script or function.
 */
export function commandPattern(args: string[]): string {
  if (!args.length) return '(empty)'
  const name = args[0].toLowerCase()
  const command = commandName(args)
  if (CONTAINERS.has(name)) {
    const sub = (args[1] ?? '').toLowerCase()
    return CONTAINER_WITH_KEY.has(`${name}|${sub}`) && args[2] !== undefined
      ? `${command} ${keyShape(args[2])}`
      : command
  }
  if (name === 'keys') return args[1] !== undefined ? `KEYS ${args[1]}` : 'KEYS'
  if (name === 'eval' || name === 'eval_ro')
    return `${command} ${JSON.stringify((args[1] ?? '').slice(0, 24))}`
  if (name === 'evalsha' || name === 'evalsha_ro') return `${command} ${(args[1] ?? '').slice(0, 8)}`
  if (name === 'fcall' || name === 'fcall_ro') return `${command} ${args[1] ?? ''}`
  if (NO_KEY.has(name) || args.length < 2) return command
  return `${command} ${keyShape(args[1])}`
}

export interface SlowlogGroup {
  pattern: string
  count: number
  totalUs: number
  avgUs: number
  maxUs: number
  /** Node ids the pattern was seen on, sorted. */
  nodes: string[]
  firstAt: number
  lastAt: number
  /** The slowest entry of the group, as an example. */
  slowest: SlowlogEntry
}

/** COMMANDLOG large-request / large-reply entries of one command pattern. */
export interface CommandLogGroup {
  kind: LargeLogKind
  pattern: string
  count: number
  totalBytes: number
  avgBytes: number
  maxBytes: number
  /** Node ids the pattern was seen on, sorted. */
  nodes: string[]
  firstAt: number
  lastAt: number
  /** The largest entry of the group, as an example. */
  largest: CommandLogEntry
}

interface Tally<T> {
  pattern: string
  count: number
  total: number
  max: number
  nodes: string[]
  firstAt: number
  lastAt: number
  top: T
}

/** Entries by pattern (and kind), with count, total and max of `value`; heaviest total first. */
function tally<T extends Logged & Pick<SlowlogEntry, 'pattern' | 'node'>>(
  entries: T[],
  value: (e: T) => number,
): Tally<T>[] {
  const groups = new Map<string, Tally<T>>()
  for (const e of entries) {
    const key = `${e.kind ?? ''}|${e.pattern}`
    let g = groups.get(key)
    if (!g) {
      g = { pattern: e.pattern, count: 0, total: 0, max: 0, nodes: [], firstAt: e.at, lastAt: e.at, top: e }
      groups.set(key, g)
    }
    g.count++
    g.total += value(e)
    if (value(e) > g.max) {
      g.max = value(e)
      g.top = e
    }
    if (!g.nodes.includes(e.node)) g.nodes.push(e.node)
    g.firstAt = Math.min(g.firstAt, e.at)
    g.lastAt = Math.max(g.lastAt, e.at)
  }
  const out = [...groups.values()]
  for (const g of out) g.nodes.sort()
  return out.sort((a, b) => b.total - a.total || b.count - a.count || a.pattern.localeCompare(b.pattern))
}

/** Group entries by pattern, heaviest total time first. */
export function groupSlowlog(entries: SlowlogEntry[]): SlowlogGroup[] {
  return tally(entries, (e) => e.durationUs).map((g) => ({
    pattern: g.pattern,
    count: g.count,
    totalUs: g.total,
    avgUs: Math.round(g.total / g.count),
    maxUs: g.max,
    nodes: g.nodes,
    firstAt: g.firstAt,
    lastAt: g.lastAt,
    slowest: g.top,
  }))
}

/** Group COMMANDLOG size entries by kind and pattern, most bytes in total first. */
export function groupCommandLog(entries: CommandLogEntry[]): CommandLogGroup[] {
  return tally(entries, (e) => e.bytes).map((g) => ({
    kind: g.top.kind,
    pattern: g.pattern,
    count: g.count,
    totalBytes: g.total,
    avgBytes: Math.round(g.total / g.count),
    maxBytes: g.max,
    nodes: g.nodes,
    firstAt: g.firstAt,
    lastAt: g.lastAt,
    largest: g.top,
  }))
}
