import type { Deployment } from '../../connect/deployment.js'
import { keySlot, keySlotOf, RoutedPipeline, type CommandBatch } from '../../wire/routed-pipeline.js'
import { RespError, type Reply } from '../../wire/reply-parser.js'
import { classifyReply, isCommandRefusal } from '../../wire/classify.js'
import { errorMessage, OperationError, UsageError } from '../../errors.js'
import { parseInfoSections, parseKeyspace } from '../../redis/info.js'
import { ProgressTracker } from '../progress.js'
import type { EventSink } from '../events.js'
import { CommandTable } from './command-table.js'
import { CommandNames, onlyKeyIsFirstArgument, type CommandName } from './command-names.js'
import {
  datasetWideCommand,
  formatCounts,
  parseSelectArg,
  scanLog,
  type DatasetWideCommand,
  type LogPosition,
  type LogScan,
} from './scan.js'
import { replayItems, type RdbTarget, type ReplayInput, type ReplayItem } from './sources.js'
import { rdbVersionForServer } from '../../data/rdb/constants.js'
import { versionAtLeast } from '../../connect/capabilities.js'
import { NEED_MORE, RespCommandParser, type CommandFrame } from '../../data/resp/command-parser.js'
import { DEFAULT_STALL_TIMEOUT_MS, StallWatch, stallMessage, type Watched } from '../../wire/stall-watch.js'

export interface ReplayOptions {
  /** 'max', or a multiple of the recorded pace (1 = as recorded). */
  speed: 'max' | number
  /** Stop before the first command recorded after this time (epoch ms). */
  untilMs?: number
  /** Source db -> target db. */
  dbMap: Map<number, number>
  stopOnError: boolean
  skipTruncatedTail: boolean
  /** Replay onto a target that holds keys (refused otherwise, before anything is sent). */
  replace?: boolean
  /** Replay FLUSHALL, FLUSHDB, SWAPDB, SCRIPT FLUSH, FUNCTION FLUSH, FUNCTION RESTORE ... FLUSH. */
  allowFlush?: boolean
  /**
   * With `allowFlush`, when the log holds dataset-wide commands: called with their counts once the
   * pre-pass is done and before anything is sent. Throw to stop with nothing sent.
   */
  confirmDatasetWide?: (found: {
    total: number
    byCommand: Partial<Record<DatasetWideCommand, number>>
    first: LogPosition & { command: DatasetWideCommand }
  }) => Promise<void>
  /** A target node that owes replies and sends none this long stops the replay; 0: never. */
  stallTimeoutMs?: number
  /** How long commands refused for now (OOM, READONLY, LOADING ...) are retried; 0: not at all. */
  retryTimeoutMs?: number
  signal?: AbortSignal
  onEvent?: EventSink
}

export const DEFAULT_RETRY_TIMEOUT_MS = 60_000
const RETRY_FIRST_DELAY_MS = 100
const RETRY_MAX_DELAY_MS = 2_000

export interface ReplayErrorSample {
  file: string
  offset: number
  /** The command's number in the log (1 for the first). */
  number: number
  command: string
  message: string
}

export interface ReplayReport {
  format: string
  files: string[]
  target: string
  mode: string
  /** Keys the target held before the replay (every primary, every db). */
  targetKeysBefore: number
  commands: number
  skippedAdmin: number
  split: number
  broadcast: number
  /** Dataset-wide commands sent (with --allow-flush), by command. */
  datasetWide: { total: number; byCommand: Record<string, number> }
  /** Commands refused for now (OOM, READONLY, LOADING ...) and sent again. */
  retried: number
  /**
   * Writes applied before an earlier command on the same keys that was refused for now and applied
   * later (a pipeline cannot hold them back): for those keys the order differs from the log's.
   */
  reordered: number
  /** Error replies: commands the target did not apply. Any makes the replay exit 5. */
  errors: { total: number; byKind: Record<string, number>; first: ReplayErrorSample[] }
  bytes: number
  /** The pre-pass over the log, before anything is sent. */
  scanSeconds: number
  seconds: number
  commandsPerSecond: number
  stoppedAt?: { file: string; offset: number; reason: string }
  truncatedTail?: { file: string; offset: number }
  /**
   * Keys of RDB parts (an RDB file, an AOF preamble or base) whose encoding is newer than the
   * target's RDB version, rebuilt with commands (one MULTI ... EXEC block each) instead of RESTORE.
   */
  rebuilt: number
}

/** Where the current db came from: a SELECT in the log, or a command that carries its db (MONITOR). */
interface DbOrigin extends LogPosition {
  sourceDb: number
  viaSelect: boolean
}

interface Tag extends LogPosition {
  name: string
  /** Routing slot (0 on a standalone server). */
  slot: number
  /**
   * Where the command's bytes are until its reply came: batch.buf[start..end). The arguments are
   * not kept (holding a million small buffers past their batch costs the garbage collector dearly);
   * the rare command refused for now is copied out of the batch when its reply comes.
   */
  batch?: CommandBatch<Tag>
  start: number
  end: number
  /** The command's bytes, copied out once it was refused for now (to be sent again). */
  bytes?: Buffer
  /** Target db (standalone): a command sent again is sent in it. */
  db: number
  /** A SELECT the replay sent; `alone` when nothing was sent after it before its reply came. */
  select?: { db: number; alone: boolean; origin: DbOrigin }
  block?: Block
  /** In a block: the command's index, -1 for MULTI and EXEC. */
  index?: number
  retried?: boolean
}

interface BlockItem extends LogPosition {
  args: Buffer[]
  name: string
}

