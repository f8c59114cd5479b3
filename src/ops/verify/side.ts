import type { ConnectedTarget } from '../../connect/target.js'
import type { TopologyNode } from '../../connect/topology.js'
import { RateLimiter } from '../../data/keyspace/rate-limiter.js'
import { classifyReply } from '../../wire/classify.js'
import { NodePool } from '../../wire/node-pool.js'
import type { Watched } from '../../wire/stall-watch.js'
import { keySlot, parseRedirect, SlotTable } from '../../wire/routed-pipeline.js'
import { encodeCommand, encodeCommands, encodeKeyCommands, type CommandArg } from '../../wire/encode.js'
import { ReplyTimeoutError, type RawRespConnection } from '../../wire/connection.js'
import { mapConnectError } from '../../wire/connect-errors.js'
import { nodeDialOptions } from '../../wire/dial.js'
import type { RawReplies } from '../../wire/raw-replies.js'
import { RespError, type Reply } from '../../wire/reply-parser.js'
import { OperationError } from '../../errors.js'
import { sideState, type SideState } from './side-state.js'

/** Redirects followed for one key before giving up (a slot moving twice mid-run is rare). */
const MAX_REDIRECTS = 3

/** The commands about one key; `names` when they are `NAME key` for each name (see keyCommands). */
type KeyCommandsBuild = ((key: Buffer, index: number) => CommandArg[][]) & {
  readonly names?: readonly string[]
}

/** `NAME key` for each of `names`, for every key: encoded straight into the batch (Side.perKey). */
function keyCommands(...names: string[]): KeyCommandsBuild {
  return Object.assign((key: Buffer) => names.map((name): CommandArg[] => [name, key]), { names })
}

const EXISTS = keyCommands('EXISTS')

/**
 * Every key's value if it is a string, where it lies: value i is bytes[start[i]..end[i]),
 * start[i] = -1 when it is not a string (a nil for another type or none, an error reply); and
 * every key's expiry reply. `release()` once done with the bytes (and every view of them): their
 * buffer serves a later round.
 */
export interface StringsAndExpiries {
  bytes: Buffer
  start: Int32Array
  end: Int32Array
  expiries: Reply[]
  release(): void
}

const keep = () => {}

const readStringsCommands = new Map<string, KeyCommandsBuild>()

/** The expiry reply of a key whose expiry is not asked for (no key of its db has one): none. */
const NO_EXPIRY = -1

/**
 * readStrings key by key: `MGET key` (one key: a cluster routes it by its slot; a nil, never an
 * error, for another type) and `ttlCommand key` (none: every key's expiry is NO_EXPIRY). What a
 * cluster side does, and a side built for tests.
 */
export async function readStringsPerKey(
  side: Pick<Side, 'perKey'>,
  db: number,
  keys: Buffer[],
  ttlCommand: string | undefined,
): Promise<StringsAndExpiries> {
  const names = ttlCommand ? ['MGET', ttlCommand] : ['MGET']
  let build = readStringsCommands.get(names.join(' '))
  if (!build) readStringsCommands.set(names.join(' '), (build = keyCommands(...names)))
  const replies = await side.perKey(db, keys, build)
  const values: Buffer[] = []
  const start = new Int32Array(keys.length).fill(-1)
  const end = new Int32Array(keys.length)
  const expiries = new Array<Reply>(keys.length)
  let at = 0
  for (let i = 0; i < keys.length; i++) {
    const [value, expiry = NO_EXPIRY] = replies[i]
    expiries[i] = expiry
    const item = Array.isArray(value) && value.length === 1 ? value[0] : undefined
    if (!Buffer.isBuffer(item)) continue
    values.push(item)
    start[i] = at
    end[i] = at += item.length
  }
  return { bytes: Buffer.concat(values), start, end, expiries, release: keep }
}

/**
 * Every key's DUMP payload, where it lies: payload i is bytes[start[i]..end[i]); start[i] = -1
 * when the reply is not a payload (a nil for a key that does not exist, an error reply), which
 * reply(i) then gives as it came. `release()` as for StringsAndExpiries.
 */
