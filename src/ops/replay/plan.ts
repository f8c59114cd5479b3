import type { SeededTarget } from '../../connect/target.js'
import type { TopologyNode } from '../../connect/topology.js'
import { openRawNode } from '../../wire/node.js'
import { RespError } from '../../wire/reply-parser.js'
import { isCommandRefusal } from '../../wire/classify.js'
import { KvtopError, UsageError } from '../../errors.js'
import { formatBytes } from '../../format/units.js'
import { mapConnectError } from '../../wire/connect-errors.js'
import { nodeDialOptions } from '../../wire/dial.js'
import type { NodeAddress } from '../../wire/spec.js'
import { parseInfoSections, parseKeyspace } from '../../redis/info.js'
import type { OperationContext } from '../context.js'
import type { ReplayOptions } from './options.js'
import { plural, where, type ReplayReport } from './report.js'
import { formatCounts, scanLog, type LogScan } from './scan.js'
import type { ReplayInput } from './sources.js'

/**
 * Keys on every primary of the target, all dbs (INFO keyspace; DBSIZE, db 0 only, where INFO is
 * refused), with a short description of where they are. Asked of every primary at once, on the
 * seed connection where the primary is the seed.
 */
async function targetKeyCount(target: SeededTarget): Promise<{ total: number; where: string[] }> {
  const counts = await Promise.all(target.primaries.map((node) => keysOn(target, node)))
  let total = 0
  const found: string[] = []
  target.primaries.forEach((node, i) => {
    const held = counts[i].filter(([, n]) => n > 0)
    for (const [, n] of held) total += n
    if (held.length) found.push(`${node.address} ${held.map(([db, n]) => `db${db} ${n}`).join(', ')}`)
  })
  return { total, where: found }
}

/** [db, keys] of one primary. */
async function keysOn(target: SeededTarget, node: TopologyNode): Promise<[string, number][]> {
  const own = node.address === target.seed.address
  const conn = own ? target.seed : await openRawNode(target.spec, node, { name: 'kvtop-replay' })
  try {
    const info = await conn.call(['INFO', 'keyspace'])
    if (!(info instanceof RespError)) {
      const keyspace = parseKeyspace(parseInfoSections(String(info)).keyspace)
      return Object.entries(keyspace).map(([db, ks]) => [db, ks.keys])
    }
    if (!isCommandRefusal(info)) throw info
    const dbsize = await conn.call(['DBSIZE'])
    if (!(dbsize instanceof RespError)) return [['0', Number(dbsize)]]
    if (!isCommandRefusal(dbsize)) throw dbsize
    throw new UsageError(
      `cannot tell whether the target is empty: ${node.address} refuses INFO keyspace and DBSIZE (${info.message})`,
      { code: 'target-not-empty', hint: 'Pass --replace to replay without this check.' },
    )
  } catch (err) {
    throw transportError(err, target, node)
  } finally {
    if (!own) conn.close()
  }
}

/**
 * A node that stopped answering (or closed the connection) while the target was looked at, before
 * anything was sent: a connection error (exit 3) naming it, as a failure to connect would be.
 */
export function transportError(err: unknown, target: SeededTarget, node: NodeAddress): unknown {
  if (err instanceof KvtopError || !(err as NodeJS.ErrnoException)?.code) return err
  return mapConnectError(err, nodeDialOptions(target.spec, node).context)
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
 * The pre-pass over the whole log (scanLog), with its progress: started before the target is
 * connected, as it needs nothing of it (the scan is this process's work, connecting the servers').
 */
export function scanBeforeSending(
  input: ReplayInput,
  options: ReplayOptions,
  context: OperationContext,
  signal: AbortSignal,
): Promise<LogScan> {
  context.phase('scan', `reading ${formatBytes(input.totalBytes)} before replaying`)
  const scanTracker = context.tracker('scan', 'commands')
  let scannedBytes = 0
  return scanLog(input, {
    untilMs: options.untilMs,
    skipTruncatedTail: options.skipTruncatedTail,
    signal,
    onProgress: (commands, bytes) => {
      scanTracker.add(commands - scanTracker.done, bytes - scannedBytes)
      scannedBytes = bytes
      context.emit({
        ...scanTracker.snapshot(),
        detail: `${Math.round((100 * bytes) / Math.max(1, input.totalBytes))}% of ${input.totalBytes} bytes`,
      })
    },
  })
}

/**
 * The plan, before anything is sent: the pre-pass over the whole log (`scanning`), the target's
 * keys, what must be refused, the confirmation of dataset-wide commands.
 */
export async function planReplay(
  scanning: Promise<LogScan>,
  target: SeededTarget,
  options: ReplayOptions,
  report: ReplayReport,
  context: OperationContext,
): Promise<LogScan> {
  const cluster = target.topology.mode === 'cluster'
  // The target is asked while the log is read: the scan is this process's work, the count the server's.
  const counted = targetKeyCount(target).catch((err) => {
    if (options.replace) return undefined
    throw err
  })
  counted.catch(() => {})
  const scan = await scanning
  report.scanSeconds = scan.seconds
  const keys = await counted
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
    context.warn(
      `the log holds ${plural(scan.datasetWideTotal, 'dataset-wide command')} (${formatCounts(scan.datasetWide)}); --allow-flush: they are replayed`,
    )
  context.phase('replay', plural(scan.commands, 'command'))
  return scan
}
