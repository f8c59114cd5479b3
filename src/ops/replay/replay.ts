import type { Deployment } from '../../connect/deployment.js'
import { keySlot, RoutedPipeline, type CommandBatch } from '../../wire/routed-pipeline.js'
import { RespError, type Reply } from '../../wire/reply-parser.js'
import { OperationError, UsageError } from '../../errors.js'
import { isAdminCommand } from '../capture/capture.js'
import { ProgressTracker, type EventSink } from '../progress.js'
import { CommandTable } from './command-table.js'
import { replayItems, type ReplayInput, type ReplayItem } from './sources.js'

export interface ReplayOptions {
  /** 'max', or a multiple of the recorded pace (1 = as recorded). */
  speed: 'max' | number
  /** Stop before the first command recorded after this time (epoch ms). */
  untilMs?: number
  /** Source db -> target db. */
  dbMap: Map<number, number>
  stopOnError: boolean
  skipTruncatedTail: boolean
  signal?: AbortSignal
  onEvent?: EventSink
}

export interface ReplayErrorSample {
  file: string
  offset: number
  command: string
  message: string
}

export interface ReplayReport {
  format: string
  files: string[]
  target: string
  mode: string
  commands: number
  skippedAdmin: number
  split: number
  broadcast: number
  errors: { total: number; byKind: Record<string, number>; first: ReplayErrorSample[] }
  bytes: number
  seconds: number
  commandsPerSecond: number
  stoppedAt?: { file: string; offset: number; reason: string }
  truncatedTail?: { file: string; offset: number }
}

