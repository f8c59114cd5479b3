import { stat } from 'node:fs/promises'
import { escapeBytes } from '../../data/escape.js'
import { RdbReader, RdbFormatError, type ChecksumStatus, type RdbEntry } from '../../data/rdb/reader.js'
import { UsageError } from '../../errors.js'
import { ProgressTracker } from '../progress.js'
import type { EventSink } from '../events.js'

interface TypeStats {
  keys: number
  expires: number
  elements: number
  /** Serialized bytes of the values. */
  bytes: number
  /** Keys per encoding (listpack, quicklist, hashtable ...). */
  encodings: Record<string, number>
}

interface DbStats {
  db: number
  keys: number
  expires: number
  elements: number
  bytes: number
  /** Per value type: string, list, set, zset, hash, stream, module. */
  types: Record<string, TypeStats>
  /** The RESIZEDB hint the file carries. */
  sizeHint?: { keys: number; expires: number }
}

interface LargestKey {
  /** Escaped the way redis-cli prints keys. */
  key: string
  db: number
  type: string
  encoding: string
  /** Serialized size of the value in the file. */
  bytes: number
  elements: number
  expireAt?: number
}

export interface InspectReport {
  file: string
  size: number
  magic: string
  rdbVersion: number
  aux: Record<string, string>
  checksum: { status: ChecksumStatus; stored?: string; computed?: string }
  dbs: DbStats[]
  totals: { keys: number; expires: number; elements: number; bytes: number }
  largest: LargestKey[]
  functions: { libraries: number; names: string[] }
  modules: string[]
  /** Keys whose expire time had passed when the file was read. */
  expiredAtRead: number
  /** Bytes after the end of the RDB (an AOF tail, or garbage). */
  trailingBytes: number
}

interface InspectOptions {
  /** How many of the largest keys to list (default 20). */
  top?: number
  onEvent?: EventSink
  now?: number
}

/** A bounded min-heap on value size: keeps the `limit` largest entries seen. */
class TopKeys {
  private readonly heap: LargestKey[] = []
  constructor(private readonly limit: number) {}

  offer(entry: RdbEntry, bytes: number): void {
    if (this.limit <= 0) return
    if (this.heap.length >= this.limit && bytes <= this.heap[0].bytes) return
    const item: LargestKey = {
      key: escapeBytes(entry.key),
      db: entry.db,
      type: entry.module ? `module:${entry.module}` : entry.type.kind,
      encoding: entry.type.encoding,
      bytes,
      elements: entry.elements,
      ...(entry.expireAt !== undefined ? { expireAt: entry.expireAt } : {}),
    }
    const h = this.heap
    if (h.length < this.limit) {
      h.push(item)
      let i = h.length - 1
      while (i > 0) {
        const p = (i - 1) >> 1
        if (h[p].bytes <= h[i].bytes) break
        ;[h[p], h[i]] = [h[i], h[p]]
        i = p
      }
      return
    }
    h[0] = item
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      const r = l + 1
      let m = i
      if (l < h.length && h[l].bytes < h[m].bytes) m = l
      if (r < h.length && h[r].bytes < h[m].bytes) m = r
      if (m === i) break
      ;[h[m], h[i]] = [h[i], h[m]]
      i = m
    }
  }

  sorted(): LargestKey[] {
    return [...this.heap].sort((a, b) => b.bytes - a.bytes)
  }
}

function libraryName(code: Buffer): string {
  const firstLine = code.toString('utf8', 0, Math.min(code.length, 512)).split('\n')[0]
  const m = /name=(\S+)/.exec(firstLine)
  return m ? m[1] : '?'
}

/** Turn a reader's format error into the command's exit-2 error, naming the offset. */
export function fileError(path: string, err: unknown): unknown {
  if (err instanceof RdbFormatError) {
    return new UsageError(`${path}: ${err.truncated ? '' : 'corrupt RDB: '}${err.message}`, {
      code: err.truncated ? 'truncated' : 'corrupt',
      hint: err.truncated
        ? 'The file is incomplete (an interrupted copy or download?): get it again.'
        : 'The file is damaged or not an RDB file this version of kvtop reads.',
    })
  }
  const code = (err as NodeJS.ErrnoException)?.code
  if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR') {
    return new UsageError(`cannot read ${path}: ${code}`, { code: 'unreadable' })
  }
  return err
}