export interface Payloads {
  bytes: Buffer
  start: Int32Array
  end: Int32Array
  reply(i: number): Reply
  release(): void
}

const DUMP = keyCommands('DUMP')

/** readPayloads key by key (DUMP key, routed by its slot): a cluster side, and a side built for tests. */
export async function readPayloadsPerKey(
  side: Pick<Side, 'perKey'>,
  db: number,
  keys: Buffer[],
): Promise<Payloads> {
  const replies = await side.perKey(db, keys, DUMP)
  const values: Buffer[] = []
  const start = new Int32Array(keys.length).fill(-1)
  const end = new Int32Array(keys.length)
  let at = 0
  for (let i = 0; i < keys.length; i++) {
    const value = replies[i][0]
    if (!Buffer.isBuffer(value)) continue
    values.push(value)
    start[i] = at
    end[i] = at += value.length
  }
  return { bytes: Buffer.concat(values), start, end, reply: (i) => replies[i][0], release: keep }
}

type Redirect = NonNullable<ReturnType<typeof parseRedirect>>

/**
 * How many bytes the replies of one kind of raw round took per key, from the rounds so far: the next
 * round's buffer is sized from it, so that it is rarely grown (each growth copies what came).
 */
class ReplySizes {
  private perKey = 0

  /** A buffer size for the replies about `keys` keys; `guess` until a round was seen. */
  hint(keys: number, guess: number): number {
    return this.perKey ? Math.ceil(keys * this.perKey * 1.25) + 4096 : guess
  }

  learn(keys: number, bytes: number): void {
    this.perKey = Math.max(bytes / keys, this.perKey * 0.9)
  }
}

/** One SCAN page read raw: its keys as the server sent them, made into Buffers only when asked. */
export class KeyPage {
  readonly count: number
  private made: Buffer[] | undefined

  constructor(
    private readonly raw: RawReplies,
    private readonly at: { count: number; itemsStart: number; itemsEnd: number },
  ) {
    this.count = at.count
  }

  /** The keys (views of the page's bytes). */
  keys(): Buffer[] {
    return (this.made ??= this.raw.bulkViews(this.at.itemsStart, this.at.count))
  }

  /** The keys as RESP bulk strings, back to back: the arguments of a command naming them all. */
  encodedKeys(): Buffer {
    return this.raw.bytes.subarray(this.at.itemsStart, this.at.itemsEnd)
  }

  /** Done with the page and its keys (their bytes serve a later read). */
  release(): void {
    this.raw.release()
  }
}

/**
 * One side of a comparison: any deployment shape, read key by key. Commands about a key go to the
 * primary that owns its slot (MOVED and ASK followed), pipelined per node; whole-keyspace reads go
 * node by node with SCAN. With `maxOps`, every node gets at most that many commands per second.
 */
export class Side {
  private readonly table: SlotTable
  /** One pipelined connection per node and db, shared by every read of this side. */
  private readonly pool: NodePool
  private readonly limiters = new Map<string, RateLimiter>()
  private readonly stringSizes = new ReplySizes()
  private readonly payloadSizes = new ReplySizes()

  constructor(
    readonly deployment: ConnectedTarget,
    readonly label: 'source' | 'target',
    private readonly limits: { maxOps?: number; signal?: AbortSignal } = {},
  ) {
    this.table = new SlotTable(deployment.topology)
    this.pool = NodePool.forSpec(deployment.spec, { name: `kvtop-verify-${label}` })
  }

  /** This side's open connections, for the stall watch. */
  watched(): Watched[] {
    return this.pool.watched()
  }

  /** Wait until `n` more commands to the node at `address` fit under --max-ops. */
  throttle(address: string, n: number): Promise<void> {
    if (!this.limits.maxOps) return Promise.resolve()
    let limiter = this.limiters.get(address)
    if (!limiter) this.limiters.set(address, (limiter = new RateLimiter(this.limits.maxOps)))
    return limiter.take(n, this.limits.signal)
  }

