import { closeSync, openSync, readSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { UsageError } from '../../errors.js'

export type LogFormat = 'resp' | 'aof' | 'aof-dir' | 'monitor' | 'rdb'
export const LOG_FORMATS: LogFormat[] = ['resp', 'aof', 'aof-dir', 'monitor', 'rdb']

interface DetectedLog {
  format: LogFormat
  /** For aof-dir: the manifest file. */
  manifest?: string
  /** An AOF whose first part is an RDB preamble ("REDIS0011..."). */
  rdbPreamble?: boolean
}

const MONITOR_LINE = /^\+?\d+\.\d+ \[\d+ [^\]]*\] "/
/** What `redis-cli monitor > file` writes first: MONITOR's reply, then its lines (or nothing yet). */
const MONITOR_REPLY_LINE = /^\+?OK\r?\n/

function head(path: string, bytes = 512): Buffer {
  const fd = openSync(path, 'r')
  try {
    const buf = Buffer.alloc(bytes)
    const n = readSync(fd, buf, 0, bytes, 0)
    return buf.subarray(0, n)
  } finally {
    closeSync(fd)
  }
}

/** A file that cannot be read is bad input (exit 2), named with the reason. */
function unreadable(path: string, err: unknown): UsageError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code
  return new UsageError(
    `cannot read ${path}: ${code ?? (err instanceof Error ? err.message : String(err))}`,
    {
      code: 'unreadable',
    },
  )
}

/** Work out what a replay input is from its first bytes (or, for a directory, its manifest). */
export function detectLogFormat(path: string): DetectedLog | undefined {
  try {
    return detect(path)
  } catch (err) {
    if (err instanceof UsageError) throw err
    throw unreadable(path, err)
  }
}

function detect(path: string): DetectedLog | undefined {
  const st = statSync(path)
  if (st.isDirectory()) {
    const manifest = readdirSync(path).find((f) => f.endsWith('.manifest'))
    return manifest ? { format: 'aof-dir', manifest: join(path, manifest) } : undefined
  }
  const start = head(path)
  if (start.length === 0) return undefined
  const text = start.toString('latin1')
  if (text.startsWith('REDIS') && /^REDIS\d{4}/.test(text)) {
    // A whole RDB and an AOF with an RDB preamble begin alike; the file name tells them apart.
    return /\.aof$/i.test(path) ? { format: 'aof', rdbPreamble: true } : { format: 'rdb' }
  }
  if (text.startsWith('*') || text.startsWith('#TS:'))
    return { format: /\.aof$/i.test(path) ? 'aof' : 'resp' }
  if (MONITOR_LINE.test(text)) return { format: 'monitor' }
  const reply = MONITOR_REPLY_LINE.exec(text)
  if (reply) {
    const rest = text.slice(reply[0].length)
    if (rest.length === 0 || MONITOR_LINE.test(rest)) return { format: 'monitor' }
  }
  return undefined
}
