import { randomBytes } from 'node:crypto'
import { stat } from 'node:fs/promises'
import type { Deployment } from '../../connect/deployment.js'
import { versionAtLeast } from '../../connect/capabilities.js'
import { escapeBytes } from '../../data/escape.js'
import { openRawNode } from '../../wire/node.js'
import { keySlot, keySlotOf, RoutedPipeline, type CommandBatch } from '../../wire/routed-pipeline.js'
import { rdbVersionForServer, RDB_OPCODE, typeInfo, type RdbDialect } from '../../data/rdb/constants.js'
import { buildDumpPayload, writeDumpPayload } from '../../data/rdb/dump.js'
import {
  keyAtOffset,
  RdbReader,
  type ChecksumStatus,
  type RdbEntry,
  type RdbHeader,
} from '../../data/rdb/reader.js'
import { restoreLabel } from '../../data/rdb/versions.js'
import { decodeForRebuild, rebuildTransaction, sameSlotKey } from '../../data/rdb/to-commands.js'
import { RespError, type Reply } from '../../wire/reply-parser.js'
import { classifyReply } from '../../wire/classify.js'
import { DEFAULT_STALL_TIMEOUT_MS, StallWatch, stallMessage, type Watched } from '../../wire/stall-watch.js'
import { KvtopError, OperationError, UsageError, errorMessage } from '../../errors.js'
import { ProgressTracker } from '../progress.js'
import type { EventSink } from '../events.js'
import { fileError } from './inspect.js'

/**
 * How keys are written: `dump` RESTOREs every key (a value the target cannot read is refused before
 * anything is sent); `logical` rebuilds every key with ordinary commands (SET, RPUSH, SADD, HSET,
 * ZADD, XADD ..., one MULTI/EXEC per key); `auto` RESTOREs what the target reads and rebuilds with
 * commands the values whose encoding is newer than the target's RDB version (a Valkey 8 or Redis
 * 7.2 file into Redis 7.0: listpack sets, streams), saying so — or everything when the target
 * refuses RESTORE.
 */
export type RestoreMode = 'auto' | 'dump' | 'logical'
export const RESTORE_MODES: RestoreMode[] = ['auto', 'dump', 'logical']

export interface RestoreOptions {
  /** Default 'auto'. */
  mode?: RestoreMode
  /** Overwrite keys that exist on the target (RESTORE ... REPLACE). */
  replace?: boolean
  /** With --replace: called when keys of the file exist on the target, before anything is written (throws to refuse). */
  confirmReplace?: (existing: number, total: number) => Promise<void>
  /** File db -> target db. */
  dbMap?: Map<number, number>
  /** Restore even when the file's CRC-64 does not match. */
  ignoreChecksum?: boolean
  signal?: AbortSignal
  onEvent?: EventSink
  /** Bytes per write to one node, and writes in flight per node. */
  batchBytes?: number
  window?: number
  now?: () => number
  /** A target node that owes replies and sends nothing this long stops the restore (exit 5); 0: never. Default 60 s. */
  stallTimeoutMs?: number
  /** Back-off before each new try of keys refused for now (OOM, LOADING, TRYAGAIN ...); its length bounds the tries. */
  retryDelaysMs?: readonly number[]
}

/** Back-off for keys the target refused for now: about 13 s in all, then they count as failed. */
const RETRY_DELAYS_MS = [250, 500, 1000, 2000, 4000, 5000]

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

/** A stall watch over a routed pipeline's connections: the silentest node, which aborts the whole pipeline. */
function watchPipeline<T>(watch: StallWatch, pipeline: RoutedPipeline<T>): () => void {
  return watch.addSource(function* (): Iterable<Watched> {
    const worst = pipeline.silentest()
    if (worst)
      yield { address: worst.address, target: { silentForMs: worst.ms, abort: (err) => pipeline.abort(err) } }
  })
}

export interface RestoreReport {
  file: string
  rdbVersion: number
  checksum: ChecksumStatus
  target: { mode: string; engine: string; version: string; primaries: string[] }
  /** Per file db: where its keys went and how many. */
  dbs: { from: number; to: number; keys: number }[]
  keys: number
  restored: number
  /** Keys whose expire time had passed: not sent. */
  expired: number
  /** Keys refused because they exist (BUSYKEY), when another client created them meanwhile. */
  existing: number
  failed: number
  errors: { message: string; count: number; example: string }[]
  functions: number
  /** Values relabelled with the target's older RDB version (their types are known to it). */
  relabelled: number
  /** --mode as given. */
  mode: RestoreMode
  /** Keys written with commands instead of RESTORE (sent, whether or not the target took them). */
  rebuilt: number
  seconds: number
  keysPerSecond: number
  warnings: string[]
}