interface Tag {
  file: string
  offset: number
  name: string
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

function commandName(args: Buffer[]): string {
  return args[0].toString('latin1').toLowerCase()
}

function where(item: { file: string; offset: number }): string {
  return `${item.file} at byte offset ${item.offset}`
}

/**
 * Replay a command log onto a target: routed by slot on a cluster (multi-key commands split where
 * that keeps their meaning, MULTI/EXEC kept whole on one node, dataset-wide commands sent to every
 * primary), SELECT tracked and mapped, paced by recorded time when asked, streamed with
 * backpressure so memory stays flat.
 */
export async function replay(
  input: ReplayInput,
  target: Deployment,
  options: ReplayOptions,
): Promise<ReplayReport> {
  const emit = options.onEvent ?? (() => {})
  const cluster = target.topology.mode === 'cluster'
  const table = CommandTable.fromCommandReply((await target.seed.call('COMMAND')) as Reply)
  const report: ReplayReport = {
    format: input.format,
    files: input.files.map((f) => f.path),
    target: target.primaries.map((p) => p.address).join(','),
    mode: target.topology.mode,
    commands: 0,
    skippedAdmin: 0,
    split: 0,
    broadcast: 0,
    errors: { total: 0, byKind: {}, first: [] },
    bytes: 0,
    seconds: 0,
    commandsPerSecond: 0,
  }
  let stopRequested: { file: string; offset: number; reason: string } | undefined
  const onReply = (reply: Reply, tag: Tag) => {
    const errors =
      reply instanceof RespError
        ? [reply]
        : Array.isArray(reply)
          ? reply.filter((r): r is RespError => r instanceof RespError)
          : []
    for (const err of errors) {
      report.errors.total++
      report.errors.byKind[err.prefix] = (report.errors.byKind[err.prefix] ?? 0) + 1
      if (report.errors.first.length < FIRST_ERRORS)
        report.errors.first.push({
          file: tag.file,
          offset: tag.offset,
          command: tag.name,
          message: err.message,
        })
      if (options.stopOnError) stopRequested ??= { file: tag.file, offset: tag.offset, reason: err.message }
    }
  }
  const pipeline = new RoutedPipeline<Tag>({ spec: target.spec, topology: target.topology, onReply })
  const primarySlots = cluster
    ? target.primaries.filter((p) => p.slots.length).map((p) => p.slots[0][0])
    : [0]
  const tracker = new ProgressTracker('replay', 'commands')
  let lastProgress = 0
  let logDb = 0
  let laneDb = 0
  let pace: { t0: number; w0: number } | undefined
  let multi: { items: ReplayItem[]; db: number } | undefined

  /** Queue a command; a promise only when the node's window is full (wait for it: backpressure). */
  const appendTo = (slot: number, args: Buffer[], tag: Tag): Promise<void> | undefined => {
    const batch: CommandBatch<Tag> = pipeline.batchFor(slot)
    batch.begin()
    batch.header(0x2a, args.length)
    for (const a of args) batch.bulk(a)
    batch.end(tag)
    return pipeline.written(slot)
  }

  const mapDb = (db: number, item: ReplayItem): number => {
    const mapped = options.dbMap.get(db) ?? db
    if (cluster && mapped !== 0) {
      throw new UsageError(`the command at ${where(item)} is in db ${db}, and a cluster holds only db 0`, {
        code: 'db-not-allowed',
        hint: `Map it with --db-map ${db}:0 (keys from several dbs may then collide).`,
      })
    }
    return mapped
  }

  const selectOnStandalone = async (db: number) => {
    if (cluster || db === laneDb) return
    await appendTo(0, [Buffer.from('SELECT'), Buffer.from(String(db))], {
      file: '',
      offset: -1,
      name: 'select',
    })
    laneDb = db
  }

  type Routed = { keys: number[]; slots: Set<number> } | 'unknown'
  /** Synchronous for every command whose keys the table locates; a promise for movable ones. */
  const slotsOf = (args: Buffer[], item: ReplayItem, name?: string): Routed | Promise<Routed> => {
    let keyIdx = table.keyIndexes(args, name)
    if (keyIdx === 'unknown') return 'unknown'
    if (keyIdx === 'movable') return movableSlotsOf(args, item)
    keyIdx = keyIdx.filter((i) => i < args.length)
    return { keys: keyIdx, slots: new Set(keyIdx.map((i) => keySlot(args[i]))) }
  }
  const movableSlotsOf = async (args: Buffer[], item: ReplayItem): Promise<Routed> => {
    {
      // Only the server knows (EVAL, ZUNIONSTORE, XREAD ...): ask it.
      try {
        const keys = (await target.seed.callBuffer('COMMAND', 'GETKEYS', ...args)) as Buffer[]
        const slots = new Set(keys.map((k) => keySlot(k)))
        return { keys: [], slots }
      } catch (err) {
        const message = (err as Error).message
        if (/no key arguments|Invalid arguments|Invalid number/i.test(message))
          return { keys: [], slots: new Set() }
        throw new UsageError(`cannot find the keys of the command at ${where(item)}: ${message}`)
      }
    }
  }

  /** One command: queued at once when its keys are in one slot (the common case), else routed below. */
  const sendOne = (item: ReplayItem, name: string): Promise<void> | undefined => {
    const args = item.args
    const { spec } = table.lookup(args, name)
    // One key at a fixed place (GET, SET, HSET, INCR ...): its slot, nothing allocated.
    if (spec && !spec.movable && spec.first > 0 && spec.last === spec.first && spec.first < args.length)
      return appendTo(cluster ? keySlot(args[spec.first]) : 0, args, {
        file: item.file,
        offset: item.offset,
        name,
      })
    const routed = slotsOf(item.args, item, name)
    if (routed !== 'unknown' && !(routed instanceof Promise) && routed.slots.size === 1)
      return appendTo(routed.slots.values().next().value!, item.args, {
        file: item.file,
        offset: item.offset,
        name,
      })
    return sendRouted(item, name, routed)
  }
  const sendRouted = async (item: ReplayItem, name: string, pending: Routed | Promise<Routed>) => {
    const args = item.args
    const tag = { file: item.file, offset: item.offset, name }
    const routed = await pending
    if (routed === 'unknown') {
      // The target does not know it: send it anyway so that the error is the server's own.
      await appendTo(primarySlots[0], args, tag)
      return
    }
    if (routed.slots.size === 0) {
      const full = args.length > 1 ? `${name}|${args[1].toString('latin1').toLowerCase()}` : name
      if (EVERY_PRIMARY.has(name) || EVERY_PRIMARY.has(full)) {
        if (cluster) {
          await pipeline.flush()
          for (const slot of primarySlots) await appendTo(slot, args, tag)
          await pipeline.flush()
          report.broadcast++
          return
        }
      }
      await appendTo(primarySlots[0], args, tag)
      return
    }
    if (routed.slots.size === 1) {
      const wait = appendTo(routed.slots.values().next().value!, args, tag)
      if (wait) await wait
      return
    }
    if (!SPLITTABLE.has(name) || routed.keys.length === 0) {
      throw new UsageError(
        `the command ${name.toUpperCase()} at ${where(item)} has keys in different slots, which a cluster cannot run`,
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
    for (const [slot, group] of groups) await appendTo(slot, group, tag)
  }

  const sendMulti = async (block: ReplayItem[], exec: ReplayItem) => {
    const slots = new Set<number>()
    for (const item of block) {
      const routed = await slotsOf(item.args, item)
      if (routed !== 'unknown') for (const s of routed.slots) slots.add(s)
    }
    if (cluster && slots.size > 1) {
      throw new UsageError(
        `the MULTI block at ${where(block[0] ?? exec)} touches keys in ${slots.size} slots; a cluster runs a transaction on one slot only`,
        {
          code: 'cross-slot',
          hint: 'Replay into a standalone server, or give the keys a common {hash tag}.',
        },
      )
    }
    const slot = slots.size ? [...slots][0] : primarySlots[0]
    await appendTo(slot, [Buffer.from('MULTI')], {
      file: exec.file,
      offset: block[0]?.offset ?? exec.offset,
      name: 'multi',
    })
    for (const item of block)
      await appendTo(slot, item.args, { file: item.file, offset: item.offset, name: commandName(item.args) })
    await appendTo(slot, exec.args, { file: exec.file, offset: exec.offset, name: 'exec' })
  }

  const started = Date.now()
  try {
    outer: for await (const batch of replayItems(input, {
      skipTruncatedTail: options.skipTruncatedTail,
      onTruncatedTail: (file, offset) => (report.truncatedTail = { file, offset }),
    })) {
      for (const item of batch) {
        if (options.signal?.aborted) {
          report.stoppedAt = { file: item.file, offset: item.offset, reason: 'interrupted' }
          break outer
        }
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
            await pipeline.flush()
            const left = due - Date.now()
            if (left > 0) await new Promise((r) => setTimeout(r, left))
          }
        }
        tracker.add(1, item.size)
        report.bytes += item.size
        const name = commandName(item.args)
        if (name === 'select') {
          logDb = Number(item.args[1]?.toString('latin1'))
          if (!Number.isInteger(logDb) || logDb < 0) throw new UsageError(`invalid SELECT at ${where(item)}`)
          continue
        }
        const db = mapDb(item.db ?? logDb, item)
        if (multi) {
          if (name === 'exec') {
            await selectOnStandalone(multi.db)
            await sendMulti(multi.items, item)
            report.commands += multi.items.length + 2
            multi = undefined
          } else if (name === 'discard') {
            multi = undefined
          } else {
            multi.items.push(item)
          }
          continue
        }
        if (name === 'multi') {
          multi = { items: [], db }
          continue
        }
        if (isAdminCommand(name) && name !== 'select') {
          report.skippedAdmin++
          continue
        }
        if (!cluster && db !== laneDb) await selectOnStandalone(db)
        const wait = sendOne(item, name)
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
    await pipeline.flush()
  } catch (err) {
    // Whatever was read before the problem is applied, then the problem is reported.
    await pipeline.flush().catch(() => {})
    await pipeline.close()
    if (err instanceof UsageError) {
      throw new UsageError(err.message, {
        code: err.code,
        hint: `${err.hint ?? ''} ${report.commands} commands before it were replayed.`.trim(),
      })
    }
    throw err instanceof OperationError
      ? err
      : new OperationError(`replay failed after ${report.commands} commands: ${(err as Error).message}`, {
          cause: err,
        })
  }
  await pipeline.close()
  report.seconds = (Date.now() - started) / 1000
  report.commandsPerSecond =
    report.seconds > 0 ? Math.round(report.commands / report.seconds) : report.commands
  if (stopRequested) report.stoppedAt = stopRequested
  emit({ ...tracker.snapshot(), total: undefined })
  return report
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