  get cluster(): boolean {
    return this.deployment.topology.mode === 'cluster'
  }

  get primaries(): TopologyNode[] {
    return this.deployment.primaries
  }

  /** Does every primary answer PEXPIRETIME (Redis 7+)? Asked of a key that cannot exist. */
  async hasAbsoluteExpiry(): Promise<boolean> {
    for (const node of this.primaries) {
      const reply = await this.ask(node, ['PEXPIRETIME', '__kvtop_probe__:none'])
      // A redirect means the command exists; any other error reply means it does not.
      if (reply instanceof RespError && classifyReply(reply) !== 'redirect') return false
    }
    return true
  }

  /**
   * Keys per db over all primaries, and the counters that move on any change (SideState): read
   * before the comparison and again after the forward pass, one INFO per primary.
   */
  async state(): Promise<SideState> {
    const replies: [string, string][] = []
    for (const node of this.primaries) {
      const info = (await this.ask(node, ['INFO'])) as Buffer | RespError
      if (info instanceof RespError)
        throw new OperationError(`INFO refused on ${node.address}: ${info.message}`)
      replies.push([node.address, info.toString()])
    }
    return sideState(replies)
  }

  /**
   * One command to one node outside the comparison (INFO, the PEXPIRETIME probe): a node
   * that does not answer within --timeout is a connect error naming it (exit 3), as one that
   * refuses the connection is — a proxy whose backend hangs after the handshake.
   */
  private async ask(node: TopologyNode, args: CommandArg[]): Promise<Reply> {
    await this.throttle(node.address, 1)
    try {
      return await (await this.conn(node.address, 0)).call(args)
    } catch (err) {
      if (err instanceof ReplyTimeoutError)
        throw mapConnectError(err, nodeDialOptions(this.deployment.spec, node).context)
      throw err
    }
  }

  /** A pipelined connection to one node with `db` selected (shared). */
  conn(address: string, db: number): Promise<RawRespConnection> {
    return this.pool.get(address, db)
  }

  /**
   * Every key of `db` on one node, a SCAN page at a time, read raw (KeyPage): the keys are made
   * only when asked for, and can be sent on as the arguments of a command as they came. Keys can
   * come twice (SCAN's guarantee): callers tolerate it. The caller releases each page when done.
   */
  async *scanPages(
    address: string,
    db: number,
    count: number,
    signal?: AbortSignal,
  ): AsyncGenerator<KeyPage> {
    const conn = await this.conn(address, db)
    let cursor = '0'
    do {
      if (signal?.aborted) return
      await this.throttle(address, 1)
      const raw = await conn.sendRaw(encodeCommand(['SCAN', cursor, 'COUNT', count]), 1)
      const page = raw.page(0)
      if (!page) {
        const reply = raw.reply(0)
        throw new OperationError(
          `SCAN refused on ${address}: ${reply instanceof RespError ? reply.message : String(reply)}`,
        )
      }
      cursor = page.cursor
      if (page.count) yield new KeyPage(raw, page)
      else raw.release()
    } while (cursor !== '0')
  }