interface FileSummary {
  header: RdbHeader
  checksum: ChecksumStatus
  stored?: string
  computed?: string
  keys: number
  dbKeys: Map<number, number>
  types: Map<number, number>
  functions: Buffer[]
  modules: string[]
}

/**
 * Read the whole file once before anything is sent: its CRC-64 (slicing-by-8 WebAssembly, about
 * disk speed) and its record structure (dbs, types, functions: what the refusals below need),
 * values skipped by their lengths, not opened. A file whose CRC-64 matches is what the server wrote,
 * so its values are not walked one by one here; a file without a usable checksum (saved with
 * rdbchecksum no, or restored with --ignore-checksum) is, with `validate`, so that a damaged value
 * still stops the restore before anything is sent.
 */
async function summarize(
  path: string,
  emit: EventSink,
  size: number,
  validate = false,
): Promise<FileSummary> {
  const reader = RdbReader.fromFile(path, { entries: 'count', validate })
  const s: FileSummary = {
    header: { magic: 'REDIS', version: 0, dialect: 'oss' },
    checksum: 'absent',
    keys: 0,
    dbKeys: reader.tally.perDb,
    types: reader.tally.perType,
    functions: [],
    modules: [],
  }
  const tracker = new ProgressTracker('verify', 'bytes', size)
  let last = 0
  try {
    for await (const batch of reader.batches()) {
      for (const rec of batch) {
        if (rec.kind === 'header') s.header = rec.header
        else if (rec.kind === 'function') s.functions.push(Buffer.from(rec.code))
        else if (rec.kind === 'module-aux') s.modules.push(rec.module)
        else if (rec.kind === 'eof') {
          s.checksum = rec.checksum
          s.stored = rec.storedChecksum
          s.computed = rec.computedChecksum
        }
      }
      const t = Date.now()
      if (t - last > 250) {
        last = t
        tracker.add(reader.offset - tracker.done)
        emit(tracker.snapshot())
      }
    }
    s.keys = reader.tally.keys
  } catch (err) {
    throw fileError(path, err)
  }
  return s
}

const RESTORE_HEAD = Buffer.from('$7\r\nRESTORE\r\n')
const ABSTTL = Buffer.from('$6\r\nABSTTL\r\n')
const REPLACE = Buffer.from('$7\r\nREPLACE\r\n')

/** A key rebuilt with commands: its MULTI ... EXEC block. */
interface RebuildBlockState {
  /** File offset of the key's entry. */
  offset: number
  /** Refusals of queued commands (the EXEC that follows is refused as a whole). */
  queueErrors: RespError[]
  existedAt?: number
  existedWhen?: 0 | 1
  /** The key's expire time (ms since the epoch), if it has one. */
  expireAt?: number
}

/** The tag of a command of a rebuild block; `exec` on its EXEC. */
interface BlockTag {
  block: RebuildBlockState
  exec: boolean
}

/**
 * A command's tag: the file offset of its entry (to name the key in errors), -1 for SELECT, -2 for
 * DEL; a BlockTag for the commands of a key rebuilt with commands.
 */
type Tag = number | BlockTag

/**
 * `kvtop snapshot restore`: RESTORE every key of an RDB file into a standalone server or a cluster,
 * pipelined per node. The file is verified end to end (structure and CRC-64) before anything is
 * sent; existing keys are refused (nothing is written) unless `replace`; databases a cluster cannot
 * hold are refused unless mapped.
 */