/** A MULTI ... EXEC block, sent whole (and sent whole again when refused for now). */
interface Block {
  slot: number
  db: number
  items: BlockItem[]
  multi: LogPosition
  exec: LogPosition & { args: Buffer[] }
  /** Errors in reply to MULTI or to a queued command, with the command's index (-1: MULTI). */
  queueErrors: { index: number; err: RespError }[]
  retried?: boolean
}

interface RetryEntry {
  tag?: Tag
  block?: Block
  err: RespError
  number: number
}

/** Multi-key commands that keep their meaning when split per slot. */
const SPLITTABLE = new Set(['del', 'unlink', 'exists', 'touch', 'mset'])
/** Keyless commands that act on the whole dataset: sent to every primary. */
const EVERY_PRIMARY = new Set([
  'flushall',
  'flushdb',
  'script|load',
  'script|flush',
  'function|load',
  'function|delete',
  'function|flush',
  'function|restore',
])
const FIRST_ERRORS = 10
const SELECT = Buffer.from('SELECT')
const MULTI = Buffer.from('MULTI')
/** In the slot maps of the retry bookkeeping: every slot (a keyless or movable-keys write). */
const ALL_SLOTS = -1

function where(item: { file: string; offset: number }): string {
  return `${item.file} at byte offset ${item.offset}`
}

function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms)
    signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true })
  })

/**
 * Keys on every primary of the target, all dbs (INFO keyspace; DBSIZE, db 0 only, where INFO is
 * refused), with a short description of where they are.
 */
export async function targetKeyCount(target: Deployment): Promise<{ total: number; where: string[] }> {
  let total = 0
  const found: string[] = []
  for (const node of target.primaries) {
    const client = await target.client(node)
    let dbs: [string, number][]
    try {
      const keyspace = parseKeyspace(parseInfoSections(String(await client.info('keyspace'))).keyspace)
      dbs = Object.entries(keyspace).map(([db, ks]) => [db, ks.keys])
    } catch (infoErr) {
      if (!isCommandRefusal(infoErr as Error)) throw infoErr
      try {
        dbs = [['0', Number(await client.dbsize())]]
      } catch (err) {
        if (!isCommandRefusal(err as Error)) throw err
        throw new UsageError(
          `cannot tell whether the target is empty: ${node.address} refuses INFO keyspace and DBSIZE (${errorMessage(infoErr)})`,
          { code: 'target-not-empty', hint: 'Pass --replace to replay without this check.' },
        )
      }
    }
    const held = dbs.filter(([, n]) => n > 0)
    for (const [, n] of held) total += n
    if (held.length) found.push(`${node.address} ${held.map(([db, n]) => `db${db} ${n}`).join(', ')}`)
  }
  return { total, where: found }
}

/**
 * What must be refused before anything is sent: dbs a cluster does not have, dataset-wide commands
 * without --allow-flush, a target holding keys without --replace. One message for all of them.
 */
function refusals(
  scan: LogScan,
  keys: { total: number; where: string[] } | undefined,
  cluster: boolean,
  options: ReplayOptions,
): UsageError | undefined {
  if (scan.badSelect) {
    const b = scan.badSelect
    return new UsageError(
      `invalid SELECT '${b.arg}' at ${where(b)} (command #${b.number}): nothing was sent`,
      { code: 'bad-input' },
    )
  }
  const problems: string[] = []
  const hints: string[] = []
  let code = 'refused'
  if (cluster) {
    for (const [db, first] of scan.dbs) {
      const mapped = options.dbMap.get(db) ?? db
      if (mapped === 0) continue
      problems.push(
        `the command at ${where(first)} (command #${first.number}) is in db ${db}, and a cluster holds only db 0`,
      )
      hints.push(`Map it with --db-map ${db}:0 (keys from several dbs may then collide).`)
      code = 'db-not-allowed'
      break
    }
  }
  if (scan.datasetWideTotal && !options.allowFlush) {
    const f = scan.firstDatasetWide!
    problems.push(
      `the log holds ${plural(scan.datasetWideTotal, 'dataset-wide command')} (${formatCounts(scan.datasetWide)}; the first at ${where(f)}, command #${f.number}); replaying them needs --allow-flush`,
    )
    hints.push('Pass --allow-flush to replay them (they act on everything the target holds).')
    code = problems.length === 1 ? 'dataset-wide' : code
  }
  if (keys && keys.total && !options.replace) {
    problems.push(
      `the target is not empty: it holds ${plural(keys.total, 'key')} (${keys.where.slice(0, 3).join('; ')}${keys.where.length > 3 ? '; ...' : ''}); replaying onto it needs --replace`,
    )
    hints.push("Pass --replace to replay onto it (the log's commands then act on those keys too).")
    code = problems.length === 1 ? 'target-not-empty' : code
  }
  if (!problems.length) return undefined
  return new UsageError(`${problems.join('; ')}. Nothing was sent.`, { code, hint: hints.join(' ') })
}

/**
 * Replay a command log onto a target: routed by slot on a cluster (multi-key commands split where
 * that keeps their meaning, MULTI/EXEC kept whole on one node, dataset-wide commands sent to every
 * primary), SELECT tracked and mapped, paced by recorded time when asked, streamed with
 * backpressure so memory stays flat.
 *
 * Nothing is sent before a pre-pass over the whole log and a look at the target: dataset-wide
 * commands are refused without `allowFlush`, a target holding keys without `replace`, other dbs on
 * a cluster without a db map. While replaying, every reply is classified (classifyReply): commands
 * refused for now are sent again, in log order, with back-off, for `retryTimeoutMs`; then the replay
 * stops. A SELECT of a db not used before is sent alone and its reply awaited, so a refused one
 * stops the replay before anything meant for that db goes elsewhere. A node that owes replies and
 * sends none for `stallTimeoutMs` stops it too.
 */