  /**
   * Run `build(key)` commands for every key on the node that owns it; the replies come back per
   * key, in order. MOVED fixes the slot table and retries; ASK sends ASKING first. A build made by
   * `keyCommands` (the same `NAME key` commands for every key) is encoded without being called: no
   * argument arrays for the thousands of keys of a batch.
   */
  async perKey(db: number, keys: Buffer[], build: KeyCommandsBuild): Promise<Reply[][]> {
    const out: Reply[][] = new Array(keys.length)
    let pending: number[] | undefined
    const asking = new Map<number, string>()
    for (let attempt = 0; pending === undefined || pending.length; attempt++) {
      const byNode = new Map<string, number[]>()
      const count = pending ? pending.length : keys.length
      for (let p = 0; p < count; p++) {
        const i = pending ? pending[p] : p
        const address = asking.get(i) ?? this.addressFor(keys[i])
        let list = byNode.get(address)
        if (!list) byNode.set(address, (list = []))
        list.push(i)
      }
      const retry: number[] = []
      await Promise.all(
        [...byNode].map(async ([address, indexes]) => {
          const { payload, commands, shape } = this.encode(keys, indexes, build, asking)
          await this.throttle(address, commands)
          const replies = await (await this.conn(address, db)).sendEncoded(payload, commands)
          let at = 0
          for (let k = 0; k < indexes.length; k++) {
            const i = indexes[k]
            const n = typeof shape === 'number' ? shape : shape[k]
            const step = asking.has(i) ? 2 : 1
            const mine: Reply[] = new Array(n)
            let redirect: Redirect | undefined
            for (let c = 0; c < n; c++) {
              const reply = (mine[c] = replies[at + c * step + step - 1])
              if (!redirect && reply instanceof RespError) redirect = parseRedirect(reply)
            }
            at += n * step
            if (redirect && attempt < MAX_REDIRECTS) {
              const to = `${redirect.host.includes(':') ? `[${redirect.host}]` : redirect.host}:${redirect.port}`
              if (redirect.kind === 'MOVED') {
                this.table.moved(redirect.slot, to)
                asking.delete(i)
              } else asking.set(i, to)
              retry.push(i)
            } else {
              out[i] = mine
              asking.delete(i)
            }
          }
        }),
      )
      pending = retry
    }
    return out
  }

  /** The commands for the keys at `indexes`, in one buffer; `shape`: how many of them each key has. */
  private encode(
    keys: Buffer[],
    indexes: number[],
    build: KeyCommandsBuild,
    asking: Map<number, string>,
  ): { payload: Buffer; commands: number; shape: number | number[] } {
    if (build.names && !indexes.some((i) => asking.has(i))) {
      const chosen = indexes.map((i) => keys[i])
      const commands = build.names.length * chosen.length
      return { payload: encodeKeyCommands(build.names, chosen), commands, shape: build.names.length }
    }
    const commands: CommandArg[][] = []
    const shape: number[] = []
    for (const i of indexes) {
      const ask = asking.has(i)
      const cmds = build(keys[i], i)
      for (const c of cmds) {
        if (ask) commands.push(['ASKING'])
        commands.push(c)
      }
      shape.push(cmds.length)
    }
    return { payload: encodeCommands(commands), commands: commands.length, shape }
  }

  /**
   * Every key's string value (null for another type, or none) and its `ttlCommand` reply
   * (PEXPIRETIME or PTTL; none asked for without one: no key of the db has an expiry). On a standalone, one MGET names them all (the server's cheapest read of
   * many values: no reply array per key) and the expiries follow in the same write; an error reply
   * to that MGET stands for every key's value. On a cluster, key by key (readStringsPerKey).
   */
  async readStrings(db: number, keys: Buffer[], ttlCommand?: string): Promise<StringsAndExpiries> {
    if (this.cluster || keys.length < 2) return readStringsPerKey(this, db, keys, ttlCommand)
    const n = keys.length
    const address = this.addressFor(keys[0])
    const mget = encodeCommand(['MGET', ...keys])
    const payload = ttlCommand ? Buffer.concat([mget, encodeKeyCommands([ttlCommand], keys)]) : mget
    const replies = ttlCommand ? n + 1 : 1
    // --max-ops protects the server: an MGET of n keys costs it about what n reads do, so it is
    // counted as n commands, as the key-by-key reads of a cluster are.
    await this.throttle(address, replies - 1 + n)
    // Read raw: the values are compared where they lie, no Buffer made per value.
    const conn = await this.conn(address, db)
    const raw = await conn.sendRaw(payload, replies, this.stringSizes.hint(n, payload.length * 2))
    this.stringSizes.learn(n, raw.offsets[replies])
    const start = new Int32Array(n)
    const end = new Int32Array(n)
    raw.bulkItems(0, n, start, end)
    const expiries = new Array<Reply>(n)
    for (let i = 0; i < n; i++)
      expiries[i] = ttlCommand ? (raw.integer(i + 1) ?? raw.reply(i + 1)) : NO_EXPIRY
    return { bytes: raw.bytes, start, end, expiries, release: () => raw.release() }
  }