/**
 * `kvtop snapshot inspect`: what an RDB file holds, read in one streaming pass. Every value is
 * walked, not skipped: LZF data is checked against its declared length, compact encodings
 * (listpack, ziplist, intset, zipmap) entry by entry, so a damaged value fails (exit 2, naming its
 * byte offset) even when the file's CRC-64 matches its damaged bytes.
 */
export async function inspectSnapshot(path: string, options: InspectOptions = {}): Promise<InspectReport> {
  let size: number
  try {
    const st = await stat(path)
    if (st.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' })
    size = st.size
  } catch (err) {
    throw fileError(path, err)
  }
  const emit = options.onEvent ?? (() => {})
  const now = options.now ?? Date.now()
  const reader = RdbReader.fromFile(path, { countElements: true, validate: true })
  const report: InspectReport = {
    file: path,
    size,
    magic: '',
    rdbVersion: 0,
    aux: {},
    checksum: { status: 'absent' },
    dbs: [],
    totals: { keys: 0, expires: 0, elements: 0, bytes: 0 },
    largest: [],
    functions: { libraries: 0, names: [] },
    modules: [],
    expiredAtRead: 0,
    trailingBytes: 0,
  }
  const dbs = new Map<number, DbStats>()
  const dbStats = (db: number): DbStats => {
    let s = dbs.get(db)
    if (!s) dbs.set(db, (s = { db, keys: 0, expires: 0, elements: 0, bytes: 0, types: {} }))
    return s
  }
  const top = new TopKeys(options.top ?? 20)
  const tracker = new ProgressTracker('inspect', 'bytes', size)
  let lastEmit = 0
  try {
    for await (const batch of reader.batches()) {
      for (const rec of batch) {
        switch (rec.kind) {
          case 'header':
            report.magic = rec.header.magic
            report.rdbVersion = rec.header.version
            break
          case 'aux':
            report.aux[escapeBytes(rec.key)] = escapeBytes(rec.value)
            break
          case 'resizedb':
            dbStats(rec.db).sizeHint = { keys: rec.keys, expires: rec.expires }
            break
          case 'function':
            report.functions.libraries++
            report.functions.names.push(libraryName(rec.code))
            break
          case 'module-aux':
            if (!report.modules.includes(rec.module)) report.modules.push(rec.module)
            break
          case 'entry': {
            const s = dbStats(rec.db)
            const kind = rec.module ? `module:${rec.module}` : rec.type.kind
            const t = (s.types[kind] ??= { keys: 0, expires: 0, elements: 0, bytes: 0, encodings: {} })
            const bytes = rec.valueLength
            const expiring = rec.expireAt !== undefined
            s.keys++
            t.keys++
            s.bytes += bytes
            t.bytes += bytes
            s.elements += rec.elements
            t.elements += rec.elements
            t.encodings[rec.type.encoding] = (t.encodings[rec.type.encoding] ?? 0) + 1
            if (expiring) {
              s.expires++
              t.expires++
              if (rec.expireAt! <= now) report.expiredAtRead++
            }
            top.offer(rec, bytes)
            break
          }
          case 'eof':
            report.checksum = {
              status: rec.checksum,
              ...(rec.storedChecksum ? { stored: rec.storedChecksum } : {}),
              ...(rec.computedChecksum ? { computed: rec.computedChecksum } : {}),
            }
            report.trailingBytes = size - rec.size
            break
        }
      }
      const t = Date.now()
      if (t - lastEmit > 250) {
        lastEmit = t
        tracker.add(reader.offset - tracker.done)
        emit(tracker.snapshot())
      }
    }
  } catch (err) {
    throw fileError(path, err)
  }
  report.dbs = [...dbs.values()].sort((a, b) => a.db - b.db)
  for (const d of report.dbs) {
    report.totals.keys += d.keys
    report.totals.expires += d.expires
    report.totals.elements += d.elements
    report.totals.bytes += d.bytes
  }
  report.largest = top.sorted()
  return report
}