export async function replay(
  input: ReplayInput,
  target: Deployment,
  options: ReplayOptions,
): Promise<ReplayReport> {
  const emit = options.onEvent ?? (() => {})
  const cluster = target.topology.mode === 'cluster'
  const table = CommandTable.fromCommandReply((await target.seed.call('COMMAND')) as Reply)
  const retryTimeoutMs = options.retryTimeoutMs ?? DEFAULT_RETRY_TIMEOUT_MS
  const stallTimeoutMs = options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS
  const report: ReplayReport = {
    format: input.format,
    files: input.files.map((f) => f.path),
    target: target.primaries.map((p) => p.address).join(','),
    mode: target.topology.mode,
    targetKeysBefore: 0,
    commands: 0,
    skippedAdmin: 0,
    split: 0,
    broadcast: 0,
    datasetWide: { total: 0, byCommand: {} },
    retried: 0,
    reordered: 0,
    errors: { total: 0, byKind: {}, first: [] },
    bytes: 0,
    scanSeconds: 0,
    seconds: 0,
    commandsPerSecond: 0,
    rebuilt: 0,
  }

  // 1. The pre-pass and the target's keys, before anything is sent.
  emit({ type: 'phase', phase: 'scan', detail: `reading ${input.totalBytes} bytes before replaying` })
  const scanTracker = new ProgressTracker('scan', 'commands')
  let scannedBytes = 0
  const scan = await scanLog(input, {
    untilMs: options.untilMs,
    skipTruncatedTail: options.skipTruncatedTail,
    signal: options.signal,
    onProgress: (commands, bytes) => {
      scanTracker.add(commands - scanTracker.done, bytes - scannedBytes)
      scannedBytes = bytes
      emit({
        ...scanTracker.snapshot(),
        detail: `${Math.round((100 * bytes) / Math.max(1, input.totalBytes))}% of ${input.totalBytes} bytes`,
      })
    },
  })
  report.scanSeconds = scan.seconds
  const keys = await targetKeyCount(target).catch((err) => {
    if (options.replace) return undefined
    throw err
  })
  report.targetKeysBefore = keys?.total ?? 0
  const refused = refusals(scan, keys, cluster, options)
  if (refused) throw refused
  if (scan.datasetWideTotal && options.confirmDatasetWide)
    await options.confirmDatasetWide({
      total: scan.datasetWideTotal,
      byCommand: scan.datasetWide,
      first: scan.firstDatasetWide!,
    })
  if (scan.datasetWideTotal)
    emit({
      type: 'warning',
      message: `the log holds ${plural(scan.datasetWideTotal, 'dataset-wide command')} (${formatCounts(scan.datasetWide)}); --allow-flush: they are replayed`,
    })
  emit({ type: 'phase', phase: 'replay', detail: plural(scan.commands, 'command') })

  // 2. The replay.
  let stopRequested: { file: string; offset: number; reason: string } | undefined
  /** A reason to stop at once, found in a reply (a refused SELECT). */
  let fatal: OperationError | undefined
  const retryQueue: RetryEntry[] = []
  /** Slot (or ALL_SLOTS) -> lowest number of a write refused for now there, since the last round. */
  const failedSlots = new Map<number, number>()

  const isWrite = (args: Buffer[]) => table.lookup(args).spec?.write ?? true
  /** The command of a tag, encoded: copied out of its batch (which is reused once answered). */
  const bytesOf = (tag: Tag): Buffer => {
    if (!tag.bytes) {
      tag.bytes = Buffer.from(tag.batch!.buf.subarray(tag.start, tag.end))
      tag.batch = undefined
    }
    return tag.bytes
  }
  /** Its arguments again (for the rare command refused for now, and writes applied meanwhile). */
  const argsOf = (tag: Tag): Buffer[] => {
    const parser = new RespCommandParser({ annotations: false, inline: false })
    parser.push(tag.bytes ?? tag.batch!.buf.subarray(tag.start, tag.end))
    const record = parser.next()
    return record !== NEED_MORE && record.kind === 'command' ? record.args : []
  }
  /** The slots of a write's keys (on a standalone server too: a cheap stand-in for the keys). */
  const slotsWritten = (args: Buffer[]): number[] => {
    const idx = table.keyIndexes(args)
    if (idx === 'movable' || idx === 'unknown' || idx.length === 0) return [ALL_SLOTS]
    return idx.map((i) => keySlot(args[i]))
  }
  const unitArgs = (e: { tag?: Tag; block?: Block }): Buffer[][] =>
    e.block
      ? e.block.items.filter((i) => isWrite(i.args)).map((i) => i.args)
      : [argsOf(e.tag!)].filter((args) => args.length && isWrite(args))
  /** A write was applied: was an earlier write to the same slots refused for now (and so applied after it)? */
  const noteApplied = (e: { tag?: Tag; block?: Block }, number: number) => {
    const all = failedSlots.get(ALL_SLOTS)
    let conflict = all !== undefined && all < number
    for (const args of conflict ? [] : unitArgs(e))
      for (const s of slotsWritten(args)) {
        if (s === ALL_SLOTS) {
          for (const n of failedSlots.values()) if (n < number) conflict = true
        } else {
          const n = failedSlots.get(s)
          if (n !== undefined && n < number) conflict = true
        }
      }
    if (conflict) report.reordered++
  }

  const recordError = (at: LogPosition, command: string, err: RespError) => {
    report.errors.total++
    report.errors.byKind[err.prefix] = (report.errors.byKind[err.prefix] ?? 0) + 1
    if (report.errors.first.length < FIRST_ERRORS)
      report.errors.first.push({
        file: at.file,
        offset: at.offset,
        number: at.number,
        command,
        message: err.message,
      })
    if (options.stopOnError) stopRequested ??= { file: at.file, offset: at.offset, reason: err.message }
  }
  const queueRetry = (entry: RetryEntry) => {
    if (entry.tag) bytesOf(entry.tag)
    const unit = entry.block ?? entry.tag!
    if (!unit.retried) {
      unit.retried = true
      report.retried++
    }
    retryQueue.push(entry)
    for (const args of unitArgs(entry))
      for (const s of slotsWritten(args))
        failedSlots.set(s, Math.min(failedSlots.get(s) ?? Infinity, entry.number))
  }

  const selectRefusal = (tag: Tag, err: RespError): OperationError => {
    const { db, origin, alone } = tag.select!
    const mapped = db === origin.sourceDb ? '' : ` (mapped to ${db} by --db-map)`
    const what = origin.viaSelect
      ? `the log selects db ${origin.sourceDb}${mapped} at ${where(origin)} (command #${origin.number})`
      : `the command at ${where(origin)} (command #${origin.number}) is in db ${origin.sourceDb}${mapped}`
    return new OperationError(
      `the target refused SELECT ${db} (${err.message}): ${what}; ${
        alone
          ? 'the replay stopped there, nothing meant for that db was sent'
          : 'it had accepted that db before, so commands sent after it may have run in another db'
      }`,
      {
        code: 'select-refused',
        hint: `Map the db to one the target has with --db-map ${origin.sourceDb}:N. ${plural(report.commands, 'command')} before it were sent.`,
      },
    )
  }

  const onReply = (reply: Reply, tag: Tag) => {
    if (tag.block) return onBlockReply(reply, tag)
    const kind = classifyReply(reply)
    if (kind === 'ok') {
      if (failedSlots.size) noteApplied({ tag }, tag.number)
      return
    }
    const err = reply as RespError
    if (tag.select && (kind !== 'retryable' || !tag.select.alone)) {
      fatal ??= selectRefusal(tag, err)
      return
    }
    if (kind === 'retryable') return queueRetry({ tag, err, number: tag.number })
    // Refused, or a redirect the pipeline could not follow.
    recordError(tag, tag.name, err)
  }
  const onBlockReply = (reply: Reply, tag: Tag) => {
    const block = tag.block!
    if (tag.name !== 'exec') {
      if (reply instanceof RespError) block.queueErrors.push({ index: tag.index!, err: reply })
      return
    }
    if (Array.isArray(reply)) {
      // Applied: each command ran; some may have failed on their own.
      reply.forEach((r, i) => {
        const item = block.items[i]
        if (r instanceof RespError && item) recordError(item, item.name, r)
      })
      if (failedSlots.size) noteApplied({ block }, block.exec.number)
      return
    }
    if (reply instanceof RespError) {
      const causes = block.queueErrors
      // Refused as a whole (EXECABORT): for now, when every command refused in it was refused for now.
      const retry =
        classifyReply(reply) === 'retryable' ||
        (causes.length > 0 && causes.every((c) => classifyReply(c.err) === 'retryable'))
      if (retry) return queueRetry({ block, err: causes[0]?.err ?? reply, number: block.exec.number })
      if (!causes.length) return recordError(block.exec, 'exec', reply)
      for (const c of causes) {
        const at = c.index >= 0 ? block.items[c.index] : { ...block.multi, name: 'multi' }
        recordError(at, at.name, c.err)
      }
      return
    }
    // nil: a key WATCHed in the log changed; nothing in the block was applied.
    recordError(
      block.exec,
      'exec',
      new RespError('EXECABORT EXEC returned nil (a WATCHed key changed): the block was not applied'),
    )
  }

  const names = new CommandNames(table)
  const pipeline = new RoutedPipeline<Tag>({ spec: target.spec, topology: target.topology, onReply })
  const primarySlots = cluster
    ? target.primaries.filter((p) => p.slots.length).map((p) => p.slots[0][0])
    : [0]
  const tracker = new ProgressTracker('replay', 'commands')
  let lastProgress = 0
  let logDb = 0
  /** The db the standalone connection is in, as far as what was queued goes. */
  let laneDb = 0
  /** Target dbs a SELECT was accepted for. */
  const knownDbs = new Set([0])
  let selectedAt: LogPosition = { file: '', offset: 0, number: 0 }
  let number = 0
  let pace: { t0: number; w0: number } | undefined
  let multi: { items: BlockItem[]; db: number; origin: DbOrigin; at: LogPosition } | undefined
  let lastSent: LogPosition | undefined

  // A node that owes replies and sends none (hung, paused, partitioned) must not hold the replay forever.
  let stalled: OperationError | undefined
  let stallReject: (err: Error) => void = () => {}
  const stall = new Promise<never>((_, reject) => (stallReject = reject))
  stall.catch(() => {})
  /** Since when the seed connection has owed the reply to COMMAND GETKEYS (0: not waiting). */
  let seedWaitingSince = 0
  const seedAddress = `${String(target.seed.options.host)}:${target.seed.options.port}`
  const watch = new StallWatch({
    timeoutMs: stallTimeoutMs,
    onStall: (silent) => {
      const after = lastSent ? ` after command #${lastSent.number} (${where(lastSent)})` : ''
      stalled = new OperationError(
        `${stallMessage(silent, 'target')} (--stall-timeout): the replay stopped${after}`,
        {
          code: 'stalled',
          hint: `Commands sent to it since its last reply may or may not have been applied. Check the node (hung, paused, cut off); if it is only slow, raise --stall-timeout (0 waits forever). ${plural(report.commands, 'command')} were sent.`,
        },
      )
      pipeline.abort(stalled)
      stallReject(stalled)
      return stalled
    },
  })
  watch.addSource(() => {
    const silent: Watched[] = []
    const worst = pipeline.silentest()
    if (worst)
      silent.push({
        address: worst.address,
        target: { silentForMs: worst.ms, abort: (err) => pipeline.abort(err) },
      })
    if (seedWaitingSince)
      silent.push({ address: seedAddress, target: { silentForMs: Date.now() - seedWaitingSince } })
    return silent
  })

  /** Queue a command; a promise only when the node's window is full (wait for it: backpressure). */
  const appendTo = (tag: Tag, args?: readonly Buffer[] | CommandFrame): Promise<void> | undefined => {
    const batch: CommandBatch<Tag> = pipeline.batchFor(tag.slot)
    tag.start = batch.used
    if (args && !Array.isArray(args)) {
      // The log's own bytes, as they are: nothing to encode again.
      const frame = args as CommandFrame
      batch.appendRange(frame.buf, frame.start, frame.end, tag)
    } else if (args) {
      // Log arguments are all bytes: no per-argument type checks.
      batch.bytesCommand(args as readonly Buffer[])
      batch.end(tag)
    } else {
      batch.append(tag.bytes!, tag)
    }
    tag.end = batch.used
    tag.batch = batch
    lastSent = tag
    return pipeline.written(tag.slot)
  }

  /** Everything queued is answered, and everything refused for now retried (or given up: stop). */
  const settle = async () => {
    if (fatal) throw fatal
    await pipeline.flush()
    if (retryQueue.length) await retryRefused()
    if (fatal) throw fatal
  }

  /** Send again, in log order, what was refused for now, with back-off, for retryTimeoutMs at most. */
  const retryRefused = async () => {
    const since = Date.now()
    let attempt = 0
    while (retryQueue.length) {
      if (fatal) throw fatal
      const entries = retryQueue.splice(0).sort((a, b) => a.number - b.number)
      const kinds: Record<string, number> = {}
      for (const e of entries) kinds[e.err.prefix] = (kinds[e.err.prefix] ?? 0) + 1
      const waited = Date.now() - since
      if (waited >= retryTimeoutMs || options.signal?.aborted) {
        for (const e of entries) {
          if (e.block) recordError(e.block.exec, 'exec', e.err)
          else recordError(e.tag!, e.tag!.name, e.err)
        }
        const first = entries[0]
        const at = first.block ? first.block.exec : first.tag!
        throw new OperationError(
          `the target refused ${plural(entries.length, 'command')} for ${Math.round(waited / 1000)} s despite ${plural(attempt, 'retry', 'retries')} (${formatCounts(kinds)}: ${first.err.message}); the first is command #${at.number} at ${where(at)}, and the replay stopped there`,
          {
            code: options.signal?.aborted ? 'interrupted' : 'retries-exhausted',
            hint: `Fix the cause (OOM: more maxmemory or fewer keys; READONLY: point --to at the primary; LOADING, CLUSTERDOWN, MASTERDOWN: wait for the node), or retry longer with --retry-timeout. ${plural(report.commands, 'command')} were sent, ${plural(report.errors.total, 'error reply', 'error replies')} in all.`,
          },
        )
      }
      attempt++
      const delay = Math.min(
        RETRY_MAX_DELAY_MS,
        RETRY_FIRST_DELAY_MS * 2 ** (attempt - 1),
        retryTimeoutMs - waited,
      )
      if (attempt === 1)
        emit({
          type: 'warning',
          message: `the target refused ${plural(entries.length, 'command')} for now (${formatCounts(kinds)}: ${entries[0].err.message}); retrying for up to ${Math.round(retryTimeoutMs / 1000)} s`,
        })
      emit({
        ...tracker.snapshot(
          `retrying ${plural(entries.length, 'command')} refused for now (${formatCounts(kinds)}), attempt ${attempt}, ${Math.round(waited / 1000)} s so far`,
        ),
        total: undefined,
      })
      await Promise.race([sleep(delay, options.signal), stall])
      failedSlots.clear()
      for (const e of entries) {
        const wait = e.block ? appendBlock(e.block) : resend(e.tag!)
        if (wait) await wait
      }
      await pipeline.flush()
    }
    failedSlots.clear()
    if (attempt)
      emit({ ...tracker.snapshot(`applied after ${plural(attempt, 'retry', 'retries')}`), total: undefined })
  }

  /** A command refused for now, again (its bytes were copied out when its reply came). */
  const resend = (tag: Tag): Promise<void> | undefined => {
    if (tag.select) {
      laneDb = tag.select.db
      return appendTo(tag)
    }
    if (!cluster && tag.db !== laneDb) selectQueued(tag.db, tag)
    return appendTo(tag)
  }

  const selectTag = (db: number, alone: boolean, origin: DbOrigin): Tag => ({
    file: origin.file,
    offset: origin.offset,
    number: origin.number,
    name: 'select',
    slot: 0,
    start: 0,
    end: 0,
    db,
    select: { db, alone, origin },
  })
  const selectArgs = (db: number) => [SELECT, Buffer.from(String(db))]

  /** SELECT a db accepted before, queued without waiting for its reply. */
  const selectQueued = (db: number, origin: LogPosition) => {
    appendTo(selectTag(db, false, { ...origin, sourceDb: db, viaSelect: true }), selectArgs(db))
    laneDb = db
  }

  const mapDb = (db: number, item: ReplayItem): number => {
    const mapped = options.dbMap.get(db) ?? db
    if (cluster && mapped !== 0) {
      // The pre-pass refuses this before anything is sent; kept for safety.
      throw new UsageError(`the command at ${where(item)} is in db ${db}, and a cluster holds only db 0`, {
        code: 'db-not-allowed',
        hint: `Map it with --db-map ${db}:0 (keys from several dbs may then collide).`,
      })
    }
    return mapped
  }

  /**
   * Point the standalone connection at `db`. The first SELECT of a db is sent alone and its reply
   * awaited: if the target refuses it, nothing meant for that db is sent anywhere.
   */
  const selectDb = async (db: number, origin: DbOrigin) => {
    if (cluster || db === laneDb) return
    if (knownDbs.has(db)) {
      const wait = appendTo(selectTag(db, false, origin), selectArgs(db))
      laneDb = db
      if (wait) await wait
      return
    }
    await settle()
    appendTo(selectTag(db, true, origin), selectArgs(db))
    laneDb = db
    await settle()
    knownDbs.add(db)
  }

  type Routed = { keys: number[]; slots: Set<number> } | 'unknown'
  /** Synchronous for every command whose keys the table locates; a promise for movable ones. */
  const slotsOf = (args: Buffer[], item: LogPosition, name?: string): Routed | Promise<Routed> => {
    let keyIdx = table.keyIndexes(args, name)
    if (keyIdx === 'unknown') return 'unknown'
    if (keyIdx === 'movable') return movableSlotsOf(args, item)
    keyIdx = keyIdx.filter((i) => i < args.length)
    return { keys: keyIdx, slots: new Set(keyIdx.map((i) => keySlot(args[i]))) }
  }
  const movableSlotsOf = async (args: Buffer[], item: LogPosition): Promise<Routed> => {
    // Only the server knows (EVAL, ZUNIONSTORE, XREAD ...): ask it.
    seedWaitingSince = Date.now()
    try {
      const keys = (await Promise.race([
        target.seed.callBuffer('COMMAND', 'GETKEYS', ...args),
        stall,
      ])) as Buffer[]
      return { keys: [], slots: new Set(keys.map((k) => keySlot(k))) }
    } catch (err) {
      if (err === stalled) throw err
      const message = errorMessage(err)
      // Not a reply from the server (a lost connection): the replay cannot go on.
      if ((err as Error).name !== 'ReplyError') throw err
      if (isCommandRefusal({ message }))
        throw new UsageError(
          `cannot find the keys of the command at ${where(item)} (command #${item.number}): the target refuses COMMAND GETKEYS (${message})`,
          {
            code: 'refused',
            hint: 'Routing commands with movable keys (EVAL, ZUNIONSTORE ...) on a cluster needs COMMAND GETKEYS.',
          },
        )
      // The command has no keys (EVAL with numkeys 0), or arguments the server rejects: it gets
      // the server's own reply when sent.
      return { keys: [], slots: new Set() }
    } finally {
      seedWaitingSince = 0
    }
  }

  /** One command: queued at once on a standalone server, or when its keys are in one slot (the common case). */
  const sendOne = (item: ReplayItem, command: CommandName, db: number): Promise<void> | undefined => {
    const name = command.name
    // Sent as the log holds it unless something in it is rewritten (only non-plain commands are).
    const frame = command.plain ? item.frame : undefined
    const tag: Tag = {
      file: item.file,
      offset: item.offset,
      number,
      name,
      slot: 0,
      db,
      batch: undefined,
      start: 0,
      end: 0,
    }
    if (!cluster) return appendTo(tag, frame ?? item.args)
    if (frame && onlyKeyIsFirstArgument(command.spec, frame.argc)) {
      tag.slot = keySlotOf(frame.buf, frame.arg1Start, frame.arg1End)
      return appendTo(tag, frame)
    }
    const args = item.args
    const { spec } = table.lookup(args, name)
    // One key at a fixed place (GET, SET, HSET, INCR ...): its slot, nothing allocated.
    if (spec && !spec.movable && spec.first > 0 && spec.last === spec.first && spec.first < args.length) {
      tag.slot = keySlot(args[spec.first])
      return appendTo(tag, args)
    }
    const routed = slotsOf(args, tag, name)
    if (routed !== 'unknown' && !(routed instanceof Promise) && routed.slots.size === 1) {
      tag.slot = routed.slots.values().next().value!
      return appendTo(tag, args)
    }
    return sendRouted(tag, args, routed)
  }
  const sendRouted = async (tag: Tag, args: Buffer[], pending: Routed | Promise<Routed>) => {
    const name = tag.name
    const routed = await pending
    if (routed === 'unknown') {
      // The target does not know it: send it anyway so that the error is the server's own.
      tag.slot = primarySlots[0]
      await appendTo(tag, args)
      return
    }
    if (routed.slots.size === 0) {
      const full = args.length > 1 ? `${name}|${args[1].toString('latin1').toLowerCase()}` : name
      if (EVERY_PRIMARY.has(name) || EVERY_PRIMARY.has(full)) {
        await settle()
        for (const slot of primarySlots) await appendTo({ ...tag, slot }, args)
        await settle()
        report.broadcast++
        return
      }
      tag.slot = primarySlots[0]
      await appendTo(tag, args)
      return
    }
    if (routed.slots.size === 1) {
      tag.slot = routed.slots.values().next().value!
      await appendTo(tag, args)
      return
    }
    if (!SPLITTABLE.has(name) || routed.keys.length === 0) {
      throw new UsageError(
        `the command ${name.toUpperCase()} at ${where(tag)} has keys in different slots, which a cluster cannot run`,
        {
          code: 'cross-slot',
          hint: 'Replay it into a standalone server, or rewrite the keys with a common {hash tag}.',
        },
      )
    }
    // Split per slot: DEL/UNLINK/EXISTS/TOUCH take keys; MSET takes key-value pairs.
    const groups = new Map<number, Buffer[]>()
    const pairs = name === 'mset'
    for (const i of routed.keys) {
      const slot = keySlot(args[i])
      const group = groups.get(slot) ?? [args[0]]
      group.push(args[i])
      if (pairs) group.push(args[i + 1])
      groups.set(slot, group)
    }
    report.split++
    for (const [slot, group] of groups) await appendTo({ ...tag, slot }, group)
  }

  /** Queue a whole block: MULTI, its commands, EXEC, on one node. */
  const appendBlock = (block: Block): Promise<void> | undefined => {
    block.queueErrors = []
    if (!cluster && block.db !== laneDb) selectQueued(block.db, block.multi)
    const part = (at: LogPosition, name: string, index: number): Tag => ({
      file: at.file,
      offset: at.offset,
      number: at.number,
      name,
      slot: block.slot,
      start: 0,
      end: 0,
      db: block.db,
      block,
      index,
    })
    appendTo(part(block.multi, 'multi', -1), [MULTI])
    block.items.forEach((item, index) => appendTo(part(item, item.name, index), item.args))
    return appendTo(part(block.exec, 'exec', -1), block.exec.args)
  }
  const sendMulti = async (
    items: BlockItem[],
    exec: LogPosition & { args: Buffer[] },
    at: LogPosition,
    db: number,
  ) => {
    const slots = new Set<number>()
    if (cluster)
      for (const item of items) {
        const routed = await slotsOf(item.args, item)
        if (routed !== 'unknown') for (const s of routed.slots) slots.add(s)
      }
    if (cluster && slots.size > 1) {
      throw new UsageError(
        `the MULTI block at ${where(items[0] ?? exec)} touches keys in ${slots.size} slots; a cluster runs a transaction on one slot only`,
        {
          code: 'cross-slot',
          hint: 'Replay into a standalone server, or give the keys a common {hash tag}.',
        },
      )
    }
    const slot = slots.size ? [...slots][0] : primarySlots[0]
    const wait = appendBlock({ slot, db, items, multi: at, exec, queueErrors: [] })
    if (wait) await wait
  }

  /** Where the db of the current command was chosen: the log's last SELECT, or the command itself. */
  const dbOrigin = (item: ReplayItem, sourceDb: number): DbOrigin =>
    item.db === undefined && selectedAt.number > 0
      ? { ...selectedAt, sourceDb, viaSelect: true }
      : { file: item.file, offset: item.offset, number, sourceDb, viaSelect: false }

  const countDatasetWide = (args: Buffer[]) => {
    const found = datasetWideCommand(args)
    if (!found) return
    report.datasetWide.total++
    report.datasetWide.byCommand[found] = (report.datasetWide.byCommand[found] ?? 0) + 1
  }
  /** SWAPDB's two dbs go through the db map like SELECT's. */
  const mapSwapdb = (args: Buffer[]): Buffer[] => {
    if (!options.dbMap.size || args.length !== 3) return args
    const map = (a: Buffer) => {
      const db = parseSelectArg(a)
      return db === undefined ? a : Buffer.from(String(options.dbMap.get(db) ?? db))
    }
    return [args[0], map(args[1]), map(args[2])]
  }

  const started = Date.now()
  try {
    outer: for await (const batch of replayItems(input, {
      skipTruncatedTail: options.skipTruncatedTail,
      onTruncatedTail: (file, offset) => (report.truncatedTail = { file, offset }),
      rdbTarget: await rdbTarget(target, () => report.rebuilt++, emit),
    })) {
      for (const item of batch) {
        if (options.signal?.aborted) {
          report.stoppedAt = { file: item.file, offset: item.offset, reason: 'interrupted' }
          break outer
        }
        if (retryQueue.length || fatal) await settle()
        if (stopRequested) break outer
        if (
          options.untilMs !== undefined &&
          item.timestampMs !== undefined &&
          item.timestampMs > options.untilMs
        ) {
          report.stoppedAt = {
            file: item.file,
            offset: item.offset,
            reason: `--until reached (${new Date(item.timestampMs).toISOString()})`,
          }
          break outer
        }
        if (options.speed !== 'max' && item.timestampMs !== undefined) {
          pace ??= { t0: item.timestampMs, w0: Date.now() }
          const due = pace.w0 + (item.timestampMs - pace.t0) / options.speed
          const wait = due - Date.now()
          if (wait > 2) {
            await settle()
            const left = due - Date.now()
            if (left > 0) await Promise.race([sleep(left, options.signal), stall])
          }
        }
        // The further commands of a rebuilt RDB key share its number (the pre-pass counts the key once).
        if (!item.continues) number++
        tracker.add(1, item.size)
        report.bytes += item.size
        const command = item.frame
          ? names.of(item.frame.buf, item.frame.nameStart, item.frame.nameEnd)
          : names.of(item.args[0], 0, item.args[0].length)
        const name = command.name
        if (name === 'select') {
          const db = parseSelectArg(item.args[1])
          // The pre-pass refuses it before anything is sent; kept for safety.
          if (db === undefined) throw new UsageError(`invalid SELECT at ${where(item)}`)
          logDb = db
          selectedAt = { file: item.file, offset: item.offset, number }
          continue
        }
        const sourceDb = item.db ?? logDb
        const db = mapDb(sourceDb, item)
        if (multi) {
          if (name === 'exec') {
            await selectDb(multi.db, multi.origin)
            if (scan.datasetWideTotal) for (const i of multi.items) countDatasetWide(i.args)
            await sendMulti(
              multi.items,
              { file: item.file, offset: item.offset, number, args: item.args },
              multi.at,
              multi.db,
            )
            report.commands += multi.items.length + 2
            multi = undefined
          } else if (name === 'discard') {
            multi = undefined
          } else {
            const args = name === 'swapdb' ? mapSwapdb(item.args) : item.args
            multi.items.push({ file: item.file, offset: item.offset, number, args, name })
          }
          continue
        }
        if (name === 'multi') {
          multi = {
            items: [],
            db,
            origin: dbOrigin(item, sourceDb),
            at: { file: item.file, offset: item.offset, number },
          }
          continue
        }
        if (command.admin) {
          report.skippedAdmin++
          continue
        }
        if (!cluster && db !== laneDb) await selectDb(db, dbOrigin(item, sourceDb))
        if (scan.datasetWideTotal && !command.plain) {
          countDatasetWide(item.args)
          if (name === 'swapdb') item.args = mapSwapdb(item.args)
        }
        const wait = sendOne(item, command, db)
        if (wait) await wait
        report.commands++
        if (Date.now() - lastProgress > 500) {
          lastProgress = Date.now()
          const rateBytes = report.bytes / Math.max(0.001, (Date.now() - started) / 1000)
          emit({
            ...tracker.snapshot(),
            total: undefined,
            etaSeconds: rateBytes > 0 ? Math.round((input.totalBytes - report.bytes) / rateBytes) : undefined,
            detail: `${Math.round((100 * report.bytes) / Math.max(1, input.totalBytes))}% of ${input.totalBytes} bytes`,
          })
        }
      }
    }
    await settle()
  } catch (err) {
    watch.stop()
    const cause = stalled ?? err
    if (cause instanceof UsageError) {
      // A command the target cannot take as it is: what came before it is applied, then the
      // problem is reported.
      await settle().catch(() => {})
      await pipeline.close()
      throw new UsageError(cause.message, {
        code: cause.code,
        hint: `${cause.hint ?? ''} ${plural(report.commands, 'command')} before it were replayed.`.trim(),
      })
    }
    // A refused SELECT, a stalled node, retries given up, a lost connection: nothing more is sent.
    pipeline.abort(cause instanceof Error ? cause : new Error(String(cause)))
    await pipeline.close()
    throw cause instanceof OperationError
      ? cause
      : new OperationError(
          `replay failed after ${plural(report.commands, 'command')}: ${errorMessage(cause)}`,
          {
            cause,
          },
        )
  }
  watch.stop()
  await pipeline.close()
  report.seconds = (Date.now() - started) / 1000
  report.commandsPerSecond =
    report.seconds > 0 ? Math.round(report.commands / report.seconds) : report.commands
  if (stopRequested) report.stoppedAt = stopRequested
  emit({ ...tracker.snapshot(), total: undefined })
  return report
}