  /**
   * Every key's DUMP payload (readPayloadsPerKey on a cluster). On a standalone, one write of a
   * DUMP per key read raw: the payloads are compared where they lie, no Buffer made per payload.
   */
  async readPayloads(db: number, keys: Buffer[]): Promise<Payloads> {
    if (this.cluster || keys.length < 2) return readPayloadsPerKey(this, db, keys)
    const n = keys.length
    const address = this.addressFor(keys[0])
    const payload = encodeKeyCommands(['DUMP'], keys)
    await this.throttle(address, n)
    const conn = await this.conn(address, db)
    const raw = await conn.sendRaw(payload, n, this.payloadSizes.hint(n, payload.length * 4))
    this.payloadSizes.learn(n, raw.offsets[n])
    const start = new Int32Array(n)
    const end = new Int32Array(n)
    for (let i = 0; i < n; i++) {
      start[i] = raw.bulkStart(i)
      end[i] = raw.offsets[i + 1] - 2
    }
    return { bytes: raw.bytes, start, end, reply: (i) => raw.reply(i), release: () => raw.release() }
  }

  /**
   * Which of `keys` exist in `db`. On a standalone, one EXISTS names them all: when it counts them
   * all (the common case, equal datasets) that settles the batch in one command; otherwise, and
   * on a cluster (keys of many slots), one EXISTS a key.
   */
  async existing(db: number, keys: Buffer[]): Promise<boolean[]> {
    if (!this.cluster && keys.length > 1) {
      const address = this.addressFor(keys[0])
      // As readStrings' MGET: an EXISTS of n keys is n lookups for the server.
      await this.throttle(address, keys.length)
      const count = await (await this.conn(address, db)).call(['EXISTS', ...keys])
      if (count instanceof RespError)
        throw new OperationError(`EXISTS refused on the ${this.label}: ${count.message}`)
      if (count === keys.length) return keys.map(() => true)
    }
    const replies = await this.perKey(db, keys, EXISTS)
    return replies.map(([r]) => {
      if (r instanceof RespError)
        throw new OperationError(`EXISTS refused on the ${this.label}: ${r.message}`)
      return r === 1
    })
  }

  /**
   * Does `db` hold every key of `page`? On a standalone, one EXISTS names them all, its arguments
   * the page's bytes as the server sent them: no key made. Undefined where that cannot tell (a
   * cluster: keys of many slots; or not every key is there): ask `existing` key by key.
   */
  async holdsAll(db: number, page: KeyPage): Promise<boolean | undefined> {
    if (this.cluster) return undefined
    const address = this.table.nodeFor(0)!
    await this.throttle(address, page.count)
    const head = Buffer.from(`*${page.count + 1}\r\n$6\r\nEXISTS\r\n`, 'latin1')
    const count = await (
      await this.conn(address, db)
    ).sendEncoded(Buffer.concat([head, page.encodedKeys()]), 1)
    if (count[0] instanceof RespError)
      throw new OperationError(`EXISTS refused on the ${this.label}: ${count[0].message}`)
    return count[0] === page.count ? true : undefined
  }

  async close(): Promise<void> {
    await this.pool.closeAll()
  }

  private addressFor(key: Buffer): string {
    const address = this.cluster ? this.table.nodeFor(keySlot(key)) : this.table.nodeFor(0)
    if (!address) {
      throw new OperationError(`slot ${keySlot(key)} is not served by any node of the ${this.label}`, {
        hint: 'Check the cluster with kvtop status; verify needs full slot coverage on both sides.',
      })
    }
    return address
  }
}