export async function restoreSnapshot(
  deployment: Deployment,
  path: string,
  options: RestoreOptions = {},
): Promise<RestoreReport> {
  const started = performance.now()
  const emit = options.onEvent ?? (() => {})
  const now = options.now ?? Date.now
  const warnings: string[] = []
  const warn = (message: string) => {
    warnings.push(message)
    emit({ type: 'warning', message })
  }
  let size: number
  try {
    const st = await stat(path)
    if (st.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' })
    size = st.size
  } catch (err) {
    throw fileError(path, err)
  }
  const caps = deployment.capabilities
  const topology = deployment.topology
  const cluster = topology.mode === 'cluster'
  const refused = new Set(caps?.refused ?? [])
  const mode = options.mode ?? 'auto'
  if (refused.has('restore') && mode === 'dump') {
    throw new UsageError('the target refuses RESTORE for this user', {
      code: 'refused',
      hint: '--mode dump writes keys with RESTORE: grant +restore to the ACL user, or use --mode auto or logical (ordinary write commands).',
    })
  }

  // 1. The file, verified end to end.
  emit({ type: 'phase', phase: 'verifying', detail: path })
  let summary = await summarize(path, emit, size)
  if (summary.checksum !== 'ok' && (summary.checksum !== 'mismatch' || options.ignoreChecksum))
    summary = await summarize(path, emit, size, true)
  if (summary.checksum === 'mismatch' && !options.ignoreChecksum) {
    throw new UsageError(
      `${path}: the CRC-64 checksum does not match (stored ${summary.stored}, computed ${summary.computed}): nothing was restored`,
      {
        code: 'checksum',
        hint: 'The file is damaged. To restore what it holds anyway, pass --ignore-checksum.',
      },
    )
  }
  if (summary.checksum === 'mismatch')
    warn('the file fails its CRC-64 check; restoring anyway (--ignore-checksum)')
  if (summary.checksum === 'disabled')
    warn('the file carries no checksum (saved with rdbchecksum no): it could not be verified')
  if (summary.modules.length)
    warn(`module AUX data (${summary.modules.join(', ')}) cannot be restored with commands and was skipped`)

  // 2. Where each database goes.
  const dbMap = options.dbMap ?? new Map<number, number>()
  const targetDb = (db: number) => dbMap.get(db) ?? db
  for (const from of dbMap.keys()) {
    if (!summary.dbKeys.has(from))
      warn(`--db-map ${from}:${dbMap.get(from)}: the file has no keys in db ${from}`)
  }
  if (cluster) {
    const bad = [...summary.dbKeys].filter(([db]) => targetDb(db) !== 0)
    if (bad.length) {
      throw new UsageError(
        `the target is a cluster and holds only db 0, but the file has keys in ${bad.map(([db, n]) => `db ${db} (${n} keys)`).join(', ')}: nothing was restored`,
        { code: 'db-refused', hint: `Map them to db 0: ${bad.map(([db]) => `--db-map ${db}:0`).join(' ')}` },
      )
    }
  }
  const merged = new Map<number, number[]>()
  for (const db of summary.dbKeys.keys()) merged.set(targetDb(db), [...(merged.get(targetDb(db)) ?? []), db])
  if (!options.replace) {
    for (const [to, froms] of merged) {
      if (froms.length > 1) {
        warn(
          `dbs ${froms.join(', ')} all go to db ${to}: a key present in more than one of them is refused as existing`,
        )
      }
    }
  }

  // 3. Can the target read these values? What it cannot read (or everything, with --mode logical
  // or a target refusing RESTORE) is rebuilt with commands.
  const engine = caps?.engine ?? 'redis'
  const targetVersion = caps ? rdbVersionForServer(engine, caps.version) : summary.header.version
  const dialect = summary.header.dialect
  const allLogical = mode === 'logical' || (mode === 'auto' && refused.has('restore'))
  if (allLogical && mode === 'auto')
    warn('the target refuses RESTORE for this user: every key is rebuilt with commands (--mode auto)')
  const labels = new Map<number, number>()
  /** RDB types rebuilt with commands, with their key counts. */
  const rebuild = new Map<number, number>()
  const unreadable: string[] = []
  const modules: string[] = []
  for (const [type, n] of summary.types) {
    const label = allLogical
      ? undefined
      : restoreLabel(type, summary.header.version, summary.header.dialect, targetVersion)
    const info = typeInfo(type, dialect)
    if (label !== undefined) labels.set(type, label)
    else if (mode === 'dump') unreadable.push(`type ${type} (${n} keys)`)
    else if (!info || info.kind === 'module') modules.push(`type ${type} (${n} keys)`)
    else rebuild.set(type, n)
  }
  if (unreadable.length) {
    throw new UsageError(
      `the target (${engine} ${caps?.version}, RDB ${targetVersion}) cannot read values of ${unreadable.join(', ')} from this RDB ${summary.header.version} file: nothing was restored`,
      {
        code: 'version',
        hint: 'Restore into a server of the version that wrote the file, or newer; or leave out --mode dump: --mode auto (the default) rebuilds those values with commands.',
      },
    )
  }
  if (modules.length) {
    throw new UsageError(
      `${allLogical ? 'module values cannot be rebuilt with commands' : `the target (${engine} ${caps?.version}, RDB ${targetVersion}) cannot read`} (${modules.join(', ')}) from this RDB ${summary.header.version} file: nothing was restored`,
      {
        code: 'version',
        hint: 'Module values are restored with RESTORE only: restore into a server with the module that can read the file (--mode dump).',
      },
    )
  }
  let relabelled = 0
  for (const [type, label] of labels)
    if (label !== summary.header.version) relabelled += summary.types.get(type) ?? 0
  if (relabelled) {
    warn(`${relabelled} values are labelled RDB ${targetVersion} for the target (their encodings predate it)`)
  }
  const toRebuild = [...rebuild.values()].reduce((a, n) => a + n, 0)
  if (toRebuild && !allLogical) {
    const kinds = [...rebuild]
      .map(([type, n]) => `${n} ${typeInfo(type, dialect)?.kind} (${typeInfo(type, dialect)?.encoding})`)
      .join(', ')
    warn(
      `${toRebuild} keys are rebuilt with commands (--mode auto): the target (${engine} ${caps?.version}) reads RDB ${targetVersion} and cannot RESTORE their RDB ${summary.header.version} encodings: ${kinds}`,
    )
  }
  if (toRebuild)
    emit({
      type: 'phase',
      phase: 'mode',
      detail: allLogical
        ? `${mode === 'logical' ? '--mode logical' : '--mode auto'}: every key rebuilt with commands`
        : `--mode ${mode}: RESTORE for ${summary.keys - toRebuild} keys, commands for ${toRebuild}`,
    })
  const rebuildOptions = {
    dialect,
    legacyStreams: engine === 'redis' && caps !== undefined && !versionAtLeast(caps.version, '7.0.0'),
    tempSuffix: `__kvtop_restore_${randomBytes(6).toString('hex')}`,
    cluster,
  }

  // Every target database must exist (a standalone has 16 by default).
  if (!cluster) {
    for (const db of merged.keys()) {
      if (db === 0) continue
      const conn = await openRawNode(deployment.spec, deployment.primaries[0], { db, name: 'kvtop-restore' })
      conn.close()
    }
  }

  // 4. Existing keys: refused unless --replace, before anything is written; with --replace over
  // keys that exist, the user is asked first (when the command asks: not with --yes).
  if (options.replace && options.confirmReplace) {
    const existing = await countExisting(deployment, path, merged, targetDb, options, emit)
    if (existing.count) await options.confirmReplace(existing.count, summary.keys)
  }
  if (!options.replace) {
    const existing = await countExisting(deployment, path, merged, targetDb, options, emit)
    if (existing.count) {
      throw new UsageError(
        `${existing.count} of ${summary.keys} keys already exist on the target (e.g. "${existing.example}"): nothing was restored`,
        { code: 'exists', hint: 'Pass --replace to overwrite them, or restore into an empty target.' },
      )
    }
  }

  // 5. Functions, then keys.
  let functions = 0
  if (summary.functions.length) {
    const label =
      restoreLabel(0, summary.header.version, summary.header.dialect, targetVersion) ?? targetVersion
    functions = await restoreFunctions(deployment, summary.functions, label, options.replace, warn)
  }

  const report: RestoreReport = {
    file: path,
    rdbVersion: summary.header.version,
    checksum: summary.checksum,
    target: {
      mode: topology.mode,
      engine,
      version: caps?.version ?? '',
      primaries: deployment.primaries.map((p) => p.address),
    },
    dbs: [...summary.dbKeys]
      .sort((a, b) => a[0] - b[0])
      .map(([from, keys]) => ({ from, to: targetDb(from), keys })),
    keys: summary.keys,
    restored: 0,
    expired: 0,
    existing: 0,
    failed: 0,
    errors: [],
    functions,
    relabelled,
    mode,
    rebuilt: 0,
    seconds: 0,
    keysPerSecond: 0,
    warnings,
  }
  const errors = new Map<string, { count: number; example: string; offset: number }>()
  const failed = (message: string, offset: number) => {
    report.failed++
    const text = message.slice(0, 200)
    const e = errors.get(text)
    if (e) e.count++
    else errors.set(text, { count: 1, example: '', offset })
  }
  /** Keys refused for now (OOM, LOADING, READONLY, TRYAGAIN ...): file offset -> the refusal. Sent again later. */
  const retry = new Map<number, string>()
  const tracker = new ProgressTracker('restore', 'keys', summary.keys)
  const pipeline = new RoutedPipeline<Tag>({
    spec: deployment.spec,
    topology,
    batchBytes: options.batchBytes,
    window: options.window,
    onReply: (reply: Reply, tag: Tag) => {
      const verdict = classifyReply(reply)
      if (typeof tag === 'object') return blockReply(reply, verdict, tag)
      const offset = tag
      if (offset < 0) {
        if (verdict !== 'ok') {
          throw new OperationError(
            `${offset === -1 ? 'SELECT' : 'DEL'} failed on the target: ${(reply as RespError).message}`,
          )
        }
        return
      }
      // Only a reply that is not an error counts as restored.
      if (verdict === 'ok') {
        report.restored++
        return
      }
      const error = reply as RespError
      if (verdict === 'retryable') {
        retry.set(offset, error.message)
        return
      }
      if (error.prefix === 'BUSYKEY') {
        report.existing++
        return
      }
      failed(error.message, offset)
    },
  })
  /** A reply within a key's rebuild block: queued ones note refusals, EXEC settles the key. */
  const blockReply = (reply: Reply, verdict: ReturnType<typeof classifyReply>, tag: BlockTag) => {
    const block = tag.block
    if (!tag.exec) {
      if (verdict !== 'ok') block.queueErrors.push(reply as RespError)
      return
    }
    if (Array.isArray(reply)) {
      const bad = reply.find((r) => r instanceof RespError) as RespError | undefined
      if (bad) {
        // Its time came while it was on its way: PEXPIREAT removed the temporary key, so RENAMENX
        // found nothing to move. Gone, as RESTORE ... ABSTTL with a past time leaves it.
        const onlyRename = reply.every((r, i) => !(r instanceof RespError) || i === block.existedAt)
        if (onlyRename && block.expireAt !== undefined && block.expireAt <= now()) {
          report.restored++
          return
        }
        return failed(bad.message, block.offset)
      }
      if (block.existedAt !== undefined && reply[block.existedAt] === block.existedWhen) {
        // RENAMENX found the key there: nothing written (RESTORE's BUSYKEY). EXISTS: merged into it.
        report.existing++
        if (block.existedWhen === 1) report.restored++
        return
      }
      report.restored++
      return
    }
    // Refused as a whole (EXECABORT, or EXEC itself refused): for now when every refusal was.
    const causes = block.queueErrors
    const error = causes.find((e) => classifyReply(e) !== 'retryable') ?? causes[0] ?? (reply as RespError)
    const forNow =
      (verdict === 'retryable' || causes.length > 0) && causes.every((e) => classifyReply(e) === 'retryable')
    if (forNow) retry.set(block.offset, error.message)
    else failed(error.message, block.offset)
  }
  const stallWatch = new StallWatch({
    timeoutMs: options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS,
    onStall: (stall) =>
      new OperationError(
        `the restore stopped after ${report.restored} of ${summary.keys} keys: ${stallMessage(stall)}`,
        {
          code: 'stalled',
          resumable: true,
          hint: 'Check the node (hung, overloaded or cut off?), then run it again with --replace to restore the rest (keys already restored are overwritten). If it is only slow, raise --stall-timeout (0 waits forever).',
        },
      ),
  })
  watchPipeline(stallWatch, pipeline)
  emit({
    type: 'phase',
    phase: 'restoring',
    detail: `${summary.keys} keys into ${topology.mode === 'cluster' ? `${deployment.primaries.length} primaries` : deployment.primaries[0]?.address}`,
  })
  let currentDb = -1
  let lastEmit = 0
  let sent = 0
  /**
   * One pass over the file: every key, or (`only`) the keys at these offsets again. While the
   * target refuses keys for now, the pass slows down (a growing pause between batches) rather than
   * flood a node that is out of memory or loading.
   */
  const sendFile = async (only?: ReadonlySet<number>): Promise<void> => {
    const reader = RdbReader.fromFile(path, { verifyChecksum: false })
    let refusedSoFar = retry.size
    let pause = 0
    for await (const batch of reader.batches()) {
      if (options.signal?.aborted) break
      const t = now()
      let wait: Promise<void> | undefined
      for (const rec of batch) {
        if (rec.kind !== 'entry') continue
        if (only && !only.has(rec.offset)) continue
        const expired = rec.expireAt !== undefined && rec.expireAt <= t
        if (expired) report.expired++
        // An expired key is not sent; with --replace the target's copy of it goes, as RESTORE ...
        // REPLACE with a past ABSTTL would have it.
        if (expired && !options.replace) continue
        const db = targetDb(rec.db)
        if (!cluster && db !== currentDb) {
          pipeline
            .batchFor(0)
            .append(Buffer.from(`*2\r\n$6\r\nSELECT\r\n$${String(db).length}\r\n${db}\r\n`), -1)
          currentDb = db
        }
        const slot = cluster
          ? rec.keyIsPlain
            ? keySlotOf(rec.buf, rec.keyStart, rec.keyEnd)
            : keySlot(rec.key)
          : 0
        if (expired) encodeDel(pipeline.batchFor(slot), rec)
        else if (labels.has(rec.rdbType))
          encodeRestore(pipeline.batchFor(slot), rec, labels.get(rec.rdbType)!, options.replace ?? false)
        else {
          if (!only) report.rebuilt++
          const problem = encodeRebuild(
            pipeline.batchFor(slot),
            rec,
            options.replace ?? false,
            rebuildOptions,
          )
          if (problem) failed(problem, rec.offset)
        }
        if (!only) sent++
        wait = pipeline.written(slot) ?? wait
      }
      if (wait) await wait
      if (retry.size > refusedSoFar) {
        refusedSoFar = retry.size
        pause = Math.min(pause ? pause * 2 : 50, 2000)
        await sleep(pause)
      } else pause = 0
      if (tracker.done < sent) tracker.add(sent - tracker.done)
      if (t - lastEmit > 250) {
        lastEmit = t
        emit(tracker.snapshot())
      }
    }
    await pipeline.flush()
  }
  try {
    await sendFile()
    // Keys refused for now are sent again after a back-off, a bounded number of times.
    for (const delay of options.retryDelaysMs ?? RETRY_DELAYS_MS) {
      if (retry.size === 0 || options.signal?.aborted) break
      const [first] = retry.values()
      warn(
        `the target refused ${retry.size} keys for now (${first.slice(0, 120)}): sending them again in ${delay} ms`,
      )
      await sleep(delay)
      const again = new Set(retry.keys())
      retry.clear()
      await sendFile(again)
    }
    // Still refused after the last try: failed, with the target's reason.
    for (const [offset, message] of retry) failed(message, offset)
    retry.clear()
  } catch (err) {
    if (stallWatch.error) throw stallWatch.error
    const mapped = fileError(path, err)
    if (mapped instanceof KvtopError) throw mapped
    throw new OperationError(
      `the restore stopped after ${report.restored} of ${summary.keys} keys: ${errorMessage(err)}`,
      {
        resumable: true,
        hint: 'Run it again with --replace to restore the rest (keys already restored are overwritten).',
        cause: err,
      },
    )
  } finally {
    stallWatch.stop()
    await pipeline.close()
  }
  emit(tracker.snapshot())
  const sorted = [...errors].sort((a, b) => b[1].count - a[1].count)
  for (const [message, e] of sorted) {
    const example = report.errors.length < 10 ? escapeBytes(await keyAtOffset(path, e.offset)) : ''
    report.errors.push({ message, count: e.count, example })
  }
  report.seconds = (performance.now() - started) / 1000
  report.keysPerSecond = report.seconds > 0 ? report.restored / report.seconds : 0
  if (options.signal?.aborted) {
    throw new OperationError(`interrupted after ${report.restored} of ${summary.keys} keys`, {
      resumable: true,
      hint: 'Run it again with --replace to restore the rest (keys already restored are overwritten).',
    })
  }
  if (report.failed) {
    const first = report.errors[0]
    throw new OperationError(
      `${report.failed} of ${summary.keys} keys could not be restored (${report.restored} were): ${first.message} (e.g. "${first.example}")`,
      { resumable: true, hint: 'Fix the cause, then run it again with --replace.' },
    )
  }
  if (report.existing) {
    throw new UsageError(
      `${report.existing} keys were created on the target by another client during the restore and were not overwritten (${report.restored} restored)`,
      { code: 'exists', hint: 'Run it again with --replace to overwrite them.' },
    )
  }
  return report
}

/** DEL key, for a key that expired in the file but may still exist on the target (tag -2). */
function encodeDel(batch: CommandBatch<Tag>, e: RdbEntry): void {
  batch.begin()
  batch.header(0x2a, 2)
  batch.text('DEL')
  if (e.keyIsPlain) batch.bulk(e.buf, e.keyStart, e.keyEnd)
  else batch.bulk(e.key)
  batch.end(-2)
}

/**
 * A key rebuilt with commands, as one MULTI ... EXEC block (see rebuildTransaction): without
 * `replace` it is built under a temporary key on its slot and moved with RENAMENX, so that a key
 * created meanwhile is left alone and counted, as RESTORE's BUSYKEY. Returns why the key cannot be
 * sent (a value that cannot be decoded), or undefined.
 */
function encodeRebuild(
  batch: CommandBatch<Tag>,
  e: RdbEntry,
  replace: boolean,
  o: { dialect: RdbDialect; legacyStreams: boolean; tempSuffix: string; cluster: boolean },
): string | undefined {
  const key = Buffer.from(e.key)
  let tx
  try {
    const value = decodeForRebuild(e.rdbType, e.value, o.dialect)
    const tempKey = replace
      ? undefined
      : (sameSlotKey(key, o.tempSuffix) ?? (o.cluster ? undefined : Buffer.from(o.tempSuffix)))
    tx = rebuildTransaction(key, value, e.expireAt, { replace, tempKey, legacyStreams: o.legacyStreams })
  } catch (err) {
    return `cannot rebuild the value with commands: ${errorMessage(err)}`
  }
  const block: RebuildBlockState = {
    offset: e.offset,
    queueErrors: [],
    ...(e.expireAt !== undefined ? { expireAt: e.expireAt } : {}),
    ...(tx.existedAt !== undefined ? { existedAt: tx.existedAt, existedWhen: tx.existedWhen } : {}),
  }
  const last = tx.commands.length - 1
  tx.commands.forEach((args, i) => {
    batch.begin()
    batch.header(0x2a, args.length)
    for (const a of args) batch.bulk(a)
    batch.end({ block, exec: i === last })
  })
  return undefined
}

/** RESTORE key ttl payload [ABSTTL] [REPLACE] [IDLETIME s] [FREQ f], encoded in place. */
function encodeRestore(batch: CommandBatch<Tag>, e: RdbEntry, label: number, replace: boolean): void {
  const valueLen = e.valueEnd - e.valueStart
  const payloadLen = valueLen + 11
  let argc = 4
  if (e.expireAt !== undefined) argc++
  if (replace) argc++
  if (e.idle !== undefined) argc += 2
  if (e.freq !== undefined) argc += 2
  batch.begin()
  batch.header(0x2a, argc)
  batch.raw(RESTORE_HEAD)
  if (e.keyIsPlain) batch.bulk(e.buf, e.keyStart, e.keyEnd)
  else batch.bulk(e.key)
  batch.integer(e.expireAt === undefined ? 0 : e.expireAt)
  batch.header(0x24, payloadLen)
  batch.ensure(payloadLen + 2)
  batch.used = writeDumpPayload(batch.buf, batch.used, e.rdbType, e.buf, e.valueStart, e.valueEnd, label)
  batch.buf[batch.used++] = 0x0d
  batch.buf[batch.used++] = 0x0a
  if (e.expireAt !== undefined) batch.raw(ABSTTL)
  if (replace) batch.raw(REPLACE)
  if (e.idle !== undefined) {
    batch.text('IDLETIME')
    batch.integer(e.idle)
  }
  if (e.freq !== undefined) {
    batch.text('FREQ')
    batch.integer(e.freq)
  }
  batch.end(e.offset)
}

/** Count the file's keys that exist on the target (EXISTS, pipelined), when the target is not empty. */
async function countExisting(
  deployment: Deployment,
  path: string,
  merged: Map<number, number[]>,
  targetDb: (db: number) => number,
  options: RestoreOptions,
  emit: EventSink,
): Promise<{ count: number; example?: string }> {
  let occupied = false
  for (const node of deployment.primaries) {
    for (const db of merged.keys()) {
      const conn = await openRawNode(deployment.spec, node, { db, name: 'kvtop-restore' })
      try {
        const n = await conn.call(['DBSIZE'])
        if (typeof n === 'number' && n > 0) occupied = true
      } finally {
        conn.close()
      }
    }
  }
  if (!occupied) return { count: 0 }
  emit({ type: 'phase', phase: 'checking', detail: 'which keys already exist on the target' })
  const cluster = deployment.topology.mode === 'cluster'
  let count = 0
  let example: string | undefined
  let exampleOffset = -1
  let refusal: RespError | undefined
  const pipeline = new RoutedPipeline<number>({
    spec: deployment.spec,
    topology: deployment.topology,
    batchBytes: options.batchBytes,
    window: options.window,
    onReply: (reply, offset) => {
      // An error instead of the answer (NOPERM, LOADING ...): the count would be wrong.
      if (classifyReply(reply) !== 'ok') refusal ??= reply as RespError
      else if (offset >= 0 && reply === 1) {
        count++
        if (exampleOffset < 0) exampleOffset = offset
      }
    },
  })
  const stallWatch = new StallWatch({
    timeoutMs: options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS,
    onStall: (stall) =>
      new OperationError(`the restore stopped before writing anything: ${stallMessage(stall)}`, {
        code: 'stalled',
        resumable: true,
        hint: 'Check the node (hung, overloaded or cut off?), then run the restore again. If it is only slow, raise --stall-timeout (0 waits forever).',
      }),
  })
  watchPipeline(stallWatch, pipeline)
  const reader = RdbReader.fromFile(path, { verifyChecksum: false })
  let currentDb = -1
  try {
    for await (const batch of reader.batches()) {
      let wait: Promise<void> | undefined
      const now = Date.now()
      for (const rec of batch) {
        if (rec.kind !== 'entry') continue
        if (rec.expireAt !== undefined && rec.expireAt <= now) continue
        const db = targetDb(rec.db)
        if (!cluster && db !== currentDb) {
          pipeline
            .batchFor(0)
            .append(Buffer.from(`*2\r\n$6\r\nSELECT\r\n$${String(db).length}\r\n${db}\r\n`), -1)
          currentDb = db
        }
        const slot = cluster
          ? rec.keyIsPlain
            ? keySlotOf(rec.buf, rec.keyStart, rec.keyEnd)
            : keySlot(rec.key)
          : 0
        const b = pipeline.batchFor(slot)
        b.begin()
        b.header(0x2a, 2)
        b.text('EXISTS')
        if (rec.keyIsPlain) b.bulk(rec.buf, rec.keyStart, rec.keyEnd)
        else b.bulk(rec.key)
        b.end(rec.offset)
        wait = pipeline.written(slot) ?? wait
      }
      if (wait) await wait
    }
    await pipeline.flush()
  } catch (err) {
    throw stallWatch.error ?? fileError(path, err)
  } finally {
    stallWatch.stop()
    await pipeline.close()
  }
  if (refusal)
    throw new OperationError(
      `cannot check which keys already exist on the target: ${refusal.message}: nothing was restored`,
      {
        resumable: true,
        hint: 'Fix the cause, or pass --replace to overwrite existing keys without checking.',
      },
    )
  if (exampleOffset >= 0) example = escapeBytes(await keyAtOffset(path, exampleOffset))
  return { count, ...(example ? { example } : {}) }
}

/** FUNCTION RESTORE on every primary: a payload of FUNCTION2 records. */
async function restoreFunctions(
  deployment: Deployment,
  libraries: Buffer[],
  label: number,
  replace: boolean | undefined,
  warn: (m: string) => void,
): Promise<number> {
  const caps = deployment.capabilities
  if (caps && !versionAtLeast(caps.version, '7.0.0')) {
    warn(`${libraries.length} function libraries not restored: the target (${caps.version}) has no functions`)
    return 0
  }
  const parts: Buffer[] = []
  for (const code of libraries) {
    const len = Buffer.alloc(5)
    let n: number
    if (code.length < 64) {
      len[0] = code.length
      n = 1
    } else if (code.length < 16384) {
      len[0] = 0x40 | (code.length >> 8)
      len[1] = code.length & 0xff
      n = 2
    } else {
      len[0] = 0x80
      len.writeUInt32BE(code.length, 1)
      n = 5
    }
    parts.push(Buffer.from([RDB_OPCODE.FUNCTION2]), len.subarray(0, n), code)
  }
  // The payload carries a version like a DUMP payload, checked the same way.
  const body = Buffer.concat(parts)
  const payload = buildDumpPayload(body[0], body.subarray(1), label)
  for (const node of deployment.primaries) {
    const conn = await openRawNode(deployment.spec, node, { name: 'kvtop-restore' })
    try {
      const reply = await conn.call(['FUNCTION', 'RESTORE', payload, replace ? 'REPLACE' : 'APPEND'])
      if (reply instanceof RespError) {
        if (/already exists/i.test(reply.message)) {
          throw new UsageError(
            `function libraries from the file already exist on ${node.address}: nothing was restored`,
            {
              code: 'exists',
              hint: 'Pass --replace to overwrite them.',
            },
          )
        }
        warn(`function libraries not restored on ${node.address}: ${reply.message}`)
        return 0
      }
    } finally {
      conn.close()
    }
  }
  return libraries.length
}

/**
 * The RESTORE commands `restoreSnapshot` would send, written as a RESP stream (for `redis-cli
 * --pipe`, and as the benchmark's anchor). Keys are not routed: for a standalone target.
 */
export async function writeRestoreStream(
  path: string,
  sink: NodeJS.WritableStream & import('node:stream').Writable,
  options: { replace?: boolean; now?: number } = {},
): Promise<{ commands: number; bytes: number }> {
  const [stats] = await writeRestoreStreams(path, [sink], () => 0, options)
  return stats
}

/**
 * The same, split over several sinks by key (`pick` returns the sink's index): one stream per
 * cluster node, each fit for its own `redis-cli --pipe`. Only db 0 keys when split (a cluster has one db).
 */
export async function writeRestoreStreams(
  path: string,
  sinks: (NodeJS.WritableStream & import('node:stream').Writable)[],
  pick: (key: Buffer) => number,
  options: { replace?: boolean; now?: number } = {},
): Promise<{ commands: number; bytes: number }[]> {
  const { RespCommandWriter } = await import('../../wire/command-writer.js')
  const { CommandBatch } = await import('../../wire/routed-pipeline.js')
  const writers = sinks.map((sink) => new RespCommandWriter(sink))
  const reader = RdbReader.fromFile(path)
  const now = options.now ?? Date.now()
  let currentDb = 0
  let version = 0
  for await (const records of reader.batches()) {
    const batches = sinks.map(() => new CommandBatch<Tag>(256 * 1024))
    for (const rec of records) {
      if (rec.kind === 'header') version = rec.header.version
      if (rec.kind !== 'entry') continue
      if (rec.expireAt !== undefined && rec.expireAt <= now) continue
      const batch = batches[sinks.length === 1 ? 0 : pick(rec.key)]
      if (rec.db !== currentDb) {
        if (sinks.length > 1) throw new UsageError(`key in db ${rec.db}: a split stream holds db 0 only`)
        batch.append(Buffer.from(`*2\r\n$6\r\nSELECT\r\n$${String(rec.db).length}\r\n${rec.db}\r\n`), -1)
        currentDb = rec.db
      }
      encodeRestore(batch, rec, version, options.replace ?? false)
    }
    for (let n = 0; n < writers.length; n++)
      if (batches[n].count)
        await writers[n].writeRaw(batches[n].buf.subarray(0, batches[n].used), batches[n].count)
  }
  for (const w of writers) await w.end()
  return writers.map((w) => w.stats)
}