/**
 * The target's RDB version, for RDB parts of the log: values it can read are RESTOREd labelled
 * with it, the others rebuilt with commands (said once per file, counted in the report).
 */
async function rdbTarget(
  target: Deployment,
  count: () => void,
  emit: EventSink,
): Promise<RdbTarget | undefined> {
  let caps: { engine: string; version: string } | undefined = target.capabilities
  if (!caps) {
    // Not probed: INFO server says which server it is (where INFO is refused, values go as labelled).
    try {
      const info = parseInfoSections(String(await target.seed.info('server'))).server ?? {}
      const valkey = info.server_name?.toLowerCase() === 'valkey' || info.valkey_version !== undefined
      const version = (valkey ? info.valkey_version : undefined) ?? info.redis_version
      if (!version) return undefined
      caps = { engine: valkey ? 'valkey' : 'redis', version }
    } catch (err) {
      if ((err as Error).name !== 'ReplyError') throw err
      return undefined
    }
  }
  const { engine, version: serverVersion } = caps
  const version = rdbVersionForServer(engine, serverVersion)
  const said = new Set<string>()
  return {
    version,
    legacyStreams: engine === 'redis' && !versionAtLeast(serverVersion, '7.0.0'),
    onRebuilt: (file, header) => {
      count()
      if (said.has(file)) return
      said.add(file)
      emit({
        type: 'warning',
        message: `${file}: RDB ${header.version} values the target (${engine} ${serverVersion}, RDB ${version}) cannot RESTORE are rebuilt with commands (MULTI, DEL, SET/RPUSH/SADD/HSET/ZADD/XADD ..., EXEC)`,
      })
    },
  }
}

/** --speed: max, 1x, 2.5x, or a bare number. */
export function parseSpeed(value: string): 'max' | number {
  if (value === 'max') return 'max'
  const m = /^(\d*\.?\d+)x?$/.exec(value)
  if (!m || !(Number(m[1]) > 0))
    throw new UsageError(`invalid --speed '${value}': expected max, 1x or a multiple such as 2x`)
  return Number(m[1])
}

/** --until: epoch seconds, epoch ms, or an ISO 8601 time. */
export function parseUntil(value: string): number {
  if (/^\d+(\.\d+)?$/.test(value)) {
    const n = Number(value)
    return n < 1e11 ? n * 1000 : n
  }
  const t = Date.parse(value)
  if (Number.isNaN(t))
    throw new UsageError(
      `invalid --until '${value}': expected epoch seconds or an ISO time such as 2026-11-22T10:00:00Z`,
    )
  return t
}
