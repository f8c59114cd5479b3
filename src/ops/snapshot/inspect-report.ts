import { escapeBytes } from '../../data/escape.js'
import type { ChecksumStatus, RdbEntry, RdbRecord } from '../../data/rdb/reader.js'
import { TopKeys, type LargestKey } from './top-keys.js'

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

/**
 * What `snapshot inspect` learns of a file, record by record (`add`): the header and AUX fields,
 * keys, expires, elements and bytes per db and type, the largest keys, function libraries, module
 * AUX data, the checksum. `report()` gives the totals and the dbs in order.
 */
export class InspectTally {
  private readonly r: InspectReport
  private readonly dbs = new Map<number, DbStats>()
  private readonly top: TopKeys

  constructor(
    file: string,
    size: number,
    /** How many of the largest keys to list. */
    top: number,
    /** Keys whose expire time is before it count as expired when read. */
    private readonly now: number,
  ) {
    this.top = new TopKeys(top)
    this.r = {
      file,
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
  }

  add(rec: RdbRecord): void {
    const r = this.r
    switch (rec.kind) {
      case 'header':
        r.magic = rec.header.magic
        r.rdbVersion = rec.header.version
        break
      case 'aux':
        r.aux[escapeBytes(rec.key)] = escapeBytes(rec.value)
        break
      case 'resizedb':
        this.db(rec.db).sizeHint = { keys: rec.keys, expires: rec.expires }
        break
      case 'function':
        r.functions.libraries++
        r.functions.names.push(libraryName(rec.code))
        break
      case 'module-aux':
        if (!r.modules.includes(rec.module)) r.modules.push(rec.module)
        break
      case 'entry':
        this.entry(rec)
        break
      case 'eof':
        r.checksum = {
          status: rec.checksum,
          ...(rec.storedChecksum ? { stored: rec.storedChecksum } : {}),
          ...(rec.computedChecksum ? { computed: rec.computedChecksum } : {}),
        }
        r.trailingBytes = r.size - rec.size
        break
    }
  }

  /** The report: dbs in order, with the totals of all and the largest keys. */
  report(): InspectReport {
    const r = this.r
    r.dbs = [...this.dbs.values()].sort((a, b) => a.db - b.db)
    for (const d of r.dbs) {
      r.totals.keys += d.keys
      r.totals.expires += d.expires
      r.totals.elements += d.elements
      r.totals.bytes += d.bytes
    }
    r.largest = this.top.sorted()
    return r
  }

  private entry(rec: RdbEntry): void {
    const s = this.db(rec.db)
    const kind = rec.module ? `module:${rec.module}` : rec.type.kind
    const t = (s.types[kind] ??= { keys: 0, expires: 0, elements: 0, bytes: 0, encodings: {} })
    const bytes = rec.valueLength
    s.keys++
    t.keys++
    s.bytes += bytes
    t.bytes += bytes
    s.elements += rec.elements
    t.elements += rec.elements
    t.encodings[rec.type.encoding] = (t.encodings[rec.type.encoding] ?? 0) + 1
    if (rec.expireAt !== undefined) {
      s.expires++
      t.expires++
      if (rec.expireAt <= this.now) this.r.expiredAtRead++
    }
    this.top.offer(rec, bytes)
  }

  private db(db: number): DbStats {
    let s = this.dbs.get(db)
    if (!s) this.dbs.set(db, (s = { db, keys: 0, expires: 0, elements: 0, bytes: 0, types: {} }))
    return s
  }
}

function libraryName(code: Buffer): string {
  const firstLine = code.toString('utf8', 0, Math.min(code.length, 512)).split('\n')[0]
  const m = /name=(\S+)/.exec(firstLine)
  return m ? m[1] : '?'
}
